// The records of a unit's diff: what a version of a unit defines (the
// snapshot), what the base has for it, what the patch does to it (the plan)
// and the patch code the rewrite makes of its new version.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dsu {

// One version of a unit, as far as the diff is concerned: the functions,
// file-scope variables and types defined in the unit's own source (.c).
struct UnitSnapshot {
  struct Function {
    std::string name, file;
    unsigned line = 0, col = 1;
    bool external = false;
    std::string proto; // canonical type and linkage
    std::string text;  // normalized definition (line numbers from __LINE__ masked)
  };
  struct Variable {
    std::string name, file;
    unsigned line = 0, col = 1;
    bool external = false;
    std::string type;
    std::string init;
  };
  struct Type {
    std::string name, tag, file; // "struct T", "T"
    unsigned line = 0, col = 1;
    std::string text;
    // Layout, for wrapped types' transformers (structs only).
    unsigned long size = 0, align = 0; // bytes
    struct Field {
      std::string name, type;   // canonical type
      std::string defaultValue; // from DSU_DEFAULT(v) (annotate "dsu_default=v"); "" = zero
      bool bitField = false;
      bool record = false;        // a struct or union (list heads, locks ...)
      unsigned long offset = 0;   // bytes
      std::string addressTakenAt; // "file:line" of a `&` reaching it, "" if none
    };
    std::vector<Field> fields;
    bool unnamedMembers = false; // anonymous struct/union members (not transformable by name)
    std::string definition;      // the definition on one line, for a previous representation
  };
  std::map<std::string, Function> functions;
  std::map<std::string, Variable> variables; // file scope only
  std::map<std::string, Type> types;
  // Calls between functions of the unit (caller -> callees).
  std::map<std::string, std::set<std::string>> calls;
  // Functions whose address the unit takes other than to call them: their
  // own code is reachable through the pointers (file_operations, callbacks).
  std::set<std::string> addressEscapes;
  // Concrete uses of struct types (member access, initializer, offsetof):
  // function -> "struct T".
  std::map<std::string, std::set<std::string>> typeUses;
  // Objects freed (free, kfree, kmem_cache_free ... of a struct pointer):
  // function -> "struct T".
  std::map<std::string, std::set<std::string>> frees;
};

// What the base (the running program) has for a unit, from its manifest and
// from the patches already on the stack below the one being made.
struct BaseUnit {
  std::string tu, unitHash;
  std::map<std::string, std::string> functions; // name -> "" if updateable, else reason id
  std::set<std::string> registeredVars;         // registry names ("v", "f.v")
  std::map<std::string, std::string> unregisteredVars; // name -> why not
  // Globals that patches below this one define: reached by name at apply
  // time (so a missing parent is reported as such, not as a link error).
  std::set<std::string> patchGlobals;
  // Types the running program wraps, in the version its instances are
  // brought to now (patches below this one included).
  struct WrappedType {
    std::string tag;
    unsigned version = 0;
    unsigned long unionSize = 0, unionAlign = 0, slop = 0;
  };
  std::map<std::string, WrappedType> wrapped; // "struct T" ->
  std::map<std::string, std::string> unwrapped; // "struct T" -> why not (reason id)
  std::set<std::string> shadowed;               // tags given with --shadow
};

// Fields a patch adds to a struct that is not wrapped: shadow data.
struct ShadowUpdate {
  std::string name, tag;            // "struct task_struct", "task_struct"
  std::vector<std::string> added;   // field names
};

// A layout change of a wrapped type, and its transformer.
struct TypeUpdate {
  std::string name, tag, file; // "struct T", "T", where the new definition is
  unsigned line = 0, col = 1;
  unsigned from = 0, to = 0;   // versions
  unsigned long newSize = 0, unionSize = 0;
  struct Copy {
    std::string field;
    bool bitField = false;
  };
  std::vector<Copy> copied;                               // same name and type
  std::vector<std::pair<std::string, std::string>> added; // field, default ("" = zero)
  std::vector<std::string> removed;
  std::vector<std::string> retyped; // "x (int * was int)": the user's transformer converts them
  std::string oldDefinition;        // struct __dsu_rep_<tag>_<from> { ... } on one line
  std::string newDefinition;        // struct __dsu_rep_<tag>_<to> { ... } on one line
  bool userTransformer = false;     // dsu_transform_<tag>() comes from --transformers
};

// What the patch does to one unit.
struct UnitPlan {
  unsigned index = 0;     // unit number within the patch (symbol prefixes)
  std::string tu;
  std::set<std::string> replaced; // updateable, changed: new version behind the old pointer
  std::set<std::string> added;    // new (or with a new prototype): defined by the patch
  std::set<std::string> deleted;  // gone from the new source (old code stays; a warning each)
  std::set<std::string> leftOut;  // changed __init/__exit code no live patch reaches (a warning each)
  std::set<std::string> addedVars;
  std::vector<TypeUpdate> typeUpdates;
  std::vector<ShadowUpdate> shadowUpdates;
  // Stubs of transformers the user must write (retyped fields), for OUT/transformers.c.
  std::string transformerStubs;
  std::vector<std::string> errors;   // "file:line:col: error: ..." (no artifact)
  std::vector<std::string> warnings; // "file:line:col: warning: ..."
};

struct PatchRef {
  unsigned kind = 0; // DSU_REF_*
  std::string tu, name;
};

// The presumed file name under which the representations a user's
// transformer refers to are declared for the parse (left out of the code).
inline constexpr const char *kRepresentationsFile = "<dsu-patchgen representations>";

// A type update as the patch table lists it.
struct PatchType {
  std::string name;         // "struct T"
  unsigned version = 0;
  unsigned long repSize = 0;
  std::string transform;    // the transformer's symbol in the patch code
};

// A use, in the patch code, of a function the new version of its unit no
// longer defines: the patch would run the running program's old code. An
// error unless another unit of the patch adds the function (it moved
// there), which only the driver knows.
struct DeletedUse {
  std::string name;
  bool external = false;
  std::string error; // "file:line:col: error: ..."
};

struct RewrittenUnit {
  std::string text;           // the patch code: the new unit's -E text, edited
  std::vector<PatchRef> refs; // slot i is __dsu_refs_<index>[i]
  std::vector<std::string> newVarDescs;  // registry names of added statics
  std::vector<std::string> addedGlobals; // added functions and variables with external linkage
  std::vector<PatchType> types;
  std::vector<DeletedUse> deletedUses;
  std::vector<std::string> errors;
  std::vector<std::string> warnings;
};

} // namespace dsu
