// dsu-cc: a drop-in C compiler that makes functions updateable.
//
//   DSU_REAL_CC   the real compiler, possibly several words (default clang-19)
//   DSU_CONFIG    policy file (docs/policy.md); default: instrument everything
//                 that can be, minus the built-in exclusions
//   DSU_STRICT=1  a failed rewrite is an error instead of a warning
//   DSU_KEEP_TEMPS=1  keep <object>.dsu.i (preprocessed),
//                 <object>.dsu.rw.i (rewritten) and <object>.dsu.err next
//                 to the object
//   DSU_TIME=1    print the wall time of each phase to stderr
//
// "Compile one C file to an object" is instrumented: the source is parsed
// in process (writing the dependency file) and its tokens printed as the
// preprocessed unit (or, for a unit with a pragma, or when DSU_REAL_CC is
// another compiler, paired with the real compiler's -E), the unit is
// rewritten, and the real compiler compiles the rewritten unit; a manifest
// <object>.dsu.json is written beside the object. Every other invocation is
// exec'd unchanged.
//
// No file is opened for writing by a name someone else could have chosen
// first (a symlink planted in a shared directory would have a root build
// overwrite its target): temporaries are created exclusively under unique
// names, and what is kept (the manifest, the dependency file, DSU_KEEP_TEMPS'
// files) is written to such a temporary beside it and renamed into place.

#include "Alignment.h"
#include "Argv.h"
#include "Indirection.h"
#include "Manifest.h"
#include "Policy.h"

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendAction.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Lex/PPCallbacks.h>
#include <clang/Lex/Preprocessor.h>
#include <clang/Tooling/Tooling.h>
#include <fmt/format.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/SHA256.h>
#include <llvm/Support/Signals.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/ADT/StringExtras.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DSU_RUNTIME_INCLUDE
#define DSU_RUNTIME_INCLUDE ""
#endif

#ifndef DSU_DEFAULT_CLANG
#define DSU_DEFAULT_CLANG "/usr/lib/llvm-19/bin/clang"
#endif

