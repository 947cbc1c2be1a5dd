// The commands dsu-patchgen runs.
#include "Subprocess.h"

#include <cstdio>
#include <sys/wait.h>
#include <unistd.h>

namespace dsu {

int runCommand(const std::vector<std::string> &argv, const std::string &cwd,
               const std::string &out, const std::string &err) {
  std::vector<char *> args;
  for (const std::string &s : argv)
    args.push_back(const_cast<char *>(s.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0)
      _exit(126);
    if (!out.empty() && !freopen(out.c_str(), "w", stdout))
      _exit(126);
    if (!err.empty() && !freopen(err.c_str(), "w", stderr))
      _exit(126);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0)
    return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string firstErrorLine(const std::string &text) {
  size_t pos = text.find("error");
  if (pos == std::string::npos)
    return text.substr(0, text.find('\n'));
  size_t begin = text.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', pos) - begin);
}

} // namespace dsu
