// C literals the rewrite writes into a unit: escaped strings and the values
// of __func__ and friends.
#pragma once

#include <llvm/ADT/StringRef.h>

#include <string>

namespace clang {
class FunctionDecl;
class PredefinedExpr;
} // namespace clang

namespace dsu {

// `in` as the contents of a C string literal (quotes and backslashes
// escaped, control characters as octal escapes).
std::string escapeCString(llvm::StringRef in);

// A string literal, quotes included, with the value `pe` (__func__,
// __FUNCTION__, __PRETTY_FUNCTION__ ...) has in `fd`, where it is written:
// what replaces it when the body moves to a function of another name.
std::string predefinedLiteral(const clang::PredefinedExpr *pe, const clang::FunctionDecl *fd);

} // namespace dsu
