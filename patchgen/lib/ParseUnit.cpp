// Parsing a unit in process (clang's tooling, over an overlay file system
// when the unit's text comes from elsewhere).
#include "ParseUnit.h"

#include "Alignment.h"
#include "BufferedParse.h"

#include <clang/AST/ASTContext.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/VirtualFileSystem.h>

#ifndef DSU_DEFAULT_CLANG
#define DSU_DEFAULT_CLANG "/usr/lib/llvm-19/bin/clang"
#endif

namespace dsu {

namespace {

using UseAST = std::function<void(clang::ASTContext &, TokenRecorder &)>;

// Errors only, kept for the caller's own message; the tokens recorded as
// the preprocessor lexes them.
class ParseAction : public BufferedParseAction {
public:
  ParseAction(const UseAST &use, std::string &diagnostics)
      : BufferedParseAction(diagnostics, Options{/*ignoreWarnings=*/true,
                                                 /*summaryInBuffer=*/false}),
        use_(use) {}

private:
  void beginUnit(clang::CompilerInstance &ci) override {
    ci.getPreprocessor().setTokenWatcher([this](const clang::Token &t) { recorder_(t); });
  }
  void useUnit(clang::CompilerInstance &, clang::ASTContext &ctx) override {
    use_(ctx, recorder_);
  }

  const UseAST &use_;
  TokenRecorder recorder_;
};

} // namespace

bool parseUnit(const ParseRequest &req, std::string &diagnostics, const UseAST &use) {
  std::vector<std::string> cmd = {DSU_DEFAULT_CLANG};
  cmd.insert(cmd.end(), req.args.begin(), req.args.end());
  cmd.push_back("-fsyntax-only");
  cmd.push_back(req.source);
  clang::FileSystemOptions fso;
  fso.WorkingDir = req.cwd;
  // The unit's text may come from elsewhere (a previous patch's copy): an
  // in-memory file over the real file system, at the path includes expect.
  auto overlay = llvm::makeIntrusiveRefCnt<llvm::vfs::OverlayFileSystem>(llvm::vfs::getRealFileSystem());
  if (req.content) {
    auto mem = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
    mem->addFile(req.source, 0, llvm::MemoryBuffer::getMemBufferCopy(*req.content, req.source));
    overlay->pushOverlay(mem);
  }
  auto files = llvm::makeIntrusiveRefCnt<clang::FileManager>(fso, overlay);
  clang::IgnoringDiagConsumer driverDiags;
  clang::tooling::ToolInvocation inv(cmd, std::make_unique<ParseAction>(use, diagnostics),
                                     files.get());
  inv.setDiagnosticConsumer(&driverDiags);
  bool ok = inv.run();
  return ok && diagnostics.find("error:") == std::string::npos;
}

} // namespace dsu
