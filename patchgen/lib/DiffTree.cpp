#include "DiffTree.h"

#include "Files.h"
#include "Subprocess.h"

#include <fmt/format.h>

#include <cstring>
#include <filesystem>

namespace fs = std::filesystem;

namespace dsu {

namespace {

// A hard-linked copy (a kernel tree in seconds); a plain copy when OLD is
// on another file system than the run's directory.
bool linkTree(const std::string &from, const std::string &to, std::string &error) {
  std::error_code ec;
  const auto options = fs::copy_options::recursive | fs::copy_options::copy_symlinks;
  fs::copy(from, to, options | fs::copy_options::create_hard_links, ec);
  if (ec == std::errc::cross_device_link) {
    fs::remove_all(to, ec);
    ec.clear();
    fs::copy(from, to, options, ec);
  }
  if (ec) {
    error = fmt::format("cannot copy {} to {}: {}", from, to, ec.message());
    return false;
  }
  return true;
}

} // namespace

bool makeNewTree(const std::string &oldDir, const std::string &diff, const std::string &newDir,
                 std::string &error) {
  if (!readFile(diff)) {
    error = fmt::format("{}: cannot read the fix", diff);
    return false;
  }
  if (!linkTree(oldDir, newDir, error))
    return false;
  // -p1 as git and the stable trees write them; --forward and --batch so
  // that an already applied or reversed fix fails instead of asking.
  const std::string out = newDir + ".patch.out", err = newDir + ".patch.err";
  SubprocessOptions run;
  run.cwd = newDir;
  run.stdoutPath = out;
  run.stderrPath = err;
  SubprocessResult r = runSubprocess({"patch", "-p1", "--forward", "--batch",
                                      "--no-backup-if-mismatch", "-r", "-", "-i", diff},
                                     run);
  std::string said = readFile(out).value_or("") + readFile(err).value_or("");
  fs::remove(out);
  fs::remove(err);
  if (r.status() != 0) {
    while (!said.empty() && said.back() == '\n')
      said.pop_back();
    error = r.end == SubprocessResult::End::NotStarted
                ? fmt::format("cannot run patch(1) to apply {}: {} (apt-get install patch)", diff,
                              std::strerror(r.error))
                : fmt::format("{} does not apply to {} (patch -p1):\n{}", diff, oldDir, said);
    return false;
  }
  return true;
}

} // namespace dsu
