#include "ChangedLines.h"

#include <clang/Basic/LangOptions.h>
#include <clang/Lex/Lexer.h>
#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace dsu {

namespace {

std::vector<llvm::StringRef> splitLines(const std::string &text) {
  std::vector<llvm::StringRef> lines;
  llvm::StringRef rest(text);
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    lines.push_back(line);
    rest = tail;
  }
  return lines;
}

// A directive's name ("if", "endif" ...) or "" for other lines.
llvm::StringRef directive(llvm::StringRef line) {
  line = line.ltrim();
  if (!line.consume_front("#"))
    return "";
  line = line.ltrim();
  return line.take_while([](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
}

// Beyond this many cells the middle of a change is taken as changed as a
// whole (a rewrite of a whole file is not the case this is for).
constexpr size_t kMaxCells = 16u << 20;

} // namespace

std::set<unsigned> changedLines(const std::string &oldText, const std::string &newText) {
  const std::vector<llvm::StringRef> a = splitLines(oldText), b = splitLines(newText);
  size_t prefix = 0;
  while (prefix < a.size() && prefix < b.size() && a[prefix] == b[prefix])
    ++prefix;
  size_t suffix = 0;
  while (suffix < a.size() - prefix && suffix < b.size() - prefix &&
         a[a.size() - 1 - suffix] == b[b.size() - 1 - suffix])
    ++suffix;
  const size_t n = a.size() - prefix - suffix, m = b.size() - prefix - suffix;
  std::set<unsigned> changed;
  auto mark = [&](size_t newIndex) { changed.insert(static_cast<unsigned>(newIndex + 1)); };
  if (n == 0 && m == 0)
    return changed;
  if ((n + 1) * (m + 1) > kMaxCells || n == 0 || m == 0) {
    for (size_t j = 0; j < m; ++j)
      mark(prefix + j);
    if (m == 0)
      mark(prefix); // a deletion: the line after it
    return changed;
  }
  // The longest common subsequence of the middle; what NEW has outside it
  // is inserted or modified, and a run OLD loses marks the NEW line after it.
  std::vector<unsigned> lcs((n + 1) * (m + 1), 0);
  auto at = [&](size_t i, size_t j) -> unsigned & { return lcs[i * (m + 1) + j]; };
  for (size_t i = n; i-- > 0;)
    for (size_t j = m; j-- > 0;)
      at(i, j) = a[prefix + i] == b[prefix + j] ? at(i + 1, j + 1) + 1
                                                : std::max(at(i + 1, j), at(i, j + 1));
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[prefix + i] == b[prefix + j]) {
      ++i, ++j;
    } else if (j < m && (i == n || at(i, j + 1) > at(i + 1, j))) {
      mark(prefix + j++);
    } else {
      // OLD's line i is gone before NEW's line j (deletions first: a
      // modified line is a deletion and an insertion at the same place).
      mark(prefix + j);
      ++i;
    }
  }
  return changed;
}

std::string enclosingConditional(const std::string &text, unsigned line) {
  const std::vector<llvm::StringRef> lines = splitLines(text);
  int depth = 0;
  for (size_t i = std::min<size_t>(line, lines.size()); i-- > 0;) {
    if (i + 1 == line)
      continue; // the line itself
    llvm::StringRef d = directive(lines[i]);
    if (d == "endif") {
      ++depth;
    } else if (d == "if" || d == "ifdef" || d == "ifndef") {
      if (depth == 0)
        return fmt::format("`{}` at line {}", lines[i].trim().str(), i + 1);
      --depth;
    } else if ((d == "elif" || d == "else") && depth == 0) {
      return fmt::format("`{}` at line {}", lines[i].trim().str(), i + 1);
    }
  }
  return "";
}

std::set<unsigned> directiveLines(const std::string &text) {
  std::set<unsigned> out;
  const std::vector<llvm::StringRef> lines = splitLines(text);
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].ltrim().starts_with("#"))
      out.insert(static_cast<unsigned>(i + 1));
  return out;
}

std::set<unsigned> codeLines(const std::string &text) {
  std::set<unsigned> lines;
  clang::LangOptions lo;
  clang::Lexer lex(clang::SourceLocation(), lo, text.data(), text.data(), text.data() + text.size());
  clang::Token tok;
  unsigned line = 1;
  const char *counted = text.data();
  for (bool last = false; !last;) {
    last = lex.LexFromRawLexer(tok);
    if (tok.is(clang::tok::eof))
      break;
    // With no file behind it, a token's location is its offset.
    const char *start = text.data() + tok.getLocation().getRawEncoding();
    for (; counted < start; ++counted)
      line += *counted == '\n';
    // A token spanning lines (a string with continuations) counts on each.
    unsigned end = line;
    for (const char *p = start; p < start + tok.getLength(); ++p)
      end += *p == '\n';
    for (unsigned l = line; l <= end; ++l)
      lines.insert(l);
  }
  return lines;
}

} // namespace dsu
