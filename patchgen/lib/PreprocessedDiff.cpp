#include "PreprocessedDiff.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace dsu {
namespace {

bool identStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }
bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

// C's tokens, as far as cutting declarations needs them: identifiers,
// numbers, literals, one punctuation character each, and a directive left
// in the text (#pragma) as one token. False on an unterminated literal.
bool tokenize(std::string_view text, std::vector<std::string_view> &out) {
  size_t i = 0, n = text.size();
  out.reserve(n / 4); // kernel units: about one token per 5 characters
  bool lineStart = true;
  while (i < n) {
    char c = text[i];
    if (c == '\n') {
      lineStart = true;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    size_t b = i;
    if (c == '#' && lineStart) {
      while (i < n && text[i] != '\n')
        ++i;
    } else if (identStart(c)) {
      while (i < n && identChar(text[i]))
        ++i;
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(text[i + 1])))) {
      // A pp-number: digits, letters, dots, and a sign after an exponent.
      ++i;
      while (i < n && (identChar(text[i]) || text[i] == '.' ||
                       ((text[i] == '+' || text[i] == '-') &&
                        std::strchr("eEpP", text[i - 1]))))
        ++i;
    } else if (c == '"' || c == '\'') {
      ++i;
      while (i < n && text[i] != c) {
        if (text[i] == '\\')
          ++i;
        if (text[i] == '\n')
          return false;
        ++i;
      }
      if (i >= n)
        return false;
      ++i;
    } else {
      ++i;
    }
    lineStart = false;
    out.push_back(text.substr(b, i - b));
  }
  return true;
}

const std::unordered_set<std::string_view> &keywords() {
  static const std::unordered_set<std::string_view> k = {
      "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
      "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
      "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
      "union", "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary",
      "_Alignas", "_Alignof", "_Atomic", "_Generic", "_Noreturn", "_Static_assert",
      "_Thread_local", "__inline", "__inline__", "__restrict", "__restrict__", "__volatile__",
      "__volatile", "__const", "__const__", "__signed__", "__signed", "__attribute__",
      "__attribute", "__typeof__", "__typeof", "typeof", "typeof_unqual", "__extension__",
      "__asm__", "__asm", "asm", "__label__", "__auto_type", "_Float16", "__int128", "bool",
      "true", "false", "static_assert", "alignas", "alignof", "thread_local", "constexpr",
      "nullptr", "__builtin_va_list", "__seg_gs", "__seg_fs", "__alignof__", "__real__",
      "__imag__", "__builtin_offsetof", "__builtin_types_compatible_p", "__builtin_choose_expr"};
  return k;
}
bool isIdentifier(std::string_view t) { return !t.empty() && identStart(t[0]); }
bool isName(std::string_view t) { return isIdentifier(t) && !keywords().count(t); }
// Keywords followed by a parenthesized group that declares nothing.
bool opensGroup(std::string_view t) {
  return t == "__attribute__" || t == "__attribute" || t == "__typeof__" || t == "__typeof" ||
         t == "typeof" || t == "typeof_unqual" || t == "_Alignas" || t == "alignas" ||
         t == "__asm__" || t == "__asm" || t == "asm" || t == "__declspec";
}

bool opening(std::string_view t) { return t == "(" || t == "[" || t == "{"; }
bool closing(std::string_view t) { return t == ")" || t == "]" || t == "}"; }

// Tokens of a text, kept apart from it.
struct TokenSpan {
  const std::string_view *first = nullptr;
  size_t count = 0;
  size_t size() const { return count; }
  bool empty() const { return count == 0; }
  std::string_view operator[](size_t i) const { return first[i]; }
  std::string_view front() const { return first[0]; }
};

// Identifiers, sorted, each once.
struct NameSet {
  std::vector<std::string_view> items;
  void insert(std::string_view n) { items.push_back(n); }
  void clear() { items.clear(); }
  size_t size() const { return items.size(); }
  void finish() {
    std::sort(items.begin(), items.end());
    items.erase(std::unique(items.begin(), items.end()), items.end());
  }
  auto begin() const { return items.begin(); }
  auto end() const { return items.end(); }
};