namespace {

// DSU_TIME=1: wall time per phase, printed as one line when dsu-cc-core
// exits (the build-overhead benchmark's breakdown comes from here).
class PhaseTimes {
public:
  using Clock = std::chrono::steady_clock;
  // Charges the time since the previous mark to `phase`.
  void mark(const char *phase) {
    Clock::time_point now = Clock::now();
    double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    for (auto &entry : phases_)
      if (entry.first == phase) {
        entry.second += s;
        return;
      }
    phases_.emplace_back(phase, s);
  }
  ~PhaseTimes() {
    const char *v = std::getenv("DSU_TIME");
    if (!v || !*v || !std::strcmp(v, "0"))
      return;
    std::string line = "dsu-cc: time:";
    double total = 0;
    for (const auto &[phase, s] : phases_) {
      line += fmt::format(" {} {:.3f} s,", phase, s);
      total += s;
    }
    fmt::print(stderr, "{} total {:.3f} s\n", line, total);
  }

private:
  Clock::time_point last_ = Clock::now();
  std::vector<std::pair<std::string, double>> phases_;
};

PhaseTimes phaseTimes;

std::vector<std::string> realCompiler() {
  const char *env = std::getenv("DSU_REAL_CC");
  std::vector<std::string> words = dsu::splitCommandWords(env && *env ? env : "clang-19");
  if (words.empty())
    words.push_back("clang-19");
  return words;
}

bool envFlag(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

[[noreturn]] void execReal(const std::vector<std::string> &cc, const std::vector<std::string> &args) {
  std::vector<char *> argv;
  for (const std::string &s : cc)
    argv.push_back(const_cast<char *>(s.c_str()));
  for (const std::string &s : args)
    argv.push_back(const_cast<char *>(s.c_str()));
  argv.push_back(nullptr);
  execvp(argv[0], argv.data());
  fmt::print(stderr, "dsu-cc: error: cannot run '{}': {}\n", cc[0], std::strerror(errno));
  std::exit(127);
}

// Runs the real compiler; stderr goes to `errFile` when given. Returns the
// exit status (127 when it cannot be started).
int runReal(const std::vector<std::string> &cc, const std::vector<std::string> &args,
            const std::string &errFile = "") {
  std::string program = cc[0];
  if (program.find('/') == std::string::npos) {
    auto found = llvm::sys::findProgramByName(program);
    if (!found) {
      fmt::print(stderr, "dsu-cc: error: cannot find '{}' in PATH\n", program);
      return 127;
    }
    program = *found;
  }
  std::vector<llvm::StringRef> argv;
  for (const std::string &s : cc)
    argv.push_back(s);
  for (const std::string &s : args)
    argv.push_back(s);
  std::optional<llvm::StringRef> redirects[3] = {std::nullopt, std::nullopt, std::nullopt};
  if (!errFile.empty()) {
    // The redirect does not truncate: empty the file, which is ours (made
    // by Temps). Removing it instead would free its name for anyone to
    // take before the redirect opens it.
    if (::truncate(errFile.c_str(), 0) != 0) {
      fmt::print(stderr, "dsu-cc: error: {}: {}\n", errFile, std::strerror(errno));
      return 127;
    }
    redirects[2] = llvm::StringRef(errFile);
  }
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(program, argv, std::nullopt, redirects, 0, 0, &err);
  if (rc < 0) {
    fmt::print(stderr, "dsu-cc: error: running '{}': {}\n", program, err);
    return 127;
  }
  return rc;
}

// Whether the real compiler is the clang dsu-cc parses with (through a
// launcher such as ccache, with no options of its own): then the parse's
// token stream is exactly what its -E would print.
bool isParserClang(const std::vector<std::string> &cc) {
  auto resolve = [](std::string program) -> std::string {
    if (program.find('/') == std::string::npos) {
      auto found = llvm::sys::findProgramByName(program);
      if (!found)
        return "";
      program = *found;
    }
    llvm::SmallString<256> real;
    if (llvm::sys::fs::real_path(program, real))
      return "";
    return std::string(real);
  };
  for (const std::string &word : cc)
    if (!word.empty() && word[0] == '-')
      return false;
  const std::string parser = resolve(DSU_DEFAULT_CLANG);
  return !parser.empty() && resolve(cc.back()) == parser;
}

// Compiles with the clang dsu-cc parses with, in this process: when that is
// the real compiler (DSU_REAL_CC is exactly it), this saves loading clang's
// libraries a second time per unit. Diagnostics go to `errFile`. -1 when
// the compile could not be run here (the caller runs the real compiler).
int compileInProcess(const std::vector<std::string> &args, const std::string &errFile) {
  static const bool targetsReady = [] {
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
    return true;
  }();
  (void)targetsReady;
  std::vector<std::string> cmd = {DSU_DEFAULT_CLANG};
  cmd.insert(cmd.end(), args.begin(), args.end());
  std::string diagnostics;
  llvm::raw_string_ostream os(diagnostics);
  auto diagOpts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
  diagOpts->ShowPresumedLoc = true; // the original files, as clang says them
  clang::TextDiagnosticPrinter printer(os, diagOpts.get());
  // "N errors generated." goes with the errors, not to this stderr.
  struct Compile : clang::EmitObjAction {
    llvm::raw_ostream &verbose;
    explicit Compile(llvm::raw_ostream &v) : verbose(v) {}
    bool BeginSourceFileAction(clang::CompilerInstance &ci) override {
      ci.setVerboseOutputStream(verbose);
      return clang::EmitObjAction::BeginSourceFileAction(ci);
    }
  };
  auto files = llvm::makeIntrusiveRefCnt<clang::FileManager>(clang::FileSystemOptions());
  clang::tooling::ToolInvocation inv(cmd, std::make_unique<Compile>(os), files.get());
  inv.setDiagnosticConsumer(&printer);
  const bool ok = inv.run();
  os.flush();
  if (!ok && diagnostics.find("error:") == std::string::npos)
    return -1; // not a compile error: nothing here says why
  std::ofstream(errFile) << diagnostics;
  return ok ? 0 : 1;
}

std::string slurp(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path);
  return buf ? (*buf)->getBuffer().str() : std::string();
}

void replay(const std::string &errFile) {
  std::string text = slurp(errFile);
  if (!text.empty())
    fwrite(text.data(), 1, text.size(), stderr);
}

std::string firstErrorLine(const std::string &text) {
  size_t pos = text.find("error:");
  if (pos == std::string::npos)
    return text.substr(0, text.find('\n'));
  size_t begin = text.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', pos) - begin);
}

// Parses the original source in process, with the compile's own flags:
// diagnostics are buffered (printed by the caller only if the parse
// succeeds, so a broken source reports through the real compiler as usual),
// the token stream is printed as the preprocessed unit (or, when tokens do
// not carry all of it, recorded and aligned with the real compiler's -E
// text), and the unit rewritten.

// The real compiler's -E of the unit, for units the parse cannot print.
struct Preprocess {
  std::function<bool(std::string &text, std::string &error)> run;
  // Set when every unit takes -E: the real compiler is not the clang the
  // parse is (DSU_REAL_CC names another one, or adds options), so only its
  // own preprocessing says what it compiles.
  std::string alwaysWhy;
};

// The preprocessed unit that was rewritten: its text, its hash (the base
// identity in the manifest) and how it was made.
struct Unit {
  std::string text;
  std::string hash;
  std::string alignedWhy; // empty: printed from the parse; else why -E was needed
};

class RewriteAction : public clang::ASTFrontendAction {
public:
  // `ran` is set once the unit is rewritten (the action itself does not
  // outlive its run).
  RewriteAction(const dsu::RewriteOptions &opts, const Preprocess &preprocess, Unit &unit,
                dsu::RewriteResult &out, std::string &diagnostics, std::string &error, bool &ran)
      : opts_(opts), preprocess_(preprocess), unit_(unit), out_(out), diagStream_(diagnostics),
        error_(error), ran_(ran) {}

