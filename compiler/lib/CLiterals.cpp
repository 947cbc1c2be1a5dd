#include "CLiterals.h"

#include <clang/AST/Expr.h>
#include <fmt/format.h>

using namespace clang;

namespace dsu {

std::string escapeCString(llvm::StringRef in) {
  std::string out;
  for (char ch : in) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      // A newline would end the literal; three octal digits never run into
      // the character that follows.
      out += fmt::format("\\{:03o}", u);
      continue;
    }
    if (ch == '"' || ch == '\\')
      out += '\\';
    out += ch;
  }
  return out;
}

std::string predefinedLiteral(const PredefinedExpr *pe, const FunctionDecl *fd) {
  // The literal clang made for this very expression, in the original
  // function: exactly its text, whatever the kind (__func__ is the name,
  // __PRETTY_FUNCTION__ the whole signature, "const char *f(int)").
  const StringLiteral *sl = pe->getFunctionName();
  if (sl && sl->isOrdinary())
    return fmt::format("\"{}\"", escapeCString(sl->getString()));
  // L__FUNCTION__, L__FUNCSIG__ (-fms-extensions): the same text as a wide
  // literal; the rewritten unit is UTF-8 like the source the name came from.
  const bool wide = sl ? sl->isWide()
                       : pe->getIdentKind() == PredefinedIdentKind::LFunction ||
                             pe->getIdentKind() == PredefinedIdentKind::LFuncSig;
  return fmt::format("{}\"{}\"", wide ? "L" : "",
                     escapeCString(PredefinedExpr::ComputeName(pe->getIdentKind(), fd)));
}

} // namespace dsu