// One top-level declaration (or definition, or directive).
struct Declaration {
  TokenSpan tokens;
  std::string key;                     // its tokens, one space apart
  NameSet names;                       // what it declares (all its identifiers when unknown)
  NameSet mentions;                    // every identifier in it
  bool emits = false;                  // code or data of the unit
  bool directive = false;
};

// Index past the balanced group opening at `i` (a bracket token).
size_t skipGroup(const TokenSpan &t, size_t i, size_t end) {
  int depth = 0;
  for (; i < end; ++i) {
    if (opening(t[i]))
      ++depth;
    else if (closing(t[i]) && --depth == 0)
      return i + 1;
  }
  return end;
}

// Its key, what it mentions and declares, whether it emits (names not yet
// sorted: describe()).
void describeTokens(Declaration &d) {
  const TokenSpan &t = d.tokens;
  size_t length = 0;
  for (size_t i = 0; i < t.size(); ++i)
    length += t[i].size() + 1;
  d.key.reserve(length);
  for (size_t i = 0; i < t.size(); ++i) {
    d.key += t[i];
    d.key += ' ';
    if (isName(t[i]))
      d.mentions.insert(t[i]);
  }
  d.mentions.finish();
  if (d.directive)
    return;
  // Depth-0 facts, attribute and typeof groups skipped.
  bool isTypedef = false, isExtern = false, isInline = false, assigns = false;
  bool body = false; // a function definition
  std::string_view functionName;
  bool nameKnown = false;
  std::string_view lastDepth0Ident;
  std::string_view tagKeyword;
  for (size_t i = 0; i < t.size();) {
    std::string_view tok = t[i];
    if (opensGroup(tok) && i + 1 < t.size() && t[i + 1] == "(") {
      i = skipGroup(t, i + 1, t.size());
      continue;
    }
    if (tok == "typedef")
      isTypedef = true;
    else if (tok == "extern")
      isExtern = true;
    else if (tok == "inline" || tok == "__inline" || tok == "__inline__")
      isInline = true;
    else if (tok == "=")
      assigns = true;
    else if ((tok == "struct" || tok == "union" || tok == "enum") && i == 0)
      tagKeyword = tok;
    if (tok == "(" && !assigns && !nameKnown && i > 0 && isName(t[i - 1]) && i + 1 < t.size() &&
        t[i + 1] != "*" && t[i + 1] != "(" && t[i + 1] != "^") {
      // `name(` starting a parameter list: a function's declarator.
      functionName = t[i - 1];
      nameKnown = true;
    }
    if (tok == "{" && !assigns && nameKnown && t[i - 1] == ")") {
      body = true;
      break;
    }
    if (isIdentifier(tok))
      lastDepth0Ident = tok;
    i = opening(tok) ? skipGroup(t, i, t.size()) : i + 1;
    // A struct body at depth 0 is skipped whole; its tag was seen.
  }
  if (body) {
    d.emits = !isInline;
    if (nameKnown)
      d.names.insert(functionName);
    else
      d.names = d.mentions;
    return;
  }
  if (isTypedef) {
    if (isName(lastDepth0Ident) && t.size() >= 2 && t[t.size() - 2] == lastDepth0Ident)
      d.names.insert(lastDepth0Ident);
    else
      d.names = d.mentions;
    return;
  }
  if (nameKnown && !assigns) { // a prototype
    d.names.insert(functionName);
    return;
  }
  if (!tagKeyword.empty()) {
    // `struct X { ... };`, `enum { A, B = 1 };`, `struct X;` (attributes
    // allowed): only the tag and the enumerators; anything else after the
    // body is a declarator (a variable).
    size_t i = 1;
    std::string_view tag;
    auto skipAttributes = [&] {
      while (i < t.size() && opensGroup(t[i]) && i + 1 < t.size() && t[i + 1] == "(")
        i = skipGroup(t, i + 1, t.size());
    };
    skipAttributes();
    if (i < t.size() && isName(t[i]))
      tag = t[i++];
    skipAttributes();
    if (i < t.size() && t[i] == "{") {
      size_t end = skipGroup(t, i, t.size());
      if (tagKeyword == "enum")
        for (size_t k = i + 1; k + 1 < end; ++k)
          if (isName(t[k]) && (t[k - 1] == "{" || t[k - 1] == ","))
            d.names.insert(t[k]);
      i = end;
      skipAttributes();
    }
    if (i + 1 == t.size() && t[i] == ";") {
      if (!tag.empty())
        d.names.insert(tag);
      return;
    }
  }
  // A variable (or something not recognized): it may emit data, and it
  // declares any of its identifiers.
  d.names = d.mentions;
  d.emits = !(isExtern && !assigns) && !(t.size() >= 1 && t[0] == "_Static_assert") &&
            !(t.size() >= 1 && t[0] == "static_assert");
}

