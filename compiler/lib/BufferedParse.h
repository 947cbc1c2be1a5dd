// An in-process parse whose diagnostics are kept in a string instead of
// printed: the caller decides whether they are shown (dsu-cc shows a
// parse's warnings only when the unit is rewritten; dsu-patchgen shows
// them with its own error). The subclass sees the preprocessor before the
// parse and the AST after it.
#pragma once
#include <clang/Frontend/FrontendAction.h>
#include <llvm/Support/raw_ostream.h>

#include <memory>
#include <string>

namespace dsu {

class BufferedParseAction : public clang::ASTFrontendAction {
public:
  struct Options {
    bool ignoreWarnings = false; // only errors are kept
    // "N warnings generated." goes into the buffer after the diagnostics it
    // counts; false leaves it on clang's verbose stream (stderr).
    bool summaryInBuffer = true;
  };

  BufferedParseAction(std::string &diagnostics, Options options)
      : diagnostics_(diagnostics), options_(options) {}

protected:
  // Before the parse, with the preprocessor made (token watchers, callbacks).
  virtual void beginUnit(clang::CompilerInstance &ci) {}
  // The parse is over, with or without errors.
  virtual void parseEnded() {}
  // The parsed unit, only when it has no errors.
  virtual void useUnit(clang::CompilerInstance &ci, clang::ASTContext &ctx) = 0;

private:
  bool BeginSourceFileAction(clang::CompilerInstance &ci) final;
  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance &ci,
                                                        llvm::StringRef file) final;

  llvm::raw_string_ostream diagnostics_;
  Options options_;
};

} // namespace dsu
