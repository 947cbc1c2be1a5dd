// The kernel's symbols a kernel patch is rewritten against.
#include "KernelSymbols.h"

#include <fmt/format.h>

#include <fstream>

namespace dsu {

namespace {

// Module.symvers: CRC, symbol, module, ... separated by tabs.
std::set<std::string> exportedSymbols(const std::string &kdir) {
  std::set<std::string> out;
  std::ifstream in(kdir + "/Module.symvers");
  std::string line;
  while (std::getline(in, line)) {
    auto t1 = line.find('\t');
    auto t2 = line.find('\t', t1 + 1);
    if (t1 != std::string::npos && t2 != std::string::npos)
      out.insert(line.substr(t1 + 1, t2 - t1 - 1));
  }
  return out;
}

} // namespace

bool readKernelSymbols(const std::string &kernelDir, KernelSymbols &symbols) {
  symbols.exported = exportedSymbols(kernelDir);
  std::ifstream map(kernelDir + "/System.map");
  std::string addr, type, sym;
  while (map >> addr >> type >> sym)
    if (!symbols.vmlinux.insert(sym).second)
      symbols.repeated.insert(sym);
  if (symbols.exported.empty()) {
    fmt::print(stderr, "dsu-patchgen: error: {}/Module.symvers is missing or empty: build the "
                       "kernel (with modules) first\n", kernelDir);
    return false;
  }
  return true;
}

} // namespace dsu