void describe(Declaration &d) {
  describeTokens(d);
  d.names.finish();
}

// The declarations of a preprocessed text (over `tokens`, which it fills);
// false when its brackets do not balance (nothing is concluded then).
bool declarations(std::string_view text, std::vector<std::string_view> &tokens,
                  std::vector<Declaration> &out) {
  if (!tokenize(text, tokens))
    return false;
  Declaration cur;
  size_t start = 0;
  int depth = 0;
  bool function = false, assigns = false, declarator = false;
  auto finish = [&](size_t end) {
    cur.tokens = TokenSpan{tokens.data() + start, end - start};
    describe(cur);
    out.push_back(std::move(cur));
    cur = Declaration();
    start = end;
    function = assigns = declarator = false;
  };
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string_view tok = tokens[i];
    if (tok.size() > 1 && tok[0] == '#') { // a directive line (a lone '#' is a masked number)
      if (depth == 0) {
        if (i != start)
          return false; // a directive inside a declaration's head
        cur.directive = true;
        finish(i + 1);
      }
      continue;
    }
    if (depth == 0 && tok == "=")
      assigns = true;
    if (opening(tok)) {
      if (depth == 0 && tok == "(" && i > 0 && isName(tokens[i - 1]) && !opensGroup(tokens[i - 1]))
        declarator = true;
      if (depth == 0 && tok == "{" && !assigns && declarator && tokens[i - 1] == ")")
        function = true;
      ++depth;
    } else if (closing(tok)) {
      if (--depth < 0)
        return false;
      if (depth == 0 && tok == "}" && function)
        finish(i + 1);
    } else if (depth == 0 && tok == ";") {
      finish(i + 1);
    }
  }
  if (depth != 0)
    return false;
  if (start != tokens.size())
    finish(tokens.size());
  return true;
}

// Directives that change no code: diagnostics pragmas.
bool harmlessDirective(const Declaration &d) {
  std::vector<std::string_view> words;
  std::string_view line = d.tokens.front();
  size_t i = 1;
  while (i < line.size() && words.size() < 3) {
    while (i < line.size() && std::isspace(static_cast<unsigned char>(line[i])))
      ++i;
    size_t b = i;
    while (i < line.size() && !std::isspace(static_cast<unsigned char>(line[i])))
      ++i;
    if (i > b)
      words.push_back(line.substr(b, i - b));
  }
  return words.size() >= 3 && words[0] == "pragma" && (words[1] == "GCC" || words[1] == "clang") &&
         words[2] == "diagnostic";
}

std::string nameOf(const Declaration &d) {
  if (d.names.size() == 1)
    return std::string(*d.names.begin());
  std::string text;
  for (size_t i = 0; i < d.tokens.size() && i < 8; ++i)
    text += (i ? " " : "") + std::string(d.tokens[i]);
  return "'" + text + (d.tokens.size() > 8 ? " ...'" : "'");
}

} // namespace

namespace {

bool digit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

// Each occurrence of `prefix` whose number `locate` finds (the digits'
// [begin, end) in `text`, or begin == end: none) gets `#` for it. One pass
// that copies: a kernel unit's text is megabytes, with thousands of these.
template <typename Locate>
std::string maskNumbersAfter(std::string text, std::string_view prefix, Locate locate) {
  std::string out;
  size_t copied = 0;
  for (size_t at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at)) {
    auto [begin, end] = locate(text, at + prefix.size());
    at += prefix.size();
    if (begin == end)
      continue;
    if (copied == 0)
      out.reserve(text.size());
    out.append(text, copied, begin - copied);
    out += '#';
    copied = at = end;
  }
  if (copied == 0)
    return text;
  out.append(text, copied, std::string::npos);
  return out;
}

} // namespace

