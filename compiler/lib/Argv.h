// Classifies a compiler command line (parsed with clang's Driver option table)
// and derives the command lines dsu-cc needs: preprocess, parse, compile.
// Anything that is not "compile one C file to an object" passes through.
#pragma once
#include <string>
#include <vector>

namespace dsu {

struct CompileJob {
  bool instrument = false;
  std::string passthroughWhy; // when !instrument: which rule sent it through

  std::string source;
  std::string object;
  bool kernel = false; // -D__KERNEL__ seen
  // Arguments (without argv[0]) for: the in-process parse of the original
  // source (the source is appended by the caller; dependencyArgs added when
  // it writes the dependency file), the real compiler's -E (the output path
  // is appended after "-o"), and the compile of the rewritten preprocessed
  // unit (the file is appended after "-x cpp-output").
  std::vector<std::string> parseArgs;
  std::vector<std::string> dependencyArgs; // -MD & co., naming the object
  std::vector<std::string> preprocessOnlyArgs; // -E, without dependency output
  std::vector<std::string> compileArgs;
};

// `args` excludes argv[0]. `clangPath` names the clang whose driver decides.
CompileJob classifyCommandLine(const std::vector<std::string> &args, const std::string &clangPath);

// Splits DSU_REAL_CC ("ccache clang-19") into words: whitespace separates,
// single and double quotes group, backslash escapes.
std::vector<std::string> splitCommandWords(const std::string &s);

// The real compiler's words: DSU_REAL_CC split, or clang-19.
std::vector<std::string> realCompilerWords();

} // namespace dsu
