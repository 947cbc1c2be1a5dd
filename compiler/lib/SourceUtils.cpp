#include "SourceUtils.h"

#include <clang/Basic/SourceManager.h>
#include <fmt/format.h>

namespace dsu {

bool isCSourceFile(llvm::StringRef file) { return file.ends_with(".c") || file.ends_with(".i"); }

clang::PresumedLoc presumedLoc(const clang::SourceManager &sm, clang::SourceLocation loc) {
  return sm.getPresumedLoc(sm.getExpansionLoc(loc));
}

std::string presumedFile(const clang::SourceManager &sm, clang::SourceLocation loc) {
  clang::PresumedLoc p = presumedLoc(sm, loc);
  return p.isValid() ? p.getFilename() : "";
}

unsigned presumedLine(const clang::SourceManager &sm, clang::SourceLocation loc) {
  clang::PresumedLoc p = presumedLoc(sm, loc);
  return p.isValid() ? p.getLine() : 0;
}

unsigned presumedColumn(const clang::SourceManager &sm, clang::SourceLocation loc) {
  clang::PresumedLoc p = presumedLoc(sm, loc);
  return p.isValid() ? p.getColumn() : 1;
}

std::string presumedFileLine(const clang::SourceManager &sm, clang::SourceLocation loc) {
  clang::PresumedLoc p = presumedLoc(sm, loc);
  return p.isValid() ? fmt::format("{}:{}", p.getFilename(), p.getLine()) : "";
}

bool inCSourceFile(const clang::SourceManager &sm, clang::SourceLocation loc) {
  clang::PresumedLoc p = presumedLoc(sm, loc);
  return p.isValid() && isCSourceFile(p.getFilename());
}

} // namespace dsu
