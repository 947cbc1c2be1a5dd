#include "BufferedParse.h"

#include <clang/AST/ASTConsumer.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>

namespace dsu {

bool BufferedParseAction::BeginSourceFileAction(clang::CompilerInstance &ci) {
  auto *printer = new clang::TextDiagnosticPrinter(diagnostics_, &ci.getDiagnosticOpts());
  ci.getDiagnostics().setClient(printer, /*ShouldOwnClient=*/true);
  printer->BeginSourceFile(ci.getLangOpts(), &ci.getPreprocessor());
  if (options_.ignoreWarnings)
    ci.getDiagnostics().setIgnoreAllWarnings(true);
  if (options_.summaryInBuffer)
    ci.setVerboseOutputStream(diagnostics_);
  beginUnit(ci);
  return true;
}

std::unique_ptr<clang::ASTConsumer>
BufferedParseAction::CreateASTConsumer(clang::CompilerInstance &ci, llvm::StringRef) {
  struct Consumer : clang::ASTConsumer {
    BufferedParseAction &action;
    clang::CompilerInstance &ci;
    Consumer(BufferedParseAction &a, clang::CompilerInstance &c) : action(a), ci(c) {}
    void HandleTranslationUnit(clang::ASTContext &ctx) override {
      action.parseEnded();
      if (!ci.getDiagnostics().hasErrorOccurred())
        action.useUnit(ci, ctx);
    }
  };
  return std::make_unique<Consumer>(*this, ci);
}

} // namespace dsu