std::string maskUniqueIds(std::string text) {
  // The number that ends the identifier.
  auto trailing = [](const std::string &t, size_t from) {
    size_t end = from;
    while (end < t.size() && (std::isalnum(static_cast<unsigned char>(t[end])) || t[end] == '_'))
      ++end;
    size_t begin = end;
    while (begin > from && digit(t[begin - 1]))
      --begin;
    return std::pair<size_t, size_t>(begin, end);
  };
  text = maskNumbersAfter(std::move(text), "__UNIQUE_ID_", trailing);
  text = maskNumbersAfter(std::move(text), "__compiletime_assert_", trailing);
  // initcall ids: __initcall__kmod_<module>__<counter>_<line>_<fn><level>
  // (in the initcall's variable and its asm): the counter.
  return maskNumbersAfter(std::move(text), "__initcall__kmod_", [](const std::string &t, size_t from) {
    size_t begin = t.find("__", from);
    if (begin == std::string::npos)
      return std::pair<size_t, size_t>(0, 0);
    size_t end = begin += 2;
    while (end < t.size() && digit(t[end]))
      ++end;
    return std::pair<size_t, size_t>(begin, end);
  });
}

PreprocessedComparison comparePreprocessed(std::string_view oldText, std::string_view newText) {
  PreprocessedComparison out;
  const std::string oldMasked = maskUniqueIds(std::string(oldText));
  const std::string newMasked = maskUniqueIds(std::string(newText));
  std::vector<std::string_view> oldTokens, newTokens;
  std::vector<Declaration> olds, news;
  if (!declarations(oldMasked, oldTokens, olds) || !declarations(newMasked, newTokens, news)) {
    out.why = "a preprocessed text does not cut into declarations";
    return out;
  }
  // Declarations only one side has.
  std::unordered_map<std::string_view, int> count;
  for (const Declaration &d : olds)
    ++count[d.key];
  std::vector<const Declaration *> changed;
  std::vector<bool> newChanged(news.size(), false);
  for (size_t i = 0; i < news.size(); ++i) {
    auto it = count.find(news[i].key);
    if (it != count.end() && it->second > 0)
      --it->second;
    else
      newChanged[i] = true, changed.push_back(&news[i]);
  }
  {
    std::unordered_map<std::string_view, int> newCount;
    for (const Declaration &d : news)
      ++newCount[d.key];
    for (const Declaration &d : olds) {
      auto it = newCount.find(d.key);
      if (it != newCount.end() && it->second > 0)
        --it->second;
      else
        changed.push_back(&d);
    }
  }
  std::set<std::string_view> touched;
  std::map<std::string_view, std::string> cause; // changed identifier -> the first changed declaration
  for (const Declaration *d : changed) {
    if (d->directive) {
      if (harmlessDirective(*d))
        continue;
      out.why = fmt::format("directive '{}' differs", d->tokens.front());
      return out;
    }
    if (d->emits) {
      out.why = fmt::format("{} differs", nameOf(*d));
      return out;
    }
    for (std::string_view n : d->names)
      if (touched.insert(n).second)
        cause[n] = nameOf(*d);
  }
  // What mentions a changed identifier changes what it declares, to a
  // fixed point, over the new version's declarations.
  std::unordered_map<std::string_view, std::vector<size_t>> mentionedBy;
  for (size_t i = 0; i < news.size(); ++i)
    if (!news[i].directive)
      for (std::string_view m : news[i].mentions)
        mentionedBy[m].push_back(i);
  std::vector<std::string_view> work(touched.begin(), touched.end());
  std::vector<bool> visited(news.size(), false);
  while (!work.empty()) {
    std::string_view name = work.back();
    work.pop_back();
    auto it = mentionedBy.find(name);
    if (it == mentionedBy.end())
      continue;
    for (size_t i : it->second) {
      if (visited[i])
        continue;
      visited[i] = true;
      const Declaration &d = news[i];
      if (d.emits) {
        const std::string &root = cause[name];
        out.why = root == name ? fmt::format("{} uses {}, which changed", nameOf(d), name)
                               : fmt::format("{} uses {}, which changed with {}", nameOf(d),
                                             name, root);
        return out;
      }
      for (std::string_view n : d.names)
        if (touched.insert(n).second) {
          cause[n] = cause[name];
          work.push_back(n);
        }
    }
  }
  out.mayDiffer = false;
  return out;
}

} // namespace dsu
