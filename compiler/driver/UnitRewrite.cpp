#include "UnitRewrite.h"

#include "Alignment.h"
#include "BufferedParse.h"
#include "DependencyFile.h"
#include "PhaseTimes.h"
#include "RealCompiler.h" // DSU_DEFAULT_CLANG: the clang that parses
#include "Hashing.h"
#include "Indirection.h"

#include <clang/AST/ASTContext.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Lex/PPCallbacks.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Tooling.h>

namespace {

class RewriteAction : public dsu::BufferedParseAction {
public:
  // `ran` is set once the unit is rewritten (the action itself does not
  // outlive its run).
  RewriteAction(const dsu::RewriteOptions &opts, const Preprocess &preprocess, Unit &unit,
                dsu::RewriteResult &out, std::string &diagnostics, std::string &error, bool &ran)
      : BufferedParseAction(diagnostics, Options{}), opts_(opts), preprocess_(preprocess),
        unit_(unit), out_(out), error_(error), ran_(ran) {}

private:
  void beginUnit(clang::CompilerInstance &ci) override {
    printer_ = std::make_unique<dsu::UnitPrinter>(ci.getPreprocessor());
    printer_->install();
    ci.getPreprocessor().setTokenWatcher([this](const clang::Token &tok) {
      (*printer_)(tok);
    });
    // The kernel's __user and __iomem expand to nothing: only their
    // expansions say which struct pointers are user-space ABI or device
    // registers (type wrapping leaves those alone).
    struct Marks : clang::PPCallbacks {
      std::vector<dsu::RewriteOptions::AddressSpaceMark> &marks;
      explicit Marks(std::vector<dsu::RewriteOptions::AddressSpaceMark> &m) : marks(m) {}
      void MacroExpands(const clang::Token &name, const clang::MacroDefinition &,
                        clang::SourceRange range, const clang::MacroArgs *) override {
        if (!name.getIdentifierInfo())
          return;
        llvm::StringRef n = name.getIdentifierInfo()->getName();
        if (n == "__user" || n == "__iomem")
          marks.push_back({range.getBegin(), n == "__iomem"});
      }
    };
    ci.getPreprocessor().addPPCallbacks(std::make_unique<Marks>(marks_));
  }

  void parseEnded() override { phaseTimes.mark("parse"); }

  void useUnit(clang::CompilerInstance &, clang::ASTContext &ctx) override {
    dsu::TokenMap map;
    bool aligned = true;
    unit_.alignedWhy = preprocess_.alwaysWhy.empty() ? printer_->unprintable()
                                                     : preprocess_.alwaysWhy;
    if (unit_.alignedWhy.empty()) {
      printer_->finish(ctx.getSourceManager(), map);
      unit_.text = printer_->text();
      phaseTimes.mark("print");
    } else {
      aligned = preprocess_.run(unit_.text, error_);
      phaseTimes.mark("preprocess");
      aligned = aligned && dsu::alignPreprocessed(ctx.getSourceManager(), ctx.getLangOpts(),
                                                  unit_.text, printer_->recorded(), map, error_);
      phaseTimes.mark("align");
    }
    unit_.hash = dsu::sha256Hex(unit_.text);
    phaseTimes.mark("hash");
    if (!aligned) {
      error_ = "cannot align the parse with the preprocessed unit: " + error_;
      // Still list the unit's functions, each with the failure as reason.
      dsu::RewriteOptions listOnly = opts_;
      listOnly.fileExcluded = true;
      listOnly.fileReason = dsu::Reason::RewriteFailed;
      listOnly.fileDetail = error_;
      out_ = dsu::rewriteTranslationUnit(ctx, listOnly);
      return;
    }
    dsu::RewriteOptions opts = opts_;
    opts.unitHash = unit_.hash;
    opts.preprocessed = &map;
    opts.addressSpaceMarks = &marks_;
    out_ = dsu::rewriteTranslationUnit(ctx, opts);
    phaseTimes.mark("rewrite");
    ran_ = true;
  }

  const dsu::RewriteOptions &opts_;
  const Preprocess &preprocess_;
  Unit &unit_;
  dsu::RewriteResult &out_;
  std::string &error_;
  std::unique_ptr<dsu::UnitPrinter> printer_;
  std::vector<dsu::RewriteOptions::AddressSpaceMark> marks_;
  bool &ran_;
};

} // namespace

ParseOutcome rewriteUnit(const dsu::CompileJob &job, bool writeDeps, const Preprocess &preprocess,
                         const dsu::RewriteOptions &opts, Unit &unit, dsu::RewriteResult &result,
                         std::string &diagnostics, std::string &error) {
  std::vector<std::string> cmd = {DSU_DEFAULT_CLANG};
  cmd.insert(cmd.end(), job.parseArgs.begin(), job.parseArgs.end());
  if (writeDeps)
    cmd.insert(cmd.end(), job.dependencyArgs.begin(), job.dependencyArgs.end());
  cmd.push_back("-fsyntax-only");
  cmd.push_back(job.source);
  auto files = llvm::makeIntrusiveRefCnt<clang::FileManager>(clang::FileSystemOptions());
  bool ran = false;
  RenamedDependencyFile action(std::make_unique<RewriteAction>(opts, preprocess, unit, result,
                                                               diagnostics, error, ran));
  clang::IgnoringDiagConsumer driverDiags; // the -E run already vetted the command line
  clang::tooling::ToolInvocation inv(cmd, &action, files.get(),
                                     std::make_shared<clang::PCHContainerOperations>());
  inv.setDiagnosticConsumer(&driverDiags);
  bool ok = inv.run();
  phaseTimes.mark("parse teardown");
  if (ran)
    return ParseOutcome::Rewritten;
  if (!error.empty())
    return ParseOutcome::Failed;
  if (!ok || diagnostics.find("error:") != std::string::npos)
    return ParseOutcome::SourceErrors;
  error = "the in-process parse did not complete";
  return ParseOutcome::Failed;
}
