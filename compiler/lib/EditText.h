// The text the rewrite edits, shared by its passes: the main file (plugin)
// or the real compiler's -E output (dsu-cc), where AST token locations map to
// through `edit`.
#pragma once

#include <clang/Basic/SourceLocation.h>
#include <llvm/ADT/StringRef.h>

#include <functional>

namespace clang {
class Rewriter;
}

namespace dsu {

struct EditText {
  clang::Rewriter &rw;
  clang::FileID file;     // holds `buffer`
  llvm::StringRef buffer; // the text before any edit
  // Location in `buffer` of an AST token location; invalid when the token is
  // not there as such (a macro body in the plugin's unpreprocessed input).
  std::function<clang::SourceLocation(clang::SourceLocation)> edit;
};

} // namespace dsu
