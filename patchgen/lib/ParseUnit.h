// Parsing a unit in process, with the tokens the preprocessor produced (to
// align the AST with the unit's -E text).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace clang {
class ASTContext;
}

namespace dsu {

struct TokenRecorder;

struct ParseRequest {
  std::vector<std::string> args; // parse arguments (no input)
  std::string cwd;
  std::string source;            // absolute path given to the parser
  std::optional<std::string> content; // replaces the file's contents
};

// Parses a unit and hands its AST (and the recorded tokens) to `use`.
// Errors are the compiler's diagnostics (warnings are ignored).
bool parseUnit(const ParseRequest &req, std::string &diagnostics,
               const std::function<void(clang::ASTContext &, TokenRecorder &)> &use);

} // namespace dsu