  bool BeginSourceFileAction(clang::CompilerInstance &ci) override {
    auto *printer = new clang::TextDiagnosticPrinter(diagStream_, &ci.getDiagnosticOpts());
    ci.getDiagnostics().setClient(printer, /*ShouldOwnClient=*/true);
    printer->BeginSourceFile(ci.getLangOpts(), &ci.getPreprocessor());
    // "N warnings generated." belongs after the warnings, in the same buffer.
    ci.setVerboseOutputStream(diagStream_);
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
    return true;
  }

  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance &ci,
                                                        llvm::StringRef) override {
    struct Consumer : clang::ASTConsumer {
      RewriteAction &self;
      clang::CompilerInstance &ci;
      Consumer(RewriteAction &s, clang::CompilerInstance &c) : self(s), ci(c) {}
      void HandleTranslationUnit(clang::ASTContext &ctx) override {
        phaseTimes.mark("parse");
        if (ci.getDiagnostics().hasErrorOccurred())
          return;
        dsu::TokenMap map;
        Unit &unit = self.unit_;
        bool aligned = true;
        unit.alignedWhy = self.preprocess_.alwaysWhy.empty() ? self.printer_->unprintable()
                                                              : self.preprocess_.alwaysWhy;
        if (unit.alignedWhy.empty()) {
          self.printer_->finish(ctx.getSourceManager(), map);
          unit.text = self.printer_->text();
          phaseTimes.mark("print");
        } else {
          aligned = self.preprocess_.run(unit.text, self.error_);
          phaseTimes.mark("preprocess");
          aligned = aligned && dsu::alignPreprocessed(ctx.getSourceManager(), ctx.getLangOpts(),
                                                      unit.text, self.printer_->recorded(), map,
                                                      self.error_);
          phaseTimes.mark("align");
        }
        unit.hash = dsu::sha256Hex(unit.text);
        phaseTimes.mark("hash");
        if (!aligned) {
          self.error_ = "cannot align the parse with the preprocessed unit: " + self.error_;
          // Still list the unit's functions, each with the failure as reason.
          dsu::RewriteOptions listOnly = self.opts_;
          listOnly.fileExcluded = true;
          listOnly.fileReason = dsu::Reason::RewriteFailed;
          listOnly.fileDetail = self.error_;
          self.out_ = dsu::rewriteTranslationUnit(ctx, listOnly);
          return;
        }
        dsu::RewriteOptions opts = self.opts_;
        opts.unitHash = unit.hash;
        opts.preprocessed = &map;
        opts.addressSpaceMarks = &self.marks_;
        self.out_ = dsu::rewriteTranslationUnit(ctx, opts);
        phaseTimes.mark("rewrite");
        self.ran_ = true;
      }
    };
    return std::make_unique<Consumer>(*this, ci);
  }

private:
  const dsu::RewriteOptions &opts_;
  const Preprocess &preprocess_;
  Unit &unit_;
  dsu::RewriteResult &out_;
  llvm::raw_string_ostream diagStream_;
  std::string &error_;
  std::unique_ptr<dsu::UnitPrinter> printer_;
  std::vector<dsu::RewriteOptions::AddressSpaceMark> marks_;
  bool &ran_;
};

