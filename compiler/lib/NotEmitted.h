// What the plain compile of a unit would not emit: updateable functions and
// registered statics that no emitted code refers to once the optimizer has
// folded the configuration's constants.
//
// The kernel relies on the optimizer dropping code: `if (IS_DAX(inode))
// return xfs_file_dax_read(...)` folds to nothing without CONFIG_FS_DAX, the
// static function is then unreferenced and dropped, and with it the call to
// dax_iomap_rw, which this configuration does not build. dsu-cc's
// descriptors refer to every updateable function and registered static, so
// they would keep such code, and the link (modpost) would fail on the
// symbols it calls. The optimized module of the rewritten unit says which:
// what only dsu's own tables reach. dsu-cc compiles the unit again with
// those left as written (reason not_emitted), which makes its object the
// plain compile's in that respect.
#pragma once

#include <set>
#include <string>

namespace llvm {
class Module;
}

namespace dsu {

struct NotEmitted {
  std::set<std::string> functions; // by source name
  std::set<std::string> statics;   // by registry name ("v", "f.v"): those that refer to code or data
  bool empty() const { return functions.empty() && statics.empty(); }
};

// Reads an optimized module of a rewritten unit: everything its own code
// can reach from what the object must define (external definitions, `used`
// values that are not dsu's) counts as emitted; a function or static whose
// descriptor is all that reaches it is not. A static of plain data stays
// registered: nothing but its own bytes would be kept.
NotEmitted findNotEmitted(const llvm::Module &module);

} // namespace dsu
