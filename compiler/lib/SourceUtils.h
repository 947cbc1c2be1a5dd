// Where things are in the original sources: the presumed (line-marker
// adjusted) location of an AST location's expansion, and which files are
// the unit's own source. Shared by every pass of the rewrite.
#pragma once

#include <clang/Basic/SourceLocation.h>
#include <llvm/ADT/StringRef.h>

#include <string>

namespace clang {
class SourceManager;
}

namespace dsu {

// A file is the unit's "source" when it is a .c (or preprocessed .i) file:
// kernel units include other .c files (kernel/sched/build_policy.c), and
// what those define belongs to the unit as much as its own definitions;
// everything else is a header.
bool isCSourceFile(llvm::StringRef file);

// The presumed location (file and line as line markers and #line say) of
// the expansion of `loc`: where a diagnostic would point.
clang::PresumedLoc presumedLoc(const clang::SourceManager &sm, clang::SourceLocation loc);

// Its file name, "" when there is none.
std::string presumedFile(const clang::SourceManager &sm, clang::SourceLocation loc);

// Its line, 0 when there is none.
unsigned presumedLine(const clang::SourceManager &sm, clang::SourceLocation loc);

// Its column, 1 when there is none.
unsigned presumedColumn(const clang::SourceManager &sm, clang::SourceLocation loc);

// "file:line", "" when there is none.
std::string presumedFileLine(const clang::SourceManager &sm, clang::SourceLocation loc);

// Whether `loc` is in the unit's own source (isCSourceFile of its presumed file).
bool inCSourceFile(const clang::SourceManager &sm, clang::SourceLocation loc);

} // namespace dsu
