// The output directory OUT, replaced as a whole by a run that makes a patch.
//
// A run writes into a fresh directory beside OUT (created exclusively, on
// OUT's file system) and replaces OUT with it as a whole, by rename, only
// when it made a patch. OUT never mixes two runs (a stale src/ copy would be
// the old version of a file for a patch stacked on OUT), and a run that
// makes no patch leaves none behind: a refused run used to leave the
// previous .so and patch.json in place, and that stale patch was applied as
// the new one. What a failed run wrote for the user (transformer stubs,
// build.log, the units' code) is still put in OUT, without a manifest or an
// artifact.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dsu {

class OutputDir {
public:
  static constexpr const char *kMarker = ".dsu-patchgen";

  // Whether OUT may be replaced as a whole: it does not exist, is empty, or
  // was made by dsu-patchgen (and holds no other patch); and it holds none
  // of the run's inputs. "" if so, else why not. `previous`: the name of the
  // patch OUT holds now, if any.
  static std::string check(const std::string &out,
                           const std::vector<std::pair<std::string, std::string>> &inputs,
                           std::string &previous);

  OutputDir(std::string out, std::string previous)
      : out_(std::move(out)), previous_(std::move(previous)) {}
  ~OutputDir();

  // The fresh directory the run writes into.
  bool create(std::string &error);
  const std::string &work() const { return work_; }
  const std::string &out() const { return out_; }
  // A path in the work directory as it will be once it is OUT.
  std::string shown(const std::string &path) const {
    return path.compare(0, work_.size(), work_) == 0 ? out_ + path.substr(work_.size()) : path;
  }

  // The run made a patch: the work directory becomes OUT.
  bool commit(std::string &error) { return replaceOut(error); }

  // A file a message names (transformer stubs, a build log, code that does
  // not compile): kept in OUT when the run makes no patch.
  void keep(const std::string &path) { kept_.insert(path); }

  // The run made no patch: OUT holds only the files its messages name, and
  // goes if there are none.
  void discard();

  // Removes a directory tree the run made (no error if it is gone).
  static void removeAll(const std::string &path);

private:
  static bool oldLayout(const std::string &out);
  bool replaceOut(std::string &error);

  std::string out_, previous_, work_;
  std::set<std::string> kept_;
};

} // namespace dsu
