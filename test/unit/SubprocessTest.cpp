#include "Subprocess.h"

#include <catch2/catch.hpp>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <unistd.h>

using dsu::runSubprocess;
using dsu::SubprocessOptions;
using dsu::SubprocessResult;

namespace {
std::string contents(const std::string &path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string tempPath(const char *name) {
  return std::string("/tmp/dsu-subprocess-test-") + std::to_string(getpid()) + "-" + name;
}
} // namespace

TEST_CASE("subprocess: the exit code, searched in PATH", "[subprocess]") {
  SubprocessResult r = runSubprocess({"sh", "-c", "exit 3"});
  CHECK(r.end == SubprocessResult::End::Exited);
  CHECK(r.exitCode == 3);
  CHECK(r.status() == 3);
}

TEST_CASE("subprocess: a signal is 128 + its number", "[subprocess]") {
  SubprocessResult r = runSubprocess({"sh", "-c", "kill -TERM $$"});
  CHECK(r.end == SubprocessResult::End::Signaled);
  CHECK(r.signal == SIGTERM);
  CHECK(r.status() == 128 + SIGTERM);
}

TEST_CASE("subprocess: a program that cannot start is 127, with errno", "[subprocess]") {
  SubprocessResult r = runSubprocess({"/nonexistent/dsu-no-such-program"});
  CHECK(r.end == SubprocessResult::End::NotStarted);
  CHECK(r.error == ENOENT);
  CHECK(r.status() == 127);
  SubprocessOptions named;
  named.program = "/nonexistent/dsu-no-such-program";
  CHECK(runSubprocess({"cc"}, named).end == SubprocessResult::End::NotStarted);
}

TEST_CASE("subprocess: argv[0] apart from the program run", "[subprocess]") {
  const std::string out = tempPath("argv0");
  SubprocessOptions options;
  options.program = "/bin/sh";
  options.stdoutPath = out;
  SubprocessResult r = runSubprocess({"not-sh", "-c", "echo $0"}, options);
  CHECK(r.status() == 0);
  CHECK(contents(out) == "not-sh\n");
  std::remove(out.c_str());
}

TEST_CASE("subprocess: output to files, in a directory", "[subprocess]") {
  const std::string out = tempPath("out"), err = tempPath("err");
  std::ofstream(out) << "an older, longer text\n";
  SubprocessOptions options;
  options.cwd = "/";
  options.stdoutPath = out;
  options.stderrPath = err;
  SubprocessResult r = runSubprocess({"sh", "-c", "pwd; echo oops >&2"}, options);
  CHECK(r.status() == 0);
  CHECK(contents(out) == "/\n");
  CHECK(contents(err) == "oops\n");

  // Not truncated: the caller emptied it, or wants it written over.
  std::ofstream(err) << "0123456789\n";
  options.truncateOutputs = false;
  options.stdoutPath.clear();
  r = runSubprocess({"sh", "-c", "printf ab >&2"}, options);
  CHECK(r.status() == 0);
  CHECK(contents(err) == "ab23456789\n");
  std::remove(out.c_str());
  std::remove(err.c_str());
}
