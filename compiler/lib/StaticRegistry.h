// The static variable registry: a `struct __dsu_var_desc` for every static
// variable of the unit's own source that can have one, so that patches reach
// the running program's instance instead of a copy of their own.
#pragma once

#include "EditText.h"

#include <string>
#include <vector>

namespace clang {
class ASTContext;
class DeclStmt;
class FunctionDecl;
class VarDecl;
} // namespace clang

namespace dsu {

struct RewriteOptions;
struct VariableRecord;

// Whether a static variable can have a registry descriptor: not thread-local
// and not in a section whose data goes away or is not addressable as-is
// (init/exit data, per-CPU areas, linker-collected tables). `why` says why not.
bool registrableStatic(const clang::VarDecl *vd, std::string &why);

// Whether `vd` is an entry of a table the linker collects from every object
// and the kernel (or its module loader) walks: a section attribute that is
// not plain data (__dyndbg for pr_debug, __trace_printk_fmt, __param ...).
// Such an entry is not state: a patch module has its own copy, which the
// module loader registers with the module, as kpatch's do.
bool inLinkerTable(const clang::VarDecl *vd);

// The registry name of static local `vd` of function `fn`: "fn.v", with
// "#N" appended for the N-th (N >= 2) static local of that name in fn.
std::string staticLocalName(const clang::FunctionDecl *fn, const clang::VarDecl *vd);

// Registers a unit's static variables as the rewrite goes: records every
// one (VariableRecord) and inserts the descriptors of those it can register.
class StaticRegistry {
public:
  StaticRegistry(clang::ASTContext &ctx, const RewriteOptions &opts, const EditText &text);
  ~StaticRegistry();

  // Static locals of updateable function `fn`: a descriptor right after
  // each declaration statement, in the same scope (a file-scope initializer
  // cannot take a local's address).
  void registerLocals(const clang::FunctionDecl *fn);

  // File-scope statics of the unit's own source: descriptors appended at the
  // end of the unit, where every definition is complete.
  void registerFileStatics();

  // Every static variable seen, registered or not (with why not).
  std::vector<VariableRecord> takeRecords();

private:
  std::string descriptor(const clang::VarDecl *vd, const std::string &cname,
                         const std::string &regName, bool local) const;

  clang::ASTContext &ctx_;
  const RewriteOptions &opts_;
  const EditText &text_;
  std::vector<VariableRecord> records_;
};

} // namespace dsu
