// Splitting DSU_REAL_CC into words; shared by the launcher (no LLVM) and the core.
#include "Argv.h"

#include <cstdlib>

namespace dsu {

std::vector<std::string> splitCommandWords(const std::string &s) {
  std::vector<std::string> words;
  std::string cur;
  bool have = false;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && i + 1 < s.size())
        cur += s[++i];
      else
        cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      have = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      have = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (have)
        words.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have)
    words.push_back(cur);
  return words;
}

std::vector<std::string> realCompilerWords() {
  const char *env = std::getenv("DSU_REAL_CC");
  std::vector<std::string> words = splitCommandWords(env && *env ? env : "clang-19");
  if (words.empty())
    words.push_back("clang-19");
  return words;
}

} // namespace dsu
