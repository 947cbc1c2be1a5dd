// dsu-cc's front door: a tiny program with no LLVM in it.
//
// kbuild and configure scripts call the compiler hundreds of times for
// probes (`-E -x c -`, `-c -x c /dev/null`, `--version`); loading clang's
// libraries only to pass such calls through doubled their cost. This
// launcher execs the real compiler directly when the command line cannot be
// "compile one real C file to an object" and otherwise execs dsu-cc-core
// (installed beside it), which decides with clang's Driver.
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "Argv.h"

namespace {

// True only when the invocation certainly is not a compile-to-object of a
// real file: no "-c", or stdin/null device as an operand, or an option that
// changes the action. Anything else goes to the Driver-based classifier.
bool certainlyPassthrough(int argc, char **argv) {
  bool compile = false;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    if (!std::strcmp(a, "-c"))
      compile = true;
    else if (!std::strcmp(a, "-") || !std::strcmp(a, "/dev/null") || !std::strcmp(a, "-E") ||
             !std::strcmp(a, "-S") || !std::strcmp(a, "-M") || !std::strcmp(a, "-MM") ||
             !std::strcmp(a, "--version") || !std::strcmp(a, "-###") || !std::strcmp(a, "-v"))
      return true;
  }
  return !compile;
}

std::string selfDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return ".";
  buf[n] = 0;
  std::string s(buf);
  return s.substr(0, s.rfind('/'));
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> words;
  std::vector<char *> args;
  if (certainlyPassthrough(argc, argv)) {
    const char *env = std::getenv("DSU_REAL_CC");
    words = dsu::splitCommandWords(env && *env ? env : "clang-19");
    if (words.empty())
      words.push_back("clang-19");
  } else {
    words.push_back(selfDir() + "/dsu-cc-core");
  }
  for (std::string &w : words)
    args.push_back(w.data());
  for (int i = 1; i < argc; ++i)
    args.push_back(argv[i]);
  args.push_back(nullptr);
  execvp(args[0], args.data());
  std::fprintf(stderr, "dsu-cc: error: cannot run '%s': %s\n", args[0], std::strerror(errno));
  return 127;
}
