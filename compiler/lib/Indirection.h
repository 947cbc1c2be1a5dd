// Function indirection: the source-to-source rewrite at the heart of dsu-cc.
//
// Given a parsed translation unit, decides for every function defined in it
// whether it can be made updateable, and for those that can:
//   - renames the definition to __dsu_v0_<f> (internal linkage),
//   - declares __dsu_fp_<f> (same linkage as f) initialised to that body,
//     right after f's first file-scope declaration,
//   - appends a stub <f> with the original head that calls through the
//     pointer, and a struct __dsu_func_desc describing all of it,
//   - makes every direct call to <f> in instrumented code go through the
//     pointer.
// Calls to functions defined in other units reach the other unit's stub,
// which jumps through that unit's pointer.
//
// All inserted text stays on existing lines so that line markers of a
// preprocessed unit keep diagnostics pointing at the original files.
#pragma once

#include <clang/Basic/SourceLocation.h>

#include "Effects.h"
#include "Reasons.h"

#include <llvm/ADT/StringRef.h>

#include <map>
#include <string>
#include <vector>

namespace clang {
class ASTContext;
class FunctionDecl;
class PredefinedExpr;
class VarDecl;
}

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

// Whether a static variable can have a registry descriptor: not thread-local
// and not in a section whose data goes away or is not addressable as-is
// (init/exit data, per-CPU areas, linker-collected tables). `why` says why not.
bool registrableStatic(const clang::VarDecl *vd, std::string &why);

// The registry name of static local `vd` of function `fn`: "fn.v", with
// "#N" appended for the N-th (N >= 2) static local of that name in fn.
std::string staticLocalName(const clang::FunctionDecl *fn, const clang::VarDecl *vd);

RewriteResult rewriteTranslationUnit(clang::ASTContext &ctx, const RewriteOptions &opts);

// SHA-256 of `data` as hex, the first `bytes` bytes: unit hashes (32),
// body/prototype hashes (16), patch names (4).
std::string sha256Hex(llvm::StringRef data, size_t bytes = 32);

// `in` as the contents of a C string literal (quotes and backslashes
// escaped, control characters as octal escapes).
std::string escapeCString(llvm::StringRef in);

// A string literal, quotes included, with the value `pe` (__func__,
// __FUNCTION__, __PRETTY_FUNCTION__ ...) has in `fd`, where it is written:
// what replaces it when the body moves to a function of another name.
std::string predefinedLiteral(const clang::PredefinedExpr *pe, const clang::FunctionDecl *fd);

// The embedded text of runtime/include/dsu/abi.h.
const char *abiHeaderText();

} // namespace dsu
