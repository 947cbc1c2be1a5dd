// The preprocessed text dsu-cc rewrites, and where each parsed token is in it.
//
// Usually the text is printed from the parse itself (UnitPrinter): the
// tokens the parser receives, in order, with line markers, as `clang -E`
// would print them. A unit whose meaning is not all in its tokens (a
// #pragma, _Pragma or #ident; an annotation token such as #embed) takes the
// other way, alignment:
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

#include <clang/Lex/Token.h>

#include <string>
#include <vector>

namespace clang {
class LangOptions;
class Preprocessor;
class SourceManager;
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

// Prints the unit's token stream as preprocessed text while it is parsed;
// install with UnitPrinter::install before the parse starts. Line markers
// keep every token on its presumed line (diagnostics and debug info point at
// the original files), first tokens of a line keep their column, tokens
// that could join stay apart.
class UnitPrinter {
public:
  explicit UnitPrinter(clang::Preprocessor &pp);
  ~UnitPrinter();
  // Adds the callbacks that notice what tokens cannot carry; the caller sets
  // the token watcher, which calls operator().
  void install();
  void operator()(const clang::Token &tok);
  // Empty while the printed text is the whole unit; otherwise why it is not
  // ("a #pragma at include/linux/foo.h:12").
  const std::string &unprintable() const { return unprintable_; }
  const std::string &text() const { return text_; }
  // True for a pragma at `loc` that leaves nothing for the compile to see.
  bool preprocessorOnlyPragma(clang::SourceLocation loc) const;
  // Ends the text, adds it to the SourceManager as a file and maps every
  // printed token's location to its offset there.
  void finish(clang::SourceManager &sm, TokenMap &out);
  // The token stream as a TokenRecorder sees it (for alignment with -E).
  TokenRecorder recorded() const;

private:
  void start();
  void setUnprintable(const char *what, clang::SourceLocation loc);
  void moveToLine(clang::SourceLocation loc, bool hasLeadingSpace, bool isHash);

  clang::Preprocessor &pp_;
  clang::SourceManager &sm_;
  std::string text_;
  std::string unprintable_;
  struct Printed {
    clang::SourceLocation loc;
    unsigned offset;      // in text_
    unsigned length : 31; // as lexed
    unsigned needsCleaning : 1;
  };
  std::vector<Printed> printed_;
  std::string file_;   // presumed file of the current output line
  unsigned line_ = 0;  // presumed line of the current output line
  bool lineHasTokens_ = false;
  clang::Token prev_;
};

// False, with `error` naming the first mismatch, when the streams differ.
bool alignPreprocessed(clang::SourceManager &sm, const clang::LangOptions &lo,
                       llvm::StringRef preprocessed, const TokenRecorder &recorded,
                       TokenMap &out, std::string &error);

} // namespace dsu
