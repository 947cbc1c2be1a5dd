#include "Subprocess.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

namespace dsu {
namespace {

std::vector<char *> argvPointers(const std::vector<std::string> &argv) {
  std::vector<char *> out;
  for (const std::string &s : argv)
    out.push_back(const_cast<char *>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// posix_spawn's file actions, released however the spawn goes.
class FileActions {
public:
  FileActions() { posix_spawn_file_actions_init(&actions_); }
  ~FileActions() { posix_spawn_file_actions_destroy(&actions_); }
  FileActions(const FileActions &) = delete;
  FileActions &operator=(const FileActions &) = delete;
  posix_spawn_file_actions_t *get() { return &actions_; }

private:
  posix_spawn_file_actions_t actions_;
};

} // namespace

int SubprocessResult::status() const {
  switch (end) {
  case End::Exited:
    return exitCode;
  case End::Signaled:
    return 128 + signal;
  case End::NotStarted:
  case End::WaitFailed:
    break;
  }
  return 127;
}

SubprocessResult runSubprocess(const std::vector<std::string> &argv,
                               const SubprocessOptions &options) {
  SubprocessResult result;
  if (argv.empty()) {
    result.error = EINVAL;
    return result;
  }
  // posix_spawn, not fork: the LLVM-based tools are large processes, and
  // copying their page tables for every compiler run costs time.
  FileActions actions;
  int err = 0;
  if (!options.cwd.empty())
    err = posix_spawn_file_actions_addchdir_np(actions.get(), options.cwd.c_str());
  const int outputFlags = O_WRONLY | O_CREAT | (options.truncateOutputs ? O_TRUNC : 0);
  if (!err && !options.stdoutPath.empty())
    err = posix_spawn_file_actions_addopen(actions.get(), STDOUT_FILENO, options.stdoutPath.c_str(),
                                           outputFlags, 0666);
  if (!err && !options.stderrPath.empty())
    err = posix_spawn_file_actions_addopen(actions.get(), STDERR_FILENO, options.stderrPath.c_str(),
                                           outputFlags, 0666);
  if (err) {
    result.error = err;
    return result;
  }
  std::vector<char *> args = argvPointers(argv);
  pid_t pid = 0;
  err = options.program.empty()
            ? posix_spawnp(&pid, args[0], actions.get(), nullptr, args.data(), environ)
            : posix_spawn(&pid, options.program.c_str(), actions.get(), nullptr, args.data(),
                          environ);
  if (err) {
    result.error = err;
    return result;
  }
  int status = 0;
  pid_t waited;
  while ((waited = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
    ;
  if (waited < 0) {
    result.end = SubprocessResult::End::WaitFailed;
    result.error = errno;
    return result;
  }
  if (WIFEXITED(status)) {
    result.end = SubprocessResult::End::Exited;
    result.exitCode = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    result.end = SubprocessResult::End::Signaled;
    result.signal = WTERMSIG(status);
#ifdef WCOREDUMP
    result.coreDumped = WCOREDUMP(status);
#endif
  }
  return result;
}

void execOrExit(const std::vector<std::string> &argv, const char *tool) {
  std::vector<char *> args = argvPointers(argv);
  execvp(args[0], args.data());
  std::fprintf(stderr, "%s: error: cannot run '%s': %s\n", tool, args[0], std::strerror(errno));
  std::exit(127);
}

} // namespace dsu
