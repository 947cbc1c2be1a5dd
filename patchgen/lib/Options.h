// dsu-patchgen's command line.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace dsu {

struct PatchgenOptions {
  std::string oldDir, newDir, outDir, kernelDir, name; // absolute once parsed
  // --diff FIX: NEW is OLD with the fix applied, made in the run's directory
  // (newDir is set once it exists).
  std::string diff;
  std::vector<std::string> transformers; // --transformers FILE (user-written type transformers)
  std::set<std::string> shadow;          // --shadow TAG: added fields become shadow data
  bool build = true;
  bool safety = true; // run the safety analysis (--no-safety: runtimes fall back to activeness)
  bool verbose = false;

  bool kernel() const { return !kernelDir.empty(); }
};

// The options of `dsu-patchgen OLD NEW -o OUT ...`, with the directories
// made absolute; prints the usage and exits with 2 when they are wrong.
PatchgenOptions parseOptions(int argc, char **argv);

} // namespace dsu
