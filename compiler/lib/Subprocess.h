// Running another program: spawn it with an argument vector, wait for it,
// say how it ended. Without LLVM, so that dsu-cc's launcher (which must
// not load LLVM) and the LLVM-based tools share it.
#pragma once
#include <string>
#include <vector>

namespace dsu {

struct SubprocessOptions {
  // The file to run; "" runs argv[0], searched in PATH like execvp does.
  std::string program;
  std::string cwd;        // "" = this process's directory
  std::string stdoutPath; // "" = this process's stdout
  std::string stderrPath; // "" = this process's stderr
  // Whether stdoutPath and stderrPath are emptied when opened. false leaves
  // that to the caller: it opens them without O_TRUNC (only created if
  // missing).
  bool truncateOutputs = true;
};

struct SubprocessResult {
  enum class End { Exited, Signaled, NotStarted, WaitFailed };
  End end = End::NotStarted;
  int exitCode = 0;        // Exited
  int signal = 0;          // Signaled
  bool coreDumped = false; // Signaled
  int error = 0;           // NotStarted, WaitFailed: the errno of the spawn or the wait

  // The shell's convention: the exit code, 128 + the signal, 127 when it
  // did not start (or its end is unknown).
  int status() const;
};

SubprocessResult runSubprocess(const std::vector<std::string> &argv,
                               const SubprocessOptions &options = {});

// Replaces this process with argv (searched in PATH); where that fails,
// prints "<tool>: error: cannot run '<argv[0]>': <why>" and exits 127.
[[noreturn]] void execOrExit(const std::vector<std::string> &argv, const char *tool);

} // namespace dsu
