// The kernel's symbols a kernel patch is rewritten against.
#pragma once

#include <set>
#include <string>

namespace dsu {

struct KernelSymbols {
  std::set<std::string> exported; // Module.symvers: exported to modules
  std::set<std::string> vmlinux;  // System.map: every symbol of vmlinux
  std::set<std::string> repeated; // names System.map has more than once (statics of several units)
};

// KDIR's symbols; false (an error) when Module.symvers is missing or empty.
bool readKernelSymbols(const std::string &kernelDir, KernelSymbols &symbols);

} // namespace dsu
