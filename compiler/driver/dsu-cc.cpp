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
//
// main() below is the compile's phases in order; each concern is a file
// here: launcher.cpp (the LLVM-free front door), RealCompiler (running,
// exec'ing or compiling in process with the real compiler), UnitRewrite
// (the in-process parse, print and rewrite), DependencyFile (the parse's
// -MD output, renamed into place), Temps (temporaries), FailingFunctions
// (what to leave alone when the rewritten unit does not compile) and
// PhaseTimes (DSU_TIME).

#include "Argv.h"
#include "CompilerOutput.h"
#include "FailingFunctions.h"
#include "Hashing.h"
#include "RewriteRecords.h"
#include "Manifest.h"
#include "PhaseTimes.h"
#include "Policy.h"
#include "RealCompiler.h"
#include "Temps.h"
#include "UnitRewrite.h"

#include <fmt/format.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/Support/FileSystem.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DSU_RUNTIME_INCLUDE
#define DSU_RUNTIME_INCLUDE ""
#endif

namespace {

// What one instrumented compile decides and makes, shared by its phases.
struct Compile {
  std::vector<std::string> args; // the command line after argv[0]
  std::vector<std::string> cc;   // the real compiler's words
  dsu::CompileJob job;
  dsu::Policy policy;
  bool strict = false;    // DSU_STRICT: a failed rewrite is an error
  bool keepTemps = false; // DSU_KEEP_TEMPS
  std::string cwd;
  dsu::ManifestInfo info;
  dsu::RewriteOptions opts;
  std::optional<Temps> temps;
  std::string preprocessed, stderrFile; // temporaries: the -E output, the compiler's stderr
  Preprocess realPreprocess;
  bool compileHere = false; // the rewritten unit is compiled in this process
};

// Set when the compile is over, with dsu-cc's exit status.
using Done = std::optional<int>;

std::string currentDir() {
  llvm::SmallString<256> cwd;
  if (llvm::sys::fs::current_path(cwd))
    return "";
  return std::string(cwd);
}

void writeManifest(const Compile &c, const dsu::RewriteResult &r) {
  std::string err;
  if (!dsu::writeJsonFile(c.job.object + ".dsu.json", dsu::manifestJson(c.info, r), err))
    fmt::print(stderr, "dsu-cc: warning: {}\n", err);
}

// Anything but "compile one C file to an object" is the real compiler's
// alone: dsu-cc-core becomes it.
void classifyOrPassThrough(Compile &c) {
  c.cc = dsu::realCompilerWords();
  c.job = dsu::classifyCommandLine(c.args, DSU_DEFAULT_CLANG);
  phaseTimes.mark("classify");
  if (!c.job.instrument)
    execReal(c.cc, c.args);
}

// A manifest from an earlier build describes the object this compile
// replaces: gone now, it is written again only once this compile has made
// the object (a failed one leaves none behind to be taken for its own).
void forgetEarlierManifest(const Compile &c) { llvm::sys::fs::remove(c.job.object + ".dsu.json"); }

// User-space programs find <dsu.h> without extra flags (after everything
// else, so nothing of the program's own include path changes).
void addRuntimeInclude(Compile &c) {
  if (!c.job.kernel && std::strlen(DSU_RUNTIME_INCLUDE) != 0) {
    for (auto *v : {&c.job.preprocessOnlyArgs, &c.job.parseArgs, &c.args})
      v->insert(v->end(), {"-idirafter", DSU_RUNTIME_INCLUDE});
  }
}

Done readPolicy(Compile &c) {
  if (const char *cfg = std::getenv("DSU_CONFIG"); cfg && *cfg) {
    std::string err;
    if (!c.policy.parseFile(cfg, err)) {
      fmt::print(stderr, "{}\n", err);
      return 1;
    }
  }
  return std::nullopt;
}

// What the manifest records of the compile, and how the unit is rewritten.
Done describeCompile(Compile &c) {
  c.strict = envFlag("DSU_STRICT");
  c.cwd = currentDir();
  c.info.source = c.job.source;
  c.info.object = c.job.object;
  c.info.cwd = c.cwd;
  c.info.kernel = c.job.kernel;
  c.opts.policy = &c.policy;
  c.opts.kernel = c.job.kernel;
  c.opts.tuName = dsu::Policy::normalizePath(c.job.source, c.cwd);
  // Room every wrapped instance keeps for later layouts (docs/policy.md).
  if (const char *slop = std::getenv("DSU_TYPE_SLOP")) {
    char *end = nullptr;
    unsigned long v = std::strtoul(slop, &end, 10);
    if (end == slop || *end || v > (1ul << 20)) {
      fmt::print(stderr, "dsu-cc: error: DSU_TYPE_SLOP={} is not a byte count (0 to 1048576)\n",
                 slop);
      return 1;
    }
    c.opts.typeSlop = static_cast<unsigned>(v);
  }
  c.info.tu = c.opts.tuName;
  c.info.compiler = c.cc;
  c.info.arguments = c.args;
  return std::nullopt;
}

Done makeTemporaries(Compile &c) {
  c.keepTemps = envFlag("DSU_KEEP_TEMPS");
  c.temps.emplace(c.keepTemps);
  std::string error;
  c.preprocessed = c.temps->make(c.job.object, ".dsu.i", error);
  c.stderrFile = c.preprocessed.empty() ? "" : c.temps->make(c.job.object, ".dsu.err", error);
  if (c.stderrFile.empty()) {
    fmt::print(stderr, "dsu-cc: error: {}\n", error);
    return 1;
  }
  return std::nullopt;
}

// Whether the unit is preprocessed by the real compiler, and compiled here.
void chooseRealCompilerUse(Compile &c) {
  // The real compiler's -E, for a unit the parse cannot print (a pragma).
  // The parse has written the dependency file by then.
  c.realPreprocess.run = [&c](std::string &text, std::string &error) {
    std::vector<std::string> pre = c.job.preprocessOnlyArgs;
    pre.insert(pre.end(), {"-o", c.preprocessed});
    if (runReal(c.cc, pre, c.stderrFile) != 0) {
      error = "the real compiler's -E failed: " + dsu::firstErrorLine(slurp(c.stderrFile));
      return false;
    }
    text = slurp(c.preprocessed);
    return true;
  };
  const bool parserClang = isParserClang(c.cc);
  if (!parserClang)
    c.realPreprocess.alwaysWhy = "DSU_REAL_CC is not " DSU_DEFAULT_CLANG;
  // The rewritten unit is compiled here when the real compiler is that very
  // clang with nothing in front (a launcher like ccache wants to be run).
  c.compileHere = parserClang && c.cc.size() == 1;
}

// A file the policy leaves out: compiled exactly as asked, then its
// functions listed with the reason (best effort: nothing here may change
// the build's outcome).
Done compileExcludedFile(Compile &c) {
  dsu::PolicyDecision fileDecision = c.policy.file(c.job.source, c.cwd);
  if (fileDecision.instrument)
    return std::nullopt;
  int rc = runReal(c.cc, c.args);
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
  c.opts.fileExcluded = true;
  c.opts.fileReason = fileDecision.rule == "built-in" ? dsu::Reason::NeverIndirectable
                                                      : dsu::Reason::PolicyFile;
  c.opts.fileDetail = fileDecision.reason;
  dsu::RewriteResult r;
  Unit unit;
  std::string diags, err;
  c.info.status = "excluded";
  c.info.statusDetail = fileDecision.reason;
  if (rewriteUnit(c.job, false, c.realPreprocess, c.opts, unit, r, diags, err) ==
      ParseOutcome::Rewritten) {
    c.info.unitHash = unit.hash;
    writeManifest(c, r);
  }
  _exit(0); // the child; the parent removes the temporaries
}

// The rewrite failed: the original compile, and a manifest that says why
// no function is updateable (an error instead with DSU_STRICT).
int fallBack(Compile &c, const std::string &why, const dsu::RewriteResult *analysed) {
  if (c.strict) {
    fmt::print(stderr, "dsu-cc: error: {}: {}\n", c.job.source, why);
    return 1;
  }
  fmt::print(stderr, "dsu-cc: warning: {}: {}; compiled without DSU instrumentation\n",
             c.job.source, why);
  int rc = runReal(c.cc, c.args);
  if (rc != 0)
    return rc;
  if (c.info.unitHash.empty()) {
    std::string text, ignored;
    if (c.realPreprocess.run(text, ignored))
      c.info.unitHash = dsu::sha256Hex(text);
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
  c.info.status = "fallback";
  c.info.statusDetail = why;
  writeManifest(c, r);
  return 0;
}

// Parses the original source (writing the dependency file), prints it as
// the preprocessed unit, rewrites it. A source with errors is the real
// compiler's to report.
Done parseAndRewrite(Compile &c, dsu::RewriteResult &result) {
  Unit unit;
  std::string diagnostics, err;
  ParseOutcome outcome =
      rewriteUnit(c.job, true, c.realPreprocess, c.opts, unit, result, diagnostics, err);
  c.info.unitHash = unit.hash;
  // DSU_KEEP_TEMPS: the unit as rewritten from, whichever way it was made.
  if (c.keepTemps && !unit.text.empty()) {
    std::ofstream out(c.preprocessed);
    out << unit.text;
  }
  if (!unit.alignedWhy.empty() && envFlag("DSU_TIME"))
    fmt::print(stderr, "dsu-cc: time: {}: preprocessed by the real compiler: {}\n", c.job.source,
               unit.alignedWhy);
  switch (outcome) {
  case ParseOutcome::SourceErrors:
    // The compiler's own errors, exactly as without dsu-cc (exec'd, so its
    // exit status is ours; the temporaries go first).
    c.temps->finish();
    execReal(c.cc, c.args);
  case ParseOutcome::Failed:
    fwrite(diagnostics.data(), 1, diagnostics.size(), stderr);
    return fallBack(c, err, &result);
  case ParseOutcome::Rewritten:
    // The compiler's own warnings, with their macro context.
    fwrite(diagnostics.data(), 1, diagnostics.size(), stderr);
    break;
  }
  return std::nullopt;
}

// Nothing to indirect: the object is exactly what the real compiler makes
// of the original (the parse's warnings were printed already).
int compileUnchanged(Compile &c, const dsu::RewriteResult &result) {
  int rc = runReal(c.cc, c.args, c.stderrFile);
  if (rc == 0) {
    c.info.status = "unchanged";
    writeManifest(c, result);
  } else {
    replay(c.stderrFile);
  }
  return rc;
}

// Adds what the plain compile would not emit to what the rewrite leaves as
// written; false when that is nothing new (so the object stands).
bool leaveOutNotEmitted(const dsu::NotEmitted &found, dsu::RewriteOptions &opts) {
  bool more = false;
  for (const std::string &f : found.functions)
    more |= opts.notEmittedFunctions.insert(f).second;
  for (const std::string &v : found.statics)
    more |= opts.notEmittedStatics.insert(v).second;
  return more;
}

// Compiles the rewritten unit. If that fails inside updateable functions
// (a compile-time assertion that only folded away while they could be
// inlined), leaves those functions and their local callees alone and tries
// again; anything else falls back to the original compile. If it compiles
// but keeps code the plain compile drops (NotEmitted.h), compiles it again
// with that code left as written.
int compileRewritten(Compile &c, dsu::RewriteResult &result) {
  std::string tempError;
  const std::string rewritten = c.temps->make(c.job.object, ".dsu.rw.i", tempError);
  if (rewritten.empty())
    return fallBack(c, tempError, &result);
  for (int attempt = 0;; ++attempt) {
    {
      std::ofstream out(rewritten);
      out << result.text;
      if (!out)
        return fallBack(c, "cannot write " + rewritten, &result);
    }
    std::vector<std::string> comp = c.job.compileArgs;
    comp.insert(comp.end(), {"-x", "cpp-output", rewritten});
    phaseTimes.mark("write");
    dsu::NotEmitted notEmitted;
    int rc = c.compileHere ? compileInProcess(comp, c.stderrFile, &notEmitted) : -1;
    if (rc < 0)
      rc = runReal(c.cc, comp, c.stderrFile);
    phaseTimes.mark("compile");
    if (rc == 0 && !leaveOutNotEmitted(notEmitted, c.opts))
      break;
    const bool compiled = rc == 0;
    std::string text = compiled ? "" : slurp(c.stderrFile);
    bool excludedMore =
        compiled || (attempt < 3 && excludeFailingFunctions(text, result, c.opts.needsInlining));
    // Otherwise, once: without wrapped types (a static assertion on a
    // struct's size or offsets, ...), keeping the functions' indirection.
    bool anyWrapped = std::any_of(result.types.begin(), result.types.end(),
                                  [](const dsu::TypeRecord &t) { return t.updateable; });
    if (!excludedMore && anyWrapped && !c.opts.typesOff) {
      c.opts.typesOff = true;
      c.opts.typesOffWhy = dsu::firstErrorLine(text);
      excludedMore = true;
    }
    if (excludedMore) {
      dsu::RewriteResult again;
      Unit same; // the same text: printing and -E are deterministic
      std::string ignored, err;
      if (rewriteUnit(c.job, false, c.realPreprocess, c.opts, same, again, ignored, err) ==
          ParseOutcome::Rewritten) {
        result = std::move(again);
        if (result.changed)
          continue;
        return compileUnchanged(c, result);
      }
    }
    if (compiled)
      return fallBack(c, "cannot rewrite the unit again without the code the plain compile drops",
                      &result);
    if (c.strict)
      fwrite(text.data(), 1, text.size(), stderr);
    return fallBack(c, "the rewritten unit does not compile: " + dsu::firstErrorLine(text),
                    &result);
  }
  replay(c.stderrFile);
  c.info.status = "instrumented";
  writeManifest(c, result);
  phaseTimes.mark("manifest");
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Compile c;
  c.args.assign(argv + 1, argv + argc);
  classifyOrPassThrough(c);
  forgetEarlierManifest(c);
  addRuntimeInclude(c);
  if (Done rc = readPolicy(c))
    return *rc;
  if (Done rc = describeCompile(c))
    return *rc;
  if (Done rc = makeTemporaries(c))
    return *rc;
  chooseRealCompilerUse(c);
  if (Done rc = compileExcludedFile(c))
    return *rc;
  dsu::RewriteResult result;
  if (Done rc = parseAndRewrite(c, result))
    return *rc;
  if (!result.changed)
    return compileUnchanged(c, result);
  return compileRewritten(c, result);
}
