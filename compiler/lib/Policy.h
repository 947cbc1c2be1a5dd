// Instrumentation policy: which files, functions and types dsu-cc instruments.
//
// DSU_CONFIG names a text file of rules, one per line (docs/policy.md):
//   include|exclude  file|function|type  GLOB  [reason text]
// For each kind the last matching rule wins. A kind with at least one
// `include` rule instruments only what an include rule selects; a kind with
// none instruments everything not excluded. Built-in rules for code that can
// never be indirected (vdso, boot, real-mode, EFI stub, purgatory, early
// startup) come first and cannot be overridden.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dsu {

// '*' matches within one path component, '**' across components, '?' one char.
bool globMatch(std::string_view pattern, std::string_view text);

struct PolicyDecision {
  bool instrument = true;
  std::string reason; // why not, when !instrument
  std::string rule;   // "FILE:LINE" of the deciding rule, "built-in", or ""
};

class Policy {
public:
  enum class Kind { File, Function, Type };

  // Appends the rules in `text`; on a malformed line returns false and sets
  // `error` to "NAME:LINE:COL: error: ...".
  bool parse(std::string_view text, std::string_view name, std::string &error);
  bool parseFile(const std::string &path, std::string &error);

  // `path` is the source path as given to the compiler; relative paths are
  // taken relative to `cwd`.
  PolicyDecision file(std::string_view path, std::string_view cwd = "") const;
  PolicyDecision function(std::string_view name) const;
  // Types are matched by tag or typedef name, without "struct"/"union".
  PolicyDecision type(std::string_view name) const;

  // Whether some rule includes items of this kind (then only those are).
  bool hasIncludeRules(Kind kind) const;

  // Path relative to cwd when it lies below it, without "./" prefixes.
  static std::string normalizePath(std::string_view path, std::string_view cwd);

private:
  struct Rule {
    bool include;
    Kind kind;
    std::string glob;
    std::string reason;
    std::string origin;
  };
  PolicyDecision decide(Kind kind, std::string_view subject) const;
  std::vector<Rule> rules_;
};

// Code that can never be indirected, with the reason; matched against any
// trailing part of the path so that out-of-tree (O=) builds are covered too.
struct BuiltinExclusion {
  const char *glob;
  const char *reason;
};
const std::vector<BuiltinExclusion> &builtinExclusions();
std::optional<PolicyDecision> builtinFileExclusion(std::string_view normalizedPath);

} // namespace dsu