// Runs a frontend action on the invocation the driver made, like
// ToolInvocation does for a FrontendAction, except that the dependency file
// (if the command line asks for one) is written to a unique temporary
// beside it and renamed into place: clang opens the named file itself,
// following a symlink someone could have planted there.
class RenamedDependencyFile : public clang::tooling::ToolAction {
public:
  explicit RenamedDependencyFile(std::unique_ptr<clang::FrontendAction> action)
      : action_(std::move(action)) {}

  bool runInvocation(std::shared_ptr<clang::CompilerInvocation> invocation,
                     clang::FileManager *files,
                     std::shared_ptr<clang::PCHContainerOperations> pch,
                     clang::DiagnosticConsumer *diags) override {
    std::string &output = invocation->getDependencyOutputOpts().OutputFile;
    const std::string target = output;
    llvm::SmallString<256> temp;
    // Where no file can be made, clang's own attempt reports why.
    if (!target.empty() && target != "-" &&
        !llvm::sys::fs::createUniqueFile(target + "-%%%%%%%%.tmp", temp)) {
      llvm::sys::RemoveFileOnSignal(temp);
      output = std::string(temp);
    } else {
      temp.clear();
    }
    bool ok = false;
    {
      clang::CompilerInstance ci(std::move(pch));
      ci.setInvocation(std::move(invocation));
      ci.setFileManager(files);
      // The action may refer to the instance: it goes first.
      std::unique_ptr<clang::FrontendAction> action = std::move(action_);
      ci.createDiagnostics(diags, /*ShouldOwnClient=*/false);
      if (ci.hasDiagnostics()) {
        ci.createSourceManager(*files);
        ok = ci.ExecuteAction(*action);
      }
      files->clearStatCache();
    }
    if (!temp.empty()) {
      uint64_t size = 0;
      if (!llvm::sys::fs::exists(temp))
        llvm::sys::fs::remove(target); // clang removes one that names a missing header
      else if (llvm::sys::fs::file_size(temp, size) || size == 0 ||
               llvm::sys::fs::rename(temp, target))
        llvm::sys::fs::remove(temp); // not written: the old file stays, as with clang
      llvm::sys::DontRemoveFileOnSignal(temp);
    }
    return ok;
  }

private:
  std::unique_ptr<clang::FrontendAction> action_;
};

enum class ParseOutcome { Rewritten, SourceErrors, Failed };

// Parses and rewrites the unit; the parse writes the dependency file when
// `writeDeps` (it reads exactly the headers the compile would).
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

// Finds the updateable functions an error of the rewritten unit's compile
// lies in and adds them, and the local functions they call, to `exclude`.
// False when no error lies in an updateable function.
bool excludeFailingFunctions(const std::string &stderrText, const dsu::RewriteResult &r,
                             std::map<std::string, std::string> &exclude) {
  static const std::regex errorLine(R"((?:^|\n)([^:\n]+):(\d+):\d+: error: ([^\n]*))");
  std::set<std::string> updateable;
  for (const dsu::FunctionRecord &f : r.functions)
    if (f.updateable)
      updateable.insert(f.name);
  bool added = false;
  for (auto it = std::sregex_iterator(stderrText.begin(), stderrText.end(), errorLine);
       it != std::sregex_iterator(); ++it) {
    const std::string file = (*it)[1], message = (*it)[3];
    const unsigned line = std::stoul((*it)[2]);
    for (const dsu::FunctionRecord &f : r.functions) {
      if (!f.updateable || f.file != file || line < f.line || line > f.endLine)
        continue;
      std::string why = fmt::format("its rewritten body does not compile: {}", message);
      added |= exclude.emplace(f.name, why).second;
      for (const std::string &callee : f.calls)
        if (updateable.count(callee))
          added |= exclude.emplace(callee, fmt::format("called by {}(), whose rewritten body does "
                                                       "not compile", f.name)).second;
    }
  }
  return added;
}

