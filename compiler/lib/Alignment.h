// Aligning the parser's token stream with the real compiler's -E output.
//
// dsu-cc parses the original source (so diagnostics are exactly the
// compiler's, with macro context) while recording every token the parser
// receives (clang's token watcher). The preprocessed text from the real
// compiler holds the same tokens in the same order, between line markers and
// #pragma lines. Pairing them gives every AST token location an offset in
// the preprocessed text, which is what the rewrite edits: calls and
// definitions written inside macros are ordinary text there.
#pragma once

#include <clang/Basic/SourceLocation.h>
#include <llvm/ADT/DenseMap.h>
#include <llvm/ADT/StringRef.h>

#include <string>
#include <vector>

namespace clang {
class LangOptions;
class SourceManager;
class Token;
} // namespace clang

namespace dsu {

// Records the expanded token stream; install with Preprocessor::setTokenWatcher.
struct TokenRecorder {
  struct Entry {
    clang::SourceLocation loc;
    unsigned length;
    bool needsCleaning;
  };
  std::vector<Entry> tokens;
  void operator()(const clang::Token &tok);
};

// Maps AST token locations to locations in a FileID holding the
// preprocessed text (created in the same SourceManager).
struct TokenMap {
  clang::FileID file;
  llvm::DenseMap<clang::SourceLocation::UIntTy, unsigned> offsets;
  clang::SourceLocation lookup(const clang::SourceManager &sm, clang::SourceLocation astLoc) const;
};

// False, with `error` naming the first mismatch, when the streams differ.
bool alignPreprocessed(clang::SourceManager &sm, const clang::LangOptions &lo,
                       llvm::StringRef preprocessed, const TokenRecorder &recorded,
                       TokenMap &out, std::string &error);

} // namespace dsu
