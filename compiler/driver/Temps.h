// The files dsu-cc-core makes for its own use, each created exclusively
// under a name nobody can guess (in TMPDIR, or beside the object where
// TMPDIR is unusable) and removed when the compile ends, by a return, an
// exec of the real compiler (finish() first) or a signal. With
// DSU_KEEP_TEMPS they are made beside the object and renamed to
// <object><suffix> at the end: a rename replaces whatever is at that name,
// where opening it would write through a symlink planted there.
#pragma once
#include <llvm/ADT/StringRef.h>

#include <string>
#include <vector>

class Temps {
public:
  explicit Temps(bool keep) : keep_(keep) {}
  Temps(const Temps &) = delete;
  Temps &operator=(const Temps &) = delete;
  ~Temps() { finish(); }

  // The new (empty) file's path; "" with `error` when none can be made.
  std::string make(const std::string &object, llvm::StringRef suffix, std::string &error);

  // Removes the files (renames them into place when kept).
  void finish();

private:
  struct Entry {
    std::string path, keepAs;
  };
  std::vector<Entry> entries_;
  bool keep_;
};
