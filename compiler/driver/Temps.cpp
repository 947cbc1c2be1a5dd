#include "Temps.h"

#include <fmt/format.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Signals.h>

std::string Temps::make(const std::string &object, llvm::StringRef suffix, std::string &error) {
  llvm::SmallString<256> path;
  std::error_code ec;
  if (keep_) {
    ec = llvm::sys::fs::createUniqueFile(object + suffix + "-%%%%%%%%.tmp", path);
  } else {
    ec = llvm::sys::fs::createTemporaryFile("dsu", suffix.drop_front(), path);
    if (ec)
      ec = llvm::sys::fs::createUniqueFile(object + "-%%%%%%%%" + suffix, path,
                                           llvm::sys::fs::owner_read | llvm::sys::fs::owner_write);
  }
  if (ec) {
    error = fmt::format("cannot create a temporary file for {}: {}", object, ec.message());
    return "";
  }
  llvm::sys::RemoveFileOnSignal(path);
  entries_.push_back({std::string(path), keep_ ? object + suffix.str() : std::string()});
  return std::string(path);
}

void Temps::finish() {
  for (const Entry &e : entries_) {
    if (e.keepAs.empty() || llvm::sys::fs::rename(e.path, e.keepAs))
      llvm::sys::fs::remove(e.path);
    llvm::sys::DontRemoveFileOnSignal(e.path);
  }
  entries_.clear();
}