// The files dsu-cc-core makes for its own use, each created exclusively
// under a name nobody can guess (in TMPDIR, or beside the object where
// TMPDIR is unusable) and removed when the compile ends, by a return, an
// exec of the real compiler (finish() first) or a signal. With
// DSU_KEEP_TEMPS they are made beside the object and renamed to
// <object><suffix> at the end: a rename replaces whatever is at that name,
// where opening it would write through a symlink planted there.
class Temps {
public:
  explicit Temps(bool keep) : keep_(keep) {}
  Temps(const Temps &) = delete;
  Temps &operator=(const Temps &) = delete;
  ~Temps() { finish(); }

  // The new (empty) file's path; "" with `error` when none can be made.
  std::string make(const std::string &object, llvm::StringRef suffix, std::string &error) {
    llvm::SmallString<256> path;
    std::error_code ec;
    if (keep_) {
      ec = llvm::sys::fs::createUniqueFile(object + suffix + "-%%%%%%%%.tmp", path);
    } else {
      ec = llvm::sys::fs::createTemporaryFile("dsu", suffix.drop_front(), path);
      if (ec)
        ec = llvm::sys::fs::createUniqueFile(object + "-%%%%%%%%" + suffix, path,
                                             llvm::sys::fs::owner_read |
                                                 llvm::sys::fs::owner_write);
    }
    if (ec) {
      error = fmt::format("cannot create a temporary file for {}: {}", object, ec.message());
      return "";
    }
    llvm::sys::RemoveFileOnSignal(path);
    entries_.push_back({std::string(path), keep_ ? object + suffix.str() : std::string()});
    return std::string(path);
  }

  // Removes the files (renames them into place when kept).
  void finish() {
    for (const Entry &e : entries_) {
      if (e.keepAs.empty() || llvm::sys::fs::rename(e.path, e.keepAs))
        llvm::sys::fs::remove(e.path);
      llvm::sys::DontRemoveFileOnSignal(e.path);
    }
    entries_.clear();
  }

private:
  struct Entry {
    std::string path, keepAs;
  };
  std::vector<Entry> entries_;
  bool keep_;
};

std::string currentDir() {
  llvm::SmallString<256> cwd;
  if (llvm::sys::fs::current_path(cwd))
    return "";
  return std::string(cwd);
}

