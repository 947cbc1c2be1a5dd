// Which functions of a unit can be made updateable, and why not: the
// checks behind every function reason of Reasons.def (classify), and which
// header functions the unit emits at all (only those are listed).
#pragma once

#include "EditText.h"
#include "FunctionUses.h"
#include "Reasons.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace clang {
class ASTContext;
class FunctionDecl;
} // namespace clang

namespace dsu {

struct RewriteOptions;

class FunctionEligibility {
public:
  // Scans the unit once (alias targets, functions that must stay inlinable).
  FunctionEligibility(clang::ASTContext &ctx, const RewriteOptions &opts, const EditText &text);

  // Why definition `fd` cannot be made updateable (Reason::None: it can),
  // with the reason's detail.
  Reason classify(const clang::FunctionDecl *fd, std::string &detail) const;

private:
  bool editable(clang::SourceLocation loc) const { return text_.edit(loc).isValid(); }
  unsigned offset(clang::SourceLocation astLoc) const;

  clang::ASTContext &ctx_;
  const RewriteOptions &opts_;
  const EditText &text_;
  std::set<std::string> aliasTargets_;
  // How the unit uses each function (calls, escapes).
  std::map<const clang::FunctionDecl *, FunctionUse> uses_;
  // Functions that must stay inlinable, with why (NeedsInlining.h).
  std::map<const clang::FunctionDecl *, std::string> needsInlining_;
};

// Which functions this unit really emits code for, as far as header
// functions go: those reachable, through calls and references (cleanup
// attributes included), from `roots` (canonical declarations) or from
// outside any function (initializers).
std::set<const clang::FunctionDecl *>
emittedFunctions(clang::ASTContext &ctx, const std::vector<const clang::FunctionDecl *> &roots);

} // namespace dsu
