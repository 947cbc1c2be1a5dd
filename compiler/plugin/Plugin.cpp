// The DSU rewrite as a clang plugin (front end #1; dsu-cc is #2).
//
//   clang-19 -fplugin=DsuPlugin.so -fplugin-arg-dsu-out=OUT.c \
//            [-fplugin-arg-dsu-manifest=OUT.json] [-fplugin-arg-dsu-config=POLICY] \
//            [-fplugin-arg-dsu-tu=NAME] [-fplugin-arg-dsu-kernel] -fsyntax-only IN.c
//
// Writes the rewritten main file. Macro-free or preprocessed input is
// rewritten completely; in unpreprocessed input, calls spelled inside macro
// bodies keep going through the stub (dsu-cc rewrites the preprocessed unit,
// where no such calls exist).
#include "Indirection.h"
#include "Manifest.h"
#include "Policy.h"
#include "Hashing.h"

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendPluginRegistry.h>
#include <fmt/format.h>
#include <fstream>

using namespace clang;

namespace {

struct PluginOptions {
  std::string out, manifest, config, tu;
  bool kernel = false;
};

class DsuConsumer : public ASTConsumer {
public:
  DsuConsumer(CompilerInstance &ci, PluginOptions o) : ci_(ci), o_(std::move(o)) {}

  void HandleTranslationUnit(ASTContext &ctx) override {
    DiagnosticsEngine &diags = ci_.getDiagnostics();
    if (diags.hasErrorOccurred())
      return;
    auto report = [&](const std::string &msg) {
      unsigned id = diags.getCustomDiagID(DiagnosticsEngine::Error, "%0");
      diags.Report(id) << msg;
    };
    dsu::Policy policy;
    std::string err;
    if (!o_.config.empty() && !policy.parseFile(o_.config, err))
      return report(err);
    SourceManager &sm = ctx.getSourceManager();
    std::string mainName;
    if (auto entry = sm.getFileEntryRefForID(sm.getMainFileID()))
      mainName = std::string(entry->getName());
    dsu::RewriteOptions opts;
    opts.policy = &policy;
    opts.kernel = o_.kernel;
    opts.tuName = o_.tu.empty() ? mainName : o_.tu;
    opts.unitHash = dsu::sha256Hex(sm.getBufferData(sm.getMainFileID()));
    dsu::PolicyDecision fd = policy.file(mainName);
    if (!fd.instrument) {
      opts.fileExcluded = true;
      opts.fileReason = fd.rule == "built-in" ? dsu::Reason::NeverIndirectable : dsu::Reason::PolicyFile;
      opts.fileDetail = fd.reason;
    }
    dsu::RewriteResult r = dsu::rewriteTranslationUnit(ctx, opts);
    if (!o_.out.empty()) {
      std::ofstream out(o_.out);
      if (r.changed)
        out << r.text;
      else
        out << sm.getBufferData(sm.getMainFileID()).str();
      if (!out)
        return report(fmt::format("cannot write '{}'", o_.out));
    }
    if (!o_.manifest.empty()) {
      dsu::ManifestInfo info;
      info.source = mainName;
      info.status = opts.fileExcluded ? "excluded" : r.changed ? "instrumented" : "unchanged";
      info.statusDetail = opts.fileDetail;
      info.kernel = o_.kernel;
      info.tu = opts.tuName;
      info.unitHash = opts.unitHash;
      if (!dsu::writeJsonFile(o_.manifest, dsu::manifestJson(info, r), err))
        return report(err);
    }
  }

private:
  CompilerInstance &ci_;
  PluginOptions o_;
};

class DsuAction : public PluginASTAction {
protected:
  std::unique_ptr<ASTConsumer> CreateASTConsumer(CompilerInstance &ci, llvm::StringRef) override {
    return std::make_unique<DsuConsumer>(ci, o_);
  }
  bool ParseArgs(const CompilerInstance &ci, const std::vector<std::string> &args) override {
    for (const std::string &a : args) {
      auto value = [&](const char *key) -> const char * {
        size_t n = std::strlen(key);
        return a.compare(0, n, key) == 0 ? a.c_str() + n : nullptr;
      };
      if (const char *v = value("out="))
        o_.out = v;
      else if (const char *v = value("manifest="))
        o_.manifest = v;
      else if (const char *v = value("config="))
        o_.config = v;
      else if (const char *v = value("tu="))
        o_.tu = v;
      else if (a == "kernel")
        o_.kernel = true;
      else {
        DiagnosticsEngine &d = ci.getDiagnostics();
        d.Report(d.getCustomDiagID(DiagnosticsEngine::Error,
                                   "dsu plugin: unknown argument '%0' (expected out=, manifest=, "
                                   "config=, tu= or kernel)"))
            << a;
        return false;
      }
    }
    return true;
  }
  ActionType getActionType() override { return AddBeforeMainAction; }

private:
  PluginOptions o_;
};

} // namespace

static FrontendPluginRegistry::Add<DsuAction> X("dsu", "DSU function indirection rewrite");
