// The one header change a patch can carry: fields added to shadowed structs.
#include "HeaderChange.h"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>

#include <regex>
#include <vector>

namespace dsu {

std::string shadowOnlyHeaderChange(const std::string &oldText, const std::string &newText,
                                   const std::set<std::string> &shadowed) {
  auto lines = [](const std::string &t) {
    std::vector<std::string> v;
    std::string cur;
    for (char c : t) {
      if (c == '\n') {
        v.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty())
      v.push_back(cur);
    return v;
  };
  std::vector<std::string> o = lines(oldText), n = lines(newText);
  // Old lines must appear in order in the new text; what is left was added.
  size_t i = 0;
  std::vector<bool> added(n.size(), false);
  for (size_t j = 0; j < n.size(); ++j) {
    if (i < o.size() && n[j] == o[i])
      ++i;
    else
      added[j] = true;
  }
  if (i != o.size())
    return fmt::format("{}: a line was removed or changed (only added fields of shadowed "
                       "structs can be carried)", i + 1);
  // Which struct body each new line is in (by brace depth from `struct T {`).
  std::string in;
  int depth = 0;
  static const std::regex open(R"(^\s*struct\s+([A-Za-z_][A-Za-z0-9_]*)\s*\{)");
  for (size_t j = 0; j < n.size(); ++j) {
    std::smatch m;
    if (in.empty() && std::regex_search(n[j], m, open)) {
      in = m[1].str();
      depth = 0;
    }
    bool inside = !in.empty() && depth > 0;
    for (char c : n[j]) {
      if (c == '{')
        ++depth;
      else if (c == '}')
        --depth;
    }
    if (added[j]) {
      // Without comments (one-line ones; a comment block is all comment).
      std::string code = n[j];
      for (size_t c; (c = code.find("/*")) != std::string::npos;) {
        size_t e = code.find("*/", c + 2);
        code.erase(c, e == std::string::npos ? std::string::npos : e + 2 - c);
      }
      if (size_t c = code.find("//"); c != std::string::npos)
        code.erase(c);
      llvm::StringRef line = llvm::StringRef(code).trim();
      if (line.empty() || line.starts_with("*"))
        continue;
      if (!inside || !shadowed.count(in))
        return fmt::format("{}: an added line outside the body of a shadowed struct", j + 1);
      if (!line.ends_with(";") || line.contains('{') || line.starts_with("#"))
        return fmt::format("{}: an added line that is not a field declaration", j + 1);
    }
    if (!in.empty() && depth <= 0 && n[j].find('}') != std::string::npos)
      in.clear();
  }
  return "";
}

} // namespace dsu