void writeManifest(const dsu::CompileJob &job, const dsu::ManifestInfo &info,
                   const dsu::RewriteResult &r) {
  std::string err;
  if (!dsu::writeJsonFile(job.object + ".dsu.json", dsu::manifestJson(info, r), err))
    fmt::print(stderr, "dsu-cc: warning: {}\n", err);
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<std::string> cc = realCompiler();
  dsu::CompileJob job = dsu::classifyCommandLine(args, DSU_DEFAULT_CLANG);
  phaseTimes.mark("classify");
  if (!job.instrument)
    execReal(cc, args);
  // A manifest from an earlier build describes the object this compile
  // replaces: gone now, it is written again only once this compile has made
  // the object (a failed one leaves none behind to be taken for its own).
  llvm::sys::fs::remove(job.object + ".dsu.json");
  // User-space programs find <dsu.h> without extra flags (after everything
  // else, so nothing of the program's own include path changes).
  if (!job.kernel && std::strlen(DSU_RUNTIME_INCLUDE) != 0) {
    for (auto *v : {&job.preprocessOnlyArgs, &job.parseArgs, &args})
      v->insert(v->end(), {"-idirafter", DSU_RUNTIME_INCLUDE});
  }

  dsu::Policy policy;
  if (const char *cfg = std::getenv("DSU_CONFIG"); cfg && *cfg) {
    std::string err;
    if (!policy.parseFile(cfg, err)) {
      fmt::print(stderr, "{}\n", err);
      return 1;
    }
  }
  const bool strict = envFlag("DSU_STRICT");
  const std::string cwd = currentDir();

  dsu::ManifestInfo info;
  info.source = job.source;
  info.object = job.object;
  info.cwd = cwd;
  info.kernel = job.kernel;

  dsu::RewriteOptions opts;
  opts.policy = &policy;
  opts.kernel = job.kernel;
  opts.tuName = dsu::Policy::normalizePath(job.source, cwd);
  // Room every wrapped instance keeps for later layouts (docs/policy.md).
  if (const char *slop = std::getenv("DSU_TYPE_SLOP")) {
    char *end = nullptr;
    unsigned long v = std::strtoul(slop, &end, 10);
    if (end == slop || *end || v > (1ul << 20)) {
      fmt::print(stderr, "dsu-cc: error: DSU_TYPE_SLOP={} is not a byte count (0 to 1048576)\n",
                 slop);
      return 1;
    }
    opts.typeSlop = static_cast<unsigned>(v);
  }
  info.tu = opts.tuName;
  info.compiler = cc;
  info.arguments = args;

  const bool keepTemps = envFlag("DSU_KEEP_TEMPS");
  Temps temps(keepTemps);
  std::string tempError;
  const std::string preprocessed = temps.make(job.object, ".dsu.i", tempError);
  const std::string stderrFile =
      preprocessed.empty() ? "" : temps.make(job.object, ".dsu.err", tempError);
  if (stderrFile.empty()) {
    fmt::print(stderr, "dsu-cc: error: {}\n", tempError);
    return 1;
  }
  // The real compiler's -E, for a unit the parse cannot print (a pragma).
  // The parse has written the dependency file by then.
  Preprocess realPreprocess;
  realPreprocess.run = [&](std::string &text, std::string &error) {
    std::vector<std::string> pre = job.preprocessOnlyArgs;
    pre.insert(pre.end(), {"-o", preprocessed});
    if (runReal(cc, pre, stderrFile) != 0) {
      error = "the real compiler's -E failed: " + firstErrorLine(slurp(stderrFile));
      return false;
    }
    text = slurp(preprocessed);
    return true;
  };
  const bool parserClang = isParserClang(cc);
  if (!parserClang)
    realPreprocess.alwaysWhy = "DSU_REAL_CC is not " DSU_DEFAULT_CLANG;
  // The rewritten unit is compiled here when the real compiler is that very
  // clang with nothing in front (a launcher like ccache wants to be run).
  const bool compileHere = parserClang && cc.size() == 1;
  // DSU_KEEP_TEMPS: the unit as rewritten from, whichever way it was made.
  auto keepUnit = [&](const Unit &unit) {
    if (!keepTemps || unit.text.empty())
      return;
    std::ofstream out(preprocessed);
    out << unit.text;
  };

  dsu::PolicyDecision fileDecision = policy.file(job.source, cwd);
  if (!fileDecision.instrument) {
    // Left out: compile exactly as asked, then list its functions with the
    // reason (best effort: nothing here may change the build's outcome).
    int rc = runReal(cc, args);
    if (rc != 0)
      return rc;
    // Listing runs in a child process: whatever happens there (even a
    // crash) cannot change this compile's exit status.
    pid_t child = fork();
    if (child != 0) {
      if (child > 0)
        waitpid(child, nullptr, 0);
      return 0;
    }
    // The real compile already wrote the dependency file.
    opts.fileExcluded = true;
    opts.fileReason = fileDecision.rule == "built-in" ? dsu::Reason::NeverIndirectable
                                                      : dsu::Reason::PolicyFile;
    opts.fileDetail = fileDecision.reason;
    dsu::RewriteResult r;
    Unit unit;
    std::string diags, err;
    info.status = "excluded";
    info.statusDetail = fileDecision.reason;
    if (rewriteUnit(job, false, realPreprocess, opts, unit, r, diags, err) ==
        ParseOutcome::Rewritten) {
      info.unitHash = unit.hash;
      writeManifest(job, info, r);
    }
    _exit(0); // the child; the parent removes the temporaries
  }

  auto fallback = [&](const std::string &why, const dsu::RewriteResult *analysed) -> int {
    if (strict) {
      fmt::print(stderr, "dsu-cc: error: {}: {}\n", job.source, why);
      return 1;
    }
    fmt::print(stderr, "dsu-cc: warning: {}: {}; compiled without DSU instrumentation\n",
               job.source, why);
    int rc = runReal(cc, args);
    if (rc != 0)
      return rc;
    if (info.unitHash.empty()) {
      std::string text, ignored;
      if (realPreprocess.run(text, ignored))
        info.unitHash = dsu::sha256Hex(text);
    }
    dsu::RewriteResult r;
    if (analysed)
      r = *analysed;
    for (dsu::FunctionRecord &f : r.functions)
      if (f.updateable) {
        f.updateable = false;
        f.reason = dsu::Reason::RewriteFailed;
        f.detail = why;
        f.callsRewritten = 0;
      }
    r.callsRewritten = 0;
    info.status = "fallback";
    info.statusDetail = why;
    writeManifest(job, info, r);
    return 0;
  };

  // 1. Parse the original source (writing the dependency file), print it
  //    as the preprocessed unit, rewrite.
  dsu::RewriteResult result;
  Unit unit;
  std::string diagnostics, err;
  ParseOutcome outcome =
      rewriteUnit(job, true, realPreprocess, opts, unit, result, diagnostics, err);
  info.unitHash = unit.hash;
  keepUnit(unit);
  if (!unit.alignedWhy.empty() && envFlag("DSU_TIME"))
    fmt::print(stderr, "dsu-cc: time: {}: preprocessed by the real compiler: {}\n", job.source,
               unit.alignedWhy);
  switch (outcome) {
  case ParseOutcome::SourceErrors:
    // The compiler's own errors, exactly as without dsu-cc (exec'd, so its
    // exit status is ours; the temporaries go first).
    temps.finish();
    execReal(cc, args);
  case ParseOutcome::Failed:
    fwrite(diagnostics.data(), 1, diagnostics.size(), stderr);
    return fallback(err, &result);
  case ParseOutcome::Rewritten:
    // The compiler's own warnings, with their macro context.
    fwrite(diagnostics.data(), 1, diagnostics.size(), stderr);
    break;
  }

  if (!result.changed) {
    // Nothing to indirect: the object is exactly what the real compiler
    // makes (its warnings were printed above).
    int rc = runReal(cc, args, stderrFile);
    if (rc != 0)
      replay(stderrFile);
    if (rc == 0) {
      info.status = "unchanged";
      writeManifest(job, info, result);
    }
    return rc;
  }

  // 2. Compile the rewritten unit. If that fails inside updateable functions
  //    (a compile-time assertion that only folded away while they could be
  //    inlined), leave those functions and their local callees alone and try
  //    again; anything else falls back to the original compile.
  const std::string rewritten = temps.make(job.object, ".dsu.rw.i", tempError);
  if (rewritten.empty())
    return fallback(tempError, &result);
  for (int attempt = 0;; ++attempt) {
    {
      std::ofstream out(rewritten);
      out << result.text;
      if (!out)
        return fallback("cannot write " + rewritten, &result);
    }
    std::vector<std::string> comp = job.compileArgs;
    comp.insert(comp.end(), {"-x", "cpp-output", rewritten});
    phaseTimes.mark("write");
    int rc = compileHere ? compileInProcess(comp, stderrFile) : -1;
    if (rc < 0)
      rc = runReal(cc, comp, stderrFile);
    phaseTimes.mark("compile");
    if (rc == 0)
      break;
    std::string text = slurp(stderrFile);
    bool excludedMore = attempt < 3 && excludeFailingFunctions(text, result, opts.needsInlining);
    // Otherwise, once: without wrapped types (a static assertion on a
    // struct's size or offsets, ...), keeping the functions' indirection.
    bool anyWrapped = std::any_of(result.types.begin(), result.types.end(),
                                  [](const dsu::TypeRecord &t) { return t.updateable; });
    if (!excludedMore && anyWrapped && !opts.typesOff) {
      opts.typesOff = true;
      opts.typesOffWhy = firstErrorLine(text);
      excludedMore = true;
    }
    if (excludedMore) {
      dsu::RewriteResult again;
      Unit same; // the same text: printing and -E are deterministic
      std::string ignored;
      if (rewriteUnit(job, false, realPreprocess, opts, same, again, ignored, err) ==
          ParseOutcome::Rewritten) {
        result = std::move(again);
        if (result.changed)
          continue;
        int rc = runReal(cc, args, stderrFile);
        if (rc == 0) {
          info.status = "unchanged";
          writeManifest(job, info, result);
        } else {
          replay(stderrFile);
        }
        return rc;
      }
    }
    if (strict)
      fwrite(text.data(), 1, text.size(), stderr);
    return fallback("the rewritten unit does not compile: " + firstErrorLine(text), &result);
  }
  replay(stderrFile);
  info.status = "instrumented";
  writeManifest(job, info, result);
  phaseTimes.mark("manifest");
  return 0;
}
