// dsu-patchgen's command line.
#include "Options.h"

#include "Files.h"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>

#include <cstdlib>

namespace dsu {

namespace {

[[noreturn]] void usage() {
  fmt::print(stderr, "usage: dsu-patchgen OLD NEW -o OUT [--kernel KDIR] [--name NAME] "
                     "[--transformers FILE]... [--shadow TAG]... [--no-build] [--no-safety] [-v]\n"
                     "       dsu-patchgen [OLD] --diff FIX.patch -o OUT ... (OLD defaults to "
                     "--kernel's KDIR)\n");
  std::exit(2);
}

} // namespace

PatchgenOptions parseOptions(int argc, char **argv) {
  PatchgenOptions o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc)
      o.outDir = argv[++i];
    else if (a == "--kernel" && i + 1 < argc)
      o.kernelDir = argv[++i];
    else if (a == "--diff" && i + 1 < argc)
      o.diff = argv[++i];
    else if (a == "--name" && i + 1 < argc)
      o.name = argv[++i];
    else if (a == "--transformers" && i + 1 < argc)
      o.transformers.push_back(argv[++i]);
    else if (a == "--shadow" && i + 1 < argc) {
      std::string tag = argv[++i];
      if (llvm::StringRef(tag).starts_with("struct "))
        tag = tag.substr(7);
      o.shadow.insert(tag);
    }
    else if (a == "--no-build")
      o.build = false;
    else if (a == "--no-safety")
      o.safety = false;
    else if (a == "-v")
      o.verbose = true;
    else if (!a.empty() && a[0] == '-')
      usage();
    else
      positional.push_back(a);
  }
  if (o.outDir.empty())
    usage();
  if (!o.diff.empty()) {
    // OLD, or the kernel tree; NEW is made from the fix.
    if (positional.size() > 1 || (positional.empty() && o.kernelDir.empty()))
      usage();
    o.oldDir = absolutePath(positional.empty() ? o.kernelDir : positional[0]);
    o.diff = absolutePath(o.diff);
  } else {
    if (positional.size() != 2)
      usage();
    o.oldDir = absolutePath(positional[0]);
    o.newDir = absolutePath(positional[1]);
  }
  o.outDir = absolutePath(o.outDir);
  if (!o.kernelDir.empty())
    o.kernelDir = absolutePath(o.kernelDir);
  return o;
}

} // namespace dsu
