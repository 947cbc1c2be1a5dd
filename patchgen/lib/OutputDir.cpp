// The output directory OUT, replaced as a whole by a run that makes a patch.
#include "OutputDir.h"

#include "Files.h"
#include "PatchManifest.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <stdlib.h>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace dsu {

std::string OutputDir::check(const std::string &out,
                             const std::vector<std::pair<std::string, std::string>> &inputs,
                             std::string &previous) {
  for (const auto &[what, path] : inputs)
    if (!path.empty() && (path == out || isUnder(path, out)))
      return path == out ? "it is " + what : fmt::format("it contains {} ({})", what, path);
  std::error_code ec;
  if (!fs::exists(out, ec))
    return "";
  if (!fs::is_directory(out, ec))
    return "it exists and is not a directory";
  std::string notPatch;
  if (auto pj = readPatchManifest(out + "/patch.json", notPatch))
    previous = pj->name;
  bool empty = fs::is_empty(out, ec);
  if (!empty && previous.empty() && !fs::exists(out + "/" + kMarker) && !oldLayout(out))
    return fmt::format("it exists and was not made by dsu-patchgen (no patch.json or {} in "
                       "it)", kMarker);
  for (auto it = fs::directory_iterator(out, ec); !ec && it != fs::directory_iterator();
       it.increment(ec))
    if (it->is_directory() && (fs::exists(it->path() / "patch.json") ||
                               fs::exists(it->path() / kMarker)))
      return fmt::format("it holds another patch ({})", it->path().string());
  return "";
}

OutputDir::~OutputDir() {
  if (!work_.empty())
    removeAll(work_);
}

bool OutputDir::create(std::string &error) {
  fs::path out(out_);
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  std::string templ =
      (out.parent_path() / ("." + out.filename().string() + ".dsu-patchgen-XXXXXX")).string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    error = fmt::format("cannot create a directory beside {}: {}", out_, std::strerror(errno));
    return false;
  }
  work_ = buf.data();
  // mkdtemp's 0700 would keep the patch from a program running as another
  // user (it opens the .so itself): the mode a plain mkdir gives.
  mode_t mask = umask(0);
  umask(mask);
  chmod(work_.c_str(), 0777 & ~mask);
  writeFile(work_ + "/" + kMarker,
            "Made by dsu-patchgen: each run replaces this directory as a whole.\n");
  return true;
}

void OutputDir::discard() {
  if (work_.empty())
    return;
  std::error_code ec;
  std::vector<fs::path> files, dirs;
  for (auto it = fs::recursive_directory_iterator(work_, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
    (it->is_directory() ? dirs : files).push_back(it->path());
  bool keep = false;
  for (const fs::path &p : files) {
    if (p.filename() == kMarker)
      continue;
    if (kept_.count(p.string()))
      keep = true;
    else
      fs::remove(p, ec);
  }
  for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) // deepest first; only empty ones go
    if (fs::is_empty(*d, ec))
      fs::remove(*d, ec);
  std::string error;
  if (!keep || !replaceOut(error)) {
    if (!error.empty())
      fmt::print(stderr, "dsu-patchgen: error: {}\n", error);
    if (fs::exists(out_))
      removeAll(out_);
    removeAll(work_);
    work_.clear();
  }
  if (!previous_.empty())
    fmt::print(stderr, "dsu-patchgen: note: {} no longer holds the previous patch {}: a run "
                       "that makes no patch leaves none behind\n",
               out_, previous_);
}

// Output directories of dsu-patchgen before the marker (a refused run's
// units/ and transformer stubs).
bool OutputDir::oldLayout(const std::string &out) {
  std::error_code ec;
  for (auto it = fs::directory_iterator(out, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name != "units" && name != "src" && name != "transformers.c" && name != "build.log" &&
        name != "dsu_patch_main.c")
      return false;
  }
  return fs::is_directory(out + "/units");
}

void OutputDir::removeAll(const std::string &path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec)
    fmt::print(stderr, "dsu-patchgen: warning: cannot remove {}: {}\n", path, ec.message());
}

// The work directory takes OUT's place in one rename (an exchange when
// OUT exists); the previous OUT, now at the work directory's name, goes.
bool OutputDir::replaceOut(std::string &error) {
  if (renameat2(AT_FDCWD, work_.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) == 0) {
    work_.clear();
    return true;
  }
  if (errno == EEXIST &&
      renameat2(AT_FDCWD, work_.c_str(), AT_FDCWD, out_.c_str(), RENAME_EXCHANGE) == 0) {
    removeAll(work_); // the previous OUT
    work_.clear();
    return true;
  }
  if (errno != EINVAL && errno != ENOSYS) {
    error = fmt::format("cannot move {} to {}: {}", work_, out_, std::strerror(errno));
    return false;
  }
  // A file system without renameat2's flags: OUT moves aside first.
  std::string aside = work_ + ".old";
  if (fs::exists(out_) && std::rename(out_.c_str(), aside.c_str()) != 0) {
    error = fmt::format("cannot move {} aside: {}", out_, std::strerror(errno));
    return false;
  }
  if (std::rename(work_.c_str(), out_.c_str()) != 0) {
    error = fmt::format("cannot move {} to {}: {}", work_, out_, std::strerror(errno));
    if (fs::exists(aside) && std::rename(aside.c_str(), out_.c_str()) != 0)
      error += fmt::format(" (the previous {} is at {})", out_, aside);
    return false;
  }
  removeAll(aside);
  work_.clear();
  return true;
}

} // namespace dsu
