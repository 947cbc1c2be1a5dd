#include "Policy.h"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace dsu {

bool globMatch(std::string_view p, std::string_view t) {
  // Iterative matcher with backtracking for the last '*' and '**'.
  size_t pi = 0, ti = 0;
  size_t starP = std::string_view::npos, starT = 0;
  bool starCrossesSlash = false;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      bool dbl = pi + 1 < p.size() && p[pi + 1] == '*';
      starCrossesSlash = dbl;
      pi += dbl ? 2 : 1;
      // "**/" also matches zero directories.
      if (dbl && pi < p.size() && p[pi] == '/' && globMatch(p.substr(pi + 1), t.substr(ti)))
        return true;
      starP = pi;
      starT = ti;
      continue;
    }
    if (pi < p.size() && (p[pi] == '?' ? t[ti] != '/' : p[pi] == t[ti])) {
      ++pi;
      ++ti;
      continue;
    }
    if (starP != std::string_view::npos && (starCrossesSlash || t[starT] != '/')) {
      pi = starP;
      ti = ++starT;
      continue;
    }
    return false;
  }
  while (pi < p.size() && p[pi] == '*')
    ++pi;
  return pi == p.size();
}

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits off the next whitespace-separated word; returns its column (1-based).
static std::string_view nextWord(std::string_view &rest, const std::string_view line, size_t &col) {
  size_t i = 0;
  while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t'))
    ++i;
  size_t j = i;
  while (j < rest.size() && rest[j] != ' ' && rest[j] != '\t')
    ++j;
  col = size_t(rest.data() + i - line.data()) + 1;
  std::string_view w = rest.substr(i, j - i);
  rest.remove_prefix(j);
  return w;
}

bool Policy::parse(std::string_view text, std::string_view name, std::string &error) {
  size_t lineNo = 0;
  while (!text.empty()) {
    ++lineNo;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view content = line.substr(0, line.find('#'));
    if (trim(content).empty())
      continue;
    std::string_view rest = content;
    size_t col = 1;
    auto fail = [&](size_t c, const std::string &msg) {
      error = fmt::format("{}:{}:{}: error: {}", name, lineNo, c, msg);
      return false;
    };
    std::string_view action = nextWord(rest, line, col);
    if (action != "include" && action != "exclude")
      return fail(col, fmt::format("unknown action '{}' (expected 'include' or 'exclude')", action));
    std::string_view kindWord = nextWord(rest, line, col);
    Kind kind;
    if (kindWord == "file")
      kind = Kind::File;
    else if (kindWord == "function")
      kind = Kind::Function;
    else if (kindWord == "type")
      kind = Kind::Type;
    else
      return fail(col, fmt::format("unknown kind '{}' (expected 'file', 'function' or 'type')",
                                   kindWord));
    std::string_view glob = nextWord(rest, line, col);
    if (glob.empty())
      return fail(col, "missing glob");
    Rule r{action == "include", kind, std::string(glob), std::string(trim(rest)),
           fmt::format("{}:{}", name, lineNo)};
    rules_.push_back(std::move(r));
  }
  return true;
}

bool Policy::parseFile(const std::string &path, std::string &error) {
  std::ifstream in(path);
  if (!in) {
    error = fmt::format("{}: error: cannot read policy file", path);
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path, error);
}

std::string Policy::normalizePath(std::string_view path, std::string_view cwd) {
  std::string p(path);
  if (!cwd.empty() && !p.empty() && p[0] == '/') {
    std::string c(cwd);
    if (c.back() != '/')
      c += '/';
    if (p.compare(0, c.size(), c) == 0)
      p = p.substr(c.size());
  }
  // Drop empty and "." components.
  std::string out;
  size_t i = 0;
  const bool absolute = !p.empty() && p[0] == '/';
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos)
      j = p.size();
    std::string comp = p.substr(i, j - i);
    if (!comp.empty() && comp != ".") {
      if (!out.empty() || absolute)
        out += '/';
      out += comp;
    }
    i = j + 1;
  }
  return out;
}

PolicyDecision Policy::decide(Kind kind, std::string_view subject) const {
  const Rule *last = nullptr;
  bool anyInclude = false;
  for (const Rule &r : rules_) {
    if (r.kind != kind)
      continue;
    anyInclude |= r.include;
    if (globMatch(r.glob, subject))
      last = &r;
  }
  PolicyDecision d;
  if (last) {
    d.instrument = last->include;
    d.rule = last->origin;
    if (!d.instrument)
      d.reason = last->reason.empty() ? fmt::format("excluded by rule '{}'", last->glob) : last->reason;
    return d;
  }
  d.instrument = !anyInclude;
  if (!d.instrument)
    d.reason = "not selected by any include rule";
  return d;
}

const std::vector<BuiltinExclusion> &builtinExclusions() {
  static const std::vector<BuiltinExclusion> list = {
      {"arch/*/entry/vdso/**", "vdso: runs in user space"},
      {"arch/*/kernel/vsyscall/**", "vdso: runs in user space"},
      {"lib/vdso/**", "vdso: runs in user space"},
      {"arch/*/boot/**", "boot code: runs before the kernel proper (decompressor, setup)"},
      {"arch/*/realmode/**", "real-mode code: runs in 16-bit mode or from a trampoline"},
      {"drivers/firmware/efi/libstub/**", "EFI stub: runs as an EFI application before the kernel"},
      {"arch/*/purgatory/**", "purgatory: runs between kernels during kexec"},
      {"arch/x86/kernel/head64.c", "early startup: runs before the kernel's mappings"},
      {"arch/x86/kernel/head32.c", "early startup: runs before the kernel's mappings"},
      {"arch/x86/mm/mem_encrypt_identity.c", "early startup: runs identity-mapped"},
      {"arch/x86/coco/**", "early startup: runs before the kernel's mappings (SEV/TDX)"},
      {"arch/x86/platform/pvh/**", "early startup: PVH entry runs before the kernel's mappings"},
      {"kernel/dsu/**", "the DSU runtime itself: it rewrites the pointers and walks the stacks"},
  };
  return list;
}

std::optional<PolicyDecision> builtinFileExclusion(std::string_view path) {
  // Try the whole path and every suffix that starts a component.
  for (size_t start = 0; start != std::string_view::npos;) {
    std::string_view tail = path.substr(start);
    for (const auto &e : builtinExclusions())
      if (globMatch(e.glob, tail))
        return PolicyDecision{false, e.reason, "built-in"};
    size_t slash = path.find('/', start);
    start = slash == std::string_view::npos ? slash : slash + 1;
  }
  return std::nullopt;
}

bool Policy::hasIncludeRules(Kind kind) const {
  for (const Rule &r : rules_)
    if (r.include && r.kind == kind)
      return true;
  return false;
}

PolicyDecision Policy::file(std::string_view path, std::string_view cwd) const {
  std::string norm = normalizePath(path, cwd);
  if (auto b = builtinFileExclusion(norm))
    return *b;
  return decide(Kind::File, norm);
}

PolicyDecision Policy::function(std::string_view name) const { return decide(Kind::Function, name); }
PolicyDecision Policy::type(std::string_view name) const { return decide(Kind::Type, name); }

} // namespace dsu
