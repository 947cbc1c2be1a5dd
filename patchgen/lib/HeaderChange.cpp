// Changed headers: which units of the base include them.
#include "HeaderChange.h"

#include "BaseTree.h"
#include "Files.h"
#include "Subprocess.h"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>

#include <filesystem>
#include <regex>

namespace fs = std::filesystem;

namespace dsu {

namespace {

// The prerequisites of the first rule of a make fragment starting at `at`
// (after its `target:`), over continued lines.
std::vector<std::string> rulePrerequisites(const std::string &text, size_t at) {
  std::vector<std::string> out;
  std::string word;
  auto flush = [&] {
    if (!word.empty())
      out.push_back(word);
    word.clear();
  };
  for (size_t i = at; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      flush();
      ++i;
      continue;
    }
    if (c == '\\' && i + 1 < text.size() && text[i + 1] == ' ') { // an escaped space
      word += ' ';
      ++i;
      continue;
    }
    if (c == '\n')
      break;
    if (c == ' ' || c == '\t' || c == '\r')
      flush();
    else
      word += c;
  }
  flush();
  return out;
}

// kbuild's command file: `deps_<obj> := \` and one file per line; entries
// `$(wildcard include/config/X)` are configuration options, not files.
std::vector<std::string> kbuildDependencies(const std::string &text) {
  std::vector<std::string> out;
  size_t deps = text.find("\ndeps_");
  if (deps == std::string::npos)
    return out;
  size_t assign = text.find(":=", deps);
  if (assign == std::string::npos)
    return out;
  bool inWildcard = false;
  for (const std::string &w : rulePrerequisites(text, assign + 2)) {
    if (llvm::StringRef(w).starts_with("$(wildcard")) {
      inWildcard = w.find(')') == std::string::npos;
      continue;
    }
    if (inWildcard) {
      inWildcard = w.find(')') == std::string::npos;
      continue;
    }
    out.push_back(w);
  }
  return out;
}

// A make-style depfile (clang -MD): `target: prerequisites`.
std::vector<std::string> depfileDependencies(const std::string &text) {
  // The target may be a Windows-free path: the first ": " or ":\n" ends it.
  size_t colon = text.find(':');
  while (colon != std::string::npos && colon + 1 < text.size() && text[colon + 1] != ' ' &&
         text[colon + 1] != '\n' && text[colon + 1] != '\\')
    colon = text.find(':', colon + 1);
  if (colon == std::string::npos)
    return {};
  return rulePrerequisites(text, colon + 1);
}

} // namespace

std::optional<std::vector<std::string>> recordedDependencies(const std::string &object) {
  const fs::path obj(object);
  const fs::path cmd = obj.parent_path() / ("." + obj.filename().string() + ".cmd");
  if (auto text = readFile(cmd.string()); text && text->find("\ndeps_") != std::string::npos)
    return kbuildDependencies(*text);
  for (const fs::path &d : {fs::path(object + ".d"), fs::path(obj).replace_extension(".d")})
    if (auto text = readFile(d.string()))
      return depfileDependencies(*text);
  return std::nullopt;
}

std::optional<std::vector<std::string>> preprocessorDependencies(const Manifest &m,
                                                                 const std::string &scratch,
                                                                 std::string &error) {
  CompileJob job = classifyIn(m.cwd, m.arguments);
  if (!job.instrument) {
    error = "its recorded command line cannot be reused (" + job.passthroughWhy + ")";
    return std::nullopt;
  }
  std::vector<std::string> argv = recordedCompiler(m);
  argv.insert(argv.end(), job.preprocessOnlyArgs.begin(), job.preprocessOnlyArgs.end());
  argv.push_back("-M");
  SubprocessOptions run;
  run.cwd = m.cwd;
  run.stdoutPath = scratch;
  run.stderrPath = scratch + ".err";
  const bool ok = runSubprocess(argv, run).status() == 0;
  std::optional<std::string> text = readFile(scratch);
  std::optional<std::string> diagnostics = readFile(scratch + ".err");
  fs::remove(scratch);
  fs::remove(scratch + ".err");
  if (!ok || !text) {
    error = "its preprocessor failed: " + diagnostics.value_or("");
    return std::nullopt;
  }
  return depfileDependencies(*text);
}

namespace {
std::set<std::string> fileNames(const std::set<std::string> &paths) {
  std::set<std::string> names;
  for (const std::string &p : paths)
    names.insert(fs::path(p).filename().string());
  return names;
}
} // namespace

bool namesAnyFileOf(const std::vector<std::string> &dependencies,
                    const std::set<std::string> &headers) {
  const std::set<std::string> names = fileNames(headers);
  for (const std::string &d : dependencies)
    if (names.count(fs::path(d).filename().string()))
      return true;
  return false;
}

std::set<std::string> includedHeaders(const std::vector<std::string> &dependencies,
                                      const std::string &cwd,
                                      const std::set<std::string> &headers) {
  const std::set<std::string> names = fileNames(headers);
  std::set<std::string> out;
  for (const std::string &d : dependencies) {
    fs::path p(d);
    if (!names.count(p.filename().string()))
      continue; // no path work for the others
    std::error_code ec;
    fs::path abs = fs::weakly_canonical(p.is_absolute() ? p : fs::path(cwd) / p, ec);
    if (!ec && headers.count(abs.string()))
      out.insert(abs.string());
  }
  return out;
}

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
