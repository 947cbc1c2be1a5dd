// The records the rewrite passes between its parts and hands to its
// callers (manifest, dsu-cc, the plugin, dsu-patchgen): what it is asked to
// do (RewriteOptions) and what it found and did, per function, static
// variable and type (RewriteResult).
#pragma once

#include "Effects.h"
#include "Reasons.h"

#include <clang/Basic/SourceLocation.h>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dsu {

class Policy;
struct TokenMap;

struct FunctionRecord {
  std::string name;
  std::string file; // presumed (original) file of the definition
  unsigned line = 0;
  unsigned endLine = 0;  // presumed line of the closing brace
  bool external = false; // external linkage
  bool updateable = false;
  Reason reason = Reason::None;
  std::string detail;    // reason detail (section name, policy rule, ...)
  std::string bodyHash;  // hash of the normalized body tokens
  std::string protoHash; // hash of the normalized type and linkage
  std::vector<std::string> calls; // direct callees, sorted, unique
  unsigned callsRewritten = 0;    // call sites in this function now through a pointer
  FunctionEffects effects;        // for the safety analysis
};

// A static variable the registry describes (or could not), so that patches
// reach the running program's instance instead of a copy.
struct VariableRecord {
  std::string name;     // "v", or "f.v" ("f.v#2", ...) for a static local of f
  std::string file;
  unsigned line = 0;
  std::string function; // enclosing function of a static local
  bool isConst = false;
  bool registered = false; // has a struct __dsu_var_desc
  std::string why;         // when not registered
  std::string type;        // canonical type, for patchgen's checks
};

struct TypeRecord {
  std::string name; // "struct T"
  std::string tag;  // "T"
  std::string file;
  unsigned line = 0;
  bool updateable = false; // wrapped
  Reason reason = Reason::TypeNotSelected;
  std::string detail;
  unsigned long repSize = 0, slop = 0; // wrapped: representation and slop bytes
  // Wrapped: the union (representation + slop) every later version must fit
  // in, and its alignment (a later representation may not need more).
  unsigned long unionSize = 0, unionAlign = 0;
  unsigned uses = 0;                   // concrete uses rewritten
};

struct RewriteOptions {
  const Policy *policy = nullptr; // function/type rules; may be null
  bool kernel = false;            // emitting code for the Linux kernel
  std::string tuName;             // recorded in descriptors
  std::string unitHash;           // recorded in descriptors (base identity)
  unsigned typeSlop = 64;         // bytes a wrapped type may grow by in place
  // Expansions of the kernel's __user and __iomem markers (empty in a normal
  // build, so only the preprocessor sees them): a struct pointed to through
  // one is user-space ABI or a device's registers, and never wrapped.
  struct AddressSpaceMark {
    clang::SourceLocation loc;
    bool io = false; // __iomem (else __user)
  };
  const std::vector<AddressSpaceMark> *addressSpaceMarks = nullptr;
  // Set on the retry after the unit failed to compile with its types
  // wrapped: none is (reason type_rewrite_failed, with this detail).
  bool typesOff = false;
  std::string typesOffWhy;
  // Set when the whole file is left out: functions are listed, nothing edited.
  bool fileExcluded = false;
  Reason fileReason = Reason::PolicyFile;
  std::string fileDetail;
  // Embed the ABI header text (off only for tests that inspect bare edits).
  bool emitPrelude = true;
  // When set, the text to edit is the real compiler's -E output, aligned
  // with the AST's tokens (dsu-cc); otherwise it is the main file (plugin).
  const TokenMap *preprocessed = nullptr;
  // Functions to leave alone (with the reason's detail), found when an
  // earlier attempt's rewritten unit did not compile.
  std::map<std::string, std::string> needsInlining;
  // Functions (by name) and statics (by registry name) the plain compile
  // does not emit, found in an earlier attempt's optimized module
  // (NotEmitted.h): left as written, so they fold away as without dsu-cc.
  std::set<std::string> notEmittedFunctions, notEmittedStatics;
};

struct RewriteResult {
  bool changed = false;
  std::string text; // the rewritten main file (valid only if changed)
  std::vector<FunctionRecord> functions;
  std::vector<TypeRecord> types;
  std::vector<VariableRecord> variables;
  std::vector<AddressTaken> addressTaken; // functions whose address the unit takes
  FieldStores fieldStores;                // what it stores into function-pointer fields
  unsigned callsRewritten = 0;
};

} // namespace dsu
