// The patch rewrite: a changed unit's new version (its -E text, aligned
// with its AST) edited into the unit's patch code, as its plan says.
#pragma once

#include "Alignment.h"
#include "UnitRecords.h"

#include <set>
#include <string>

namespace clang {
class ASTContext;
}

namespace dsu {

struct PatchRewriteOptions {
  bool kernel = false;
  // Kernel: symbols exported to modules (Module.symvers); anything else the
  // patch uses from the kernel goes through a DSU_REF_SYMBOL slot.
  const std::set<std::string> *exported = nullptr;
  // Kernel: every symbol of vmlinux (System.map). A symbol that is not
  // there can only be in code the compiler drops (an assertion, a config
  // that is off): the reference stays direct so that it folds as before.
  const std::set<std::string> *vmlinuxSymbols = nullptr;
  // Kernel: names vmlinux has more than once; a static the running kernel
  // did not register is reached by name only when its name is unique.
  const std::set<std::string> *repeatedSymbols = nullptr;
  std::string unitHash; // the base's, for descriptors of added functions
  std::string patchName;
  // Presumed file of the user's transformers merged into the unit: its
  // functions are carried as they are (neither added nor replaced).
  std::string transformerFile;
};

// Edits the new version's preprocessed text (aligned with its AST) into the
// patch unit described by `plan`.
RewrittenUnit rewritePatchUnit(clang::ASTContext &ctx, const TokenMap &map, const BaseUnit &base,
                               const UnitPlan &plan, const PatchRewriteOptions &opts);

} // namespace dsu
