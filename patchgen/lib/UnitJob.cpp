// One changed unit's work: parse its old and new versions, plan the patch of
// it, preprocess and rewrite the new version into the unit's patch code.
#include "UnitJob.h"

#include "Alignment.h"
#include "ChangedLines.h"
#include "Files.h"
#include "ParseUnit.h"
#include "PatchRewrite.h"
#include "PreprocessedDiff.h"
#include "SourceUtils.h"
#include "Subprocess.h"
#include "UnitPlan.h"
#include "UnitSnapshot.h"

#include <clang/AST/ASTContext.h>
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <filesystem>
#include <optional>

#ifndef DSU_RUNTIME_INCLUDE
#define DSU_RUNTIME_INCLUDE ""
#endif

namespace fs = std::filesystem;

namespace dsu {

namespace {

// Whether a presumed file name of a parse is one of the changed headers:
// relative names are the parse's directory's; the old version is parsed in
// the base, the new one in NEW. Cached: a kernel unit's declarations come
// from a few hundred files.
class ChangedHeaderFiles {
public:
  ChangedHeaderFiles(const BaseTree &tree, const std::string &newDir, const std::string &cwd)
      : tree_(tree), newDir_(newDir), cwd_(cwd) {}
  bool operator()(const std::string &file) {
    auto [it, fresh] = known_.emplace(file, false);
    if (fresh && !tree_.changedHeaders.empty()) {
      fs::path p(file);
      std::error_code ec;
      std::string abs = fs::weakly_canonical(p.is_absolute() ? p : fs::path(cwd_) / p, ec).string();
      for (const std::string &root : {tree_.baseDir, newDir_})
        if (!ec && isUnder(abs, root) &&
            std::binary_search(tree_.changedHeaders.begin(), tree_.changedHeaders.end(),
                               abs.substr(root.size() + 1)))
          it->second = true;
    }
    return it->second;
  }

private:
  const BaseTree &tree_;
  const std::string &newDir_;
  std::string cwd_;
  std::map<std::string, bool> known_;
};

class UnitJob {
public:
  UnitJob(const UnitJobInputs &in, UnitJobResults &results, const std::string &rel,
          unsigned index)
      : in_(in), o_(in.options), results_(results), rel_(rel), index_(index) {}

  // The unit's patch in `out`; false when it has none (an error was
  // reported, or nothing changed).
  bool run(PatchUnit &out);

  // A unit only changed headers reach, checked ahead of the jobs (in
  // parallel: runUnitJobs): its commands, read in the calling thread
  // (false: the job itself will say why not)...
  bool prepareHeaderCheck();
  // ... then, in any thread, whether the headers leave its code as it is.
  bool headersLeaveCodeAsItIs() { return preprocessesTheSame(); }
  const std::string &headerVerdict() const { return headerVerdict_; }
  const std::string &rel() const { return rel_; }
  // The check found the code may differ: the job parses without
  // preprocessing again.
  void knowHeadersChangeCode(const std::string &why) {
    headersChangeCode_ = true;
    headerVerdict_ = why;
  }

private:
  bool readRecordedCommand(const BaseTreeUnit &u);
  bool preprocessesTheSame();
  bool parseOldVersion(const BaseTreeUnit &u);
  void newVersionCommand();
  void pickTransformers();
  bool planWithTransformers();
  bool preprocessNewVersion();
  bool rewriteNewVersion();
  bool reportPlanAndRewrite();
  void report(const std::string &message);
  bool changesSomething() const;
  // Whether the unit's own file changed (else only headers it includes).
  bool sourceChanged() const {
    return std::binary_search(in_.tree.changedC.begin(), in_.tree.changedC.end(), rel_);
  }
  void explainNoChange() const;
  void plan(clang::ASTContext &ctx);

  const UnitJobInputs &in_;
  const PatchgenOptions &o_;
  UnitJobResults &results_;
  const std::string &rel_;
  unsigned index_;

  std::vector<std::string> compiler_;
  CompileJob job_;
  std::string cwd_;
  BaseUnit base_;
  UnitSnapshot oldSnap_;
  std::string newCwd_, newText_, newPath_, preFile_;
  std::vector<std::string> newPreArgs_, newParseArgs_;
  const TransformerFile *xf_ = nullptr;
  std::set<std::string> userTags_;
  bool planned_ = false;
  std::optional<std::string> newContent_;
  std::string preSource_, preprocessed_, alignError_;
  std::set<unsigned> compiledLines_; // of the new file, with tokens this build compiles
  PatchUnit b_;
  bool quiet_ = false;                 // ahead of the jobs: no messages
  bool headersChangeCode_ = false;     // known ahead
  std::string headerVerdict_;          // why it is parsed, or not (for -v)
};

bool UnitJob::run(PatchUnit &out) {
  auto uit = in_.tree.units.find(rel_);
  if (uit == in_.tree.units.end()) {
    fmt::print(stderr, "{}/{}:1:1: warning: changed, but no object of the running program was "
                       "built from it with dsu-cc; ignored\n", o_.newDir, rel_);
    return false;
  }
  const BaseTreeUnit &u = uit->second;
  if (!readRecordedCommand(u))
    return false;
  newVersionCommand();
  if (!sourceChanged()) {
    const bool same = !headersChangeCode_ && preprocessesTheSame();
    if (o_.verbose && !headerVerdict_.empty())
      fmt::print(stderr, "dsu-patchgen: {}: {}\n", rel_, headerVerdict_);
    if (same)
      return false; // nothing of the changed headers reaches its code
  }
  if (!parseOldVersion(u))
    return false;
  pickTransformers();
  b_.index = index_;
  b_.tu = base_.tu;
  b_.unitHash = base_.unitHash;
  b_.file = preFile_;
  if (xf_ && !planWithTransformers())
    return false;
  if (!preprocessNewVersion() || !rewriteNewVersion() || !reportPlanAndRewrite() ||
      !changesSomething())
    return false;
  writeFile(preFile_, b_.unit.text);
  fs::create_directories(fs::path(in_.work + "/src/" + rel_).parent_path());
  writeFile(in_.work + "/src/" + rel_, newText_);
  out = std::move(b_);
  return true;
}

// A unit only a changed header reaches: both versions preprocessed without
// line markers (-P). The same tokens compile to the same code, so most
// includers of a widely used header (a new macro) need no parse; nor do
// those whose emitted code names none of the declarations that differ (a
// new prototype or inline, a changed inline they do not use:
// PreprocessedDiff.h). Anything else means a parse.
bool UnitJob::preprocessesTheSame() {
  std::string texts[2];
  for (int side = 0; side < 2; ++side) {
    const std::string out = in_.work + "/units/" + fmt::format("same{}-{}.i", index_, side);
    std::vector<std::string> pre(compiler_);
    for (size_t i = 0; i < job_.preprocessOnlyArgs.size(); ++i)
      pre.push_back(side == 0 ? job_.preprocessOnlyArgs[i]
                    : job_.preprocessOnlyArgs[i] == job_.source ? newPath_
                                                                : newPreArgs_[i]);
    pre.insert(pre.end(), {"-P", "-o", out});
    SubprocessOptions run;
    run.cwd = side == 0 ? cwd_ : newCwd_;
    run.stderrPath = out + ".err";
    const bool ok = runSubprocess(pre, run).status() == 0;
    texts[side] = ok ? readFile(out).value_or("") : "";
    fs::remove(out);
    fs::remove(out + ".err");
    if (!ok)
      return false; // the parse says why
  }
  if (texts[0] == texts[1]) {
    headerVerdict_ = "the same tokens";
    return true;
  }
  PreprocessedComparison c = comparePreprocessed(texts[0], texts[1]);
  headerVerdict_ = c.mayDiffer ? "parsed: " + c.why : "no declaration it emits uses what changed";
  return !c.mayDiffer;
}

bool UnitJob::prepareHeaderCheck() {
  auto uit = in_.tree.units.find(rel_);
  if (uit == in_.tree.units.end() || sourceChanged())
    return false;
  quiet_ = true; // the unit's job says what goes wrong
  bool ok = readRecordedCommand(uit->second);
  quiet_ = false;
  if (ok)
    newVersionCommand();
  return ok;
}

// The unit's manifest: its status, its command line and what the base has.
bool UnitJob::readRecordedCommand(const BaseTreeUnit &u) {
  const Manifest &m = u.manifest;
  if ((m.status == "excluded" || m.status == "fallback") && !sourceChanged()) {
    // Only a header it includes changed: what its code would do differently
    // is unknown without compiling it, and the running program has no
    // pointer to switch in it anyway (runUnitJobs sums these up).
    results_.notInstrumented[m.status + ": " + m.statusDetail].push_back(rel_);
    return false;
  }
  if (m.status == "excluded" || m.status == "fallback") {
    if (quiet_)
      return false;
    fmt::print(stderr, "{}/{}:1:1: error: changed, but the running program's object was not "
                       "instrumented ({}: {})\n", o_.newDir, rel_, m.status, m.statusDetail);
    results_.failed = true;
    return false;
  }
  compiler_ = recordedCompiler(m);
  job_ = classifyIn(m.cwd, m.arguments);
  if (!job_.instrument) {
    if (quiet_)
      return false;
    fmt::print(stderr, "{}: error: cannot reuse the recorded command line ({})\n", u.manifestPath,
               job_.passthroughWhy);
    results_.failed = true;
    return false;
  }
  cwd_ = m.cwd;
  if (!job_.kernel && std::strlen(DSU_RUNTIME_INCLUDE)) {
    for (auto *v : {&job_.preprocessOnlyArgs, &job_.parseArgs})
      v->insert(v->end(), {"-idirafter", DSU_RUNTIME_INCLUDE});
  }
  base_ = baseUnit(m, in_.tree.chain);
  base_.shadowed = o_.shadow;
  if (o_.verbose && !quiet_)
    fmt::print(stderr, "dsu-patchgen: {} ({})\n", rel_, base_.tu);
  return true;
}

// The base's file (or the previous patch's copy), parsed at the base's path
// so that its includes resolve as they did.
bool UnitJob::parseOldVersion(const BaseTreeUnit &u) {
  std::string diags;
  const std::string oldVersion = in_.tree.oldVersionOf(rel_);
  ParseRequest oldReq{job_.parseArgs, cwd_, u.baseSource, std::nullopt};
  if (oldVersion != u.baseSource)
    oldReq.content = readFile(oldVersion);
  if (!parseUnit(oldReq, diags, [&](clang::ASTContext &ctx, TokenRecorder &) {
        oldSnap_ = snapshotUnit(ctx, "", o_.shadow, ChangedHeaderFiles(in_.tree, o_.newDir, cwd_));
      })) {
    fmt::print(stderr, "{}dsu-patchgen: error: the old version of {} does not parse with its "
                       "recorded flags\n", diags, rel_);
    results_.failed = true;
    return false;
  }
  return true;
}

// The new version is preprocessed by the real compiler, parsed, compared,
// rewritten. At the base's path too (same includes), with NEW's text. With
// headers changed, the new version must see NEW's headers: its command runs
// in NEW's copy of the build directory, and absolute paths into the base
// tree point into NEW.
void UnitJob::newVersionCommand() {
  const std::string &baseDir = in_.tree.baseDir;
  newCwd_ = cwd_;
  newPreArgs_ = job_.preprocessOnlyArgs;
  newParseArgs_ = job_.parseArgs;
  if (!in_.tree.changedHeaders.empty()) {
    if (cwd_ == baseDir || isUnder(cwd_, baseDir))
      newCwd_ = o_.newDir + cwd_.substr(baseDir.size());
    for (auto *v : {&newPreArgs_, &newParseArgs_})
      for (std::string &a : *v)
        for (size_t at; (at = a.find(baseDir + "/")) != std::string::npos;)
          a.replace(at, baseDir.size(), o_.newDir);
  }
  newText_ = *readFile(o_.newDir + "/" + rel_);
  newPath_ = o_.newDir + "/" + rel_;
  preFile_ = in_.work + "/units/" + fmt::format("unit{}.i", index_);
  preSource_ = newPath_;
}

// The user's transformers for this unit's wrapped types are merged into the
// new version (after it, under their own file name), so they see the
// unit's types, functions and macros.
void UnitJob::pickTransformers() {
  for (const TransformerFile &tf : in_.transformers)
    for (const auto &[name, w] : base_.wrapped)
      if (tf.tags.count(w.tag)) {
        if (xf_ && xf_ != &tf) {
          fmt::print(stderr, "{}:1:1: error: {} and {} both have transformers for {}'s types; "
                             "one file per unit\n", tf.path, xf_->path, tf.path, rel_);
          results_.failed = true;
        }
        xf_ = &tf;
        userTags_.insert(w.tag);
        results_.transformerTagsUsed.insert(w.tag);
      }
}

void UnitJob::plan(clang::ASTContext &ctx) {
  UnitSnapshot newSnap =
      snapshotUnit(ctx, "", o_.shadow, ChangedHeaderFiles(in_.tree, o_.newDir, newCwd_));
  b_.plan = planUnit(base_, oldSnap_, newSnap, in_.patchName, userTags_);
  b_.plan.index = index_;
  results_.transformerStubs += b_.plan.transformerStubs;
}

// The plan first (it names the representations the user's code uses), then
// the unit again with them declared ahead of the user's code.
bool UnitJob::planWithTransformers() {
  ParseRequest planReq{newParseArgs_, newCwd_, newPath_, std::nullopt};
  std::string diags;
  if (!parseUnit(planReq, diags, [&](clang::ASTContext &ctx, TokenRecorder &) { plan(ctx); })) {
    fmt::print(stderr, "{}dsu-patchgen: error: the new version of {} does not compile\n",
               diags, rel_);
    results_.failed = true;
    return false;
  }
  planned_ = true;
  if (!b_.plan.errors.empty()) {
    for (const std::string &w : b_.plan.warnings)
      report(w);
    for (const std::string &e : b_.plan.errors)
      report(e);
    results_.failed = true;
    return false;
  }
  std::string reps;
  for (const TypeUpdate &u : b_.plan.typeUpdates)
    if (u.userTransformer)
      reps += u.newDefinition + "; " + u.oldDefinition + ";\n";
  newContent_ = fmt::format("#line 1 \"{}\"\n{}\n#line 1 \"{}\"\n{}#line 1 \"{}\"\n{}", newPath_,
                            newText_, kRepresentationsFile, reps, xf_->path, xf_->text);
  preSource_ = in_.work + "/units/" + fmt::format("unit{}.src.c", index_);
  writeFile(preSource_, *newContent_);
  return true;
}

// Quoted includes resolve from the file's directory: NEW's, whose headers
// are the new version's.
bool UnitJob::preprocessNewVersion() {
  std::string errFile = preFile_ + ".err";
  std::vector<std::string> pre(compiler_);
  if (xf_) // quoted includes of the source, from its own directory
    pre.insert(pre.end(), {"-iquote", fs::path(newPath_).parent_path().string()});
  for (size_t i = 0; i < newPreArgs_.size(); ++i)
    pre.push_back(job_.preprocessOnlyArgs[i] == job_.source ? preSource_ : newPreArgs_[i]);
  pre.insert(pre.end(), {"-o", preFile_});
  SubprocessOptions run;
  run.cwd = newCwd_;
  run.stderrPath = errFile;
  if (runSubprocess(pre, run).status() != 0) {
    fmt::print(stderr, "{}", readFile(errFile).value_or(""));
    fmt::print(stderr, "dsu-patchgen: error: preprocessing the new {} failed\n", rel_);
    results_.failed = true;
    return false;
  }
  preprocessed_ = *readFile(preFile_);
  fs::remove(errFile);
  return true;
}

bool UnitJob::rewriteNewVersion() {
  ParseRequest newReq{newParseArgs_, newCwd_, newPath_, newContent_};
  std::string diags;
  bool parsed = parseUnit(newReq, diags, [&](clang::ASTContext &ctx, TokenRecorder &rec) {
    if (!planned_) {
      plan(ctx);
      if (!b_.plan.errors.empty())
        return;
    }
    // The lines of the new file this build compiles (for the note when no
    // function changed).
    const clang::SourceManager &sm = ctx.getSourceManager();
    for (const TokenRecorder::Entry &t : rec.tokens)
      if (clang::PresumedLoc p = presumedLoc(sm, t.loc); p.isValid() && newPath_ == p.getFilename())
        compiledLines_.insert(p.getLine());
    TokenMap map;
    if (!alignPreprocessed(ctx.getSourceManager(), ctx.getLangOpts(), preprocessed_, rec, map,
                           alignError_))
      return;
    PatchRewriteOptions ro;
    ro.kernel = o_.kernel();
    ro.exported = &in_.kernelSymbols.exported;
    ro.vmlinuxSymbols = o_.kernel() ? &in_.kernelSymbols.vmlinux : nullptr;
    ro.repeatedSymbols = o_.kernel() ? &in_.kernelSymbols.repeated : nullptr;
    ro.unitHash = base_.unitHash;
    ro.patchName = in_.patchName;
    ro.transformerFile = xf_ ? xf_->path : "";
    b_.unit = rewritePatchUnit(ctx, map, base_, b_.plan, ro);
  });
  if (!parsed) {
    fmt::print(stderr, "{}dsu-patchgen: error: the new version of {} does not compile\n", diags,
               rel_);
    results_.failed = true;
    return false;
  }
  return true;
}

// Once per run: the units including a changed header report the same
// findings about it.
void UnitJob::report(const std::string &message) {
  if (results_.reported.insert(message).second)
    fmt::print(stderr, "{}\n", message);
}

bool UnitJob::reportPlanAndRewrite() {
  for (const std::string &w : b_.plan.warnings)
    report(w);
  for (const std::string &w : b_.unit.warnings)
    report(w);
  if (b_.plan.errors.empty() && b_.unit.errors.empty() && alignError_.empty())
    return true;
  for (const std::string &e : b_.plan.errors)
    report(e);
  for (const std::string &e : b_.unit.errors)
    report(e);
  if (!alignError_.empty())
    fmt::print(stderr, "dsu-patchgen: error: {}: {}\n", rel_, alignError_);
  results_.failed = true;
  return false;
}

// "a.c, b.c, c.c and 4 more".
std::string nameList(const std::vector<std::string> &names, size_t shown) {
  std::string list;
  for (size_t i = 0; i < names.size() && i < shown; ++i)
    list += (i ? ", " : "") + names[i];
  if (names.size() > shown)
    list += fmt::format(" and {} more", names.size() - shown);
  return list;
}

// "f(), g()".
std::string callList(const std::set<std::string> &names) {
  std::string out;
  for (const std::string &f : names)
    out += (out.empty() ? "" : ", ") + f + "()";
  return out;
}

bool UnitJob::changesSomething() const {
  const UnitPlan &p = b_.plan;
  if (!p.replaced.empty() || !p.added.empty() || !p.addedVars.empty() ||
      !p.typeUpdates.empty() || !p.shadowUpdates.empty())
    return true;
  if (!sourceChanged())
    return false; // only included headers changed: runUnitJobs sums those up
  if (!p.deleted.empty())
    fmt::print(stderr, "{}/{}:1:1: note: no function changed: the new version only removes "
                       "{}, which a live patch cannot do (the old code stays)\n",
               o_.newDir, rel_, callList(p.deleted));
  else if (!p.leftOut.empty())
    fmt::print(stderr, "{}/{}:1:1: note: no function to replace: only {} changed, which the "
                       "running kernel does not run again (left out, see the warnings)\n",
               o_.newDir, rel_, callList(p.leftOut));
  else
    explainNoChange();
  return false;
}

// No function changed: the changed lines are compiled out in this
// configuration (say under which #if), or they are no code of a function.
void UnitJob::explainNoChange() const {
  const std::string oldText = readFile(in_.tree.oldVersionOf(rel_)).value_or("");
  const std::set<unsigned> code = codeLines(newText_);
  const std::set<unsigned> directives = directiveLines(newText_);
  const std::set<unsigned> changed = changedLines(oldText, newText_);
  std::vector<unsigned> changedCode, compiledOut;
  for (unsigned line : changed)
    if (code.count(line)) {
      changedCode.push_back(line);
      if (!compiledLines_.count(line) && !directives.count(line))
        compiledOut.push_back(line);
    }
  const unsigned first = !changedCode.empty() ? changedCode.front()
                        : !changed.empty()    ? *changed.begin()
                                              : 1;
  const std::string at = fmt::format("{}/{}:{}:1", o_.newDir, rel_, first);
  if (changedCode.empty()) {
    fmt::print(stderr, "{}: note: no function changed (only comments or formatting)\n", at);
    return;
  }
  if (compiledOut.empty() || compiledOut.size() < changedCode.size()) {
    fmt::print(stderr, "{}: note: no function changed (only declarations, directives or code "
                       "outside functions)\n", at);
    return;
  }
  // Every changed line of code is compiled out: name the blocks.
  std::vector<std::string> blocks;
  for (unsigned line : compiledOut)
    if (std::string b = enclosingConditional(newText_, line);
        std::find(blocks.begin(), blocks.end(), b) == blocks.end())
      blocks.push_back(b);
  std::string under;
  for (const std::string &b : blocks)
    under += (under.empty() ? "" : ", ") + (b.empty() ? std::string("no #if (a directive)") : b);
  fmt::print(stderr, "{}: note: no function changed: the changed lines ({}-{}) are compiled out "
                     "in this configuration (under {})\n",
             at, compiledOut.front(), compiledOut.back(), under);
}

} // namespace

namespace {

// What the check ahead of the jobs found of a unit only changed headers
// reach.
struct HeaderVerdict {
  bool same = false; // its code stays as it is: no job
  std::string why;   // for -v
};

// The units only changed headers reach, preprocessed and compared ahead of
// the jobs on every core (a header of the whole stable update reaches most
// of a kernel's units, and most need no parse: PreprocessedDiff.h).
std::map<std::string, HeaderVerdict> checkHeaderOnlyUnits(const UnitJobInputs &in, const std::vector<std::string> &rels) {
  std::vector<std::unique_ptr<UnitJobResults>> scratch;
  std::vector<std::unique_ptr<UnitJob>> jobs;
  for (const std::string &rel : rels) {
    if (std::binary_search(in.tree.changedC.begin(), in.tree.changedC.end(), rel))
      continue;
    scratch.push_back(std::make_unique<UnitJobResults>());
    // Their own numbers: the jobs' scratch files do not meet.
    auto job = std::make_unique<UnitJob>(in, *scratch.back(), rel, 1000000 + jobs.size());
    if (job->prepareHeaderCheck())
      jobs.push_back(std::move(job));
  }
  std::vector<char> same(jobs.size(), 0);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < jobs.size();)
      same[i] = jobs[i]->headersLeaveCodeAsItIs();
  };
  const unsigned threads =
      std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), jobs.size()));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t)
    pool.emplace_back(worker);
  worker();
  for (std::thread &t : pool)
    t.join();
  std::map<std::string, HeaderVerdict> out;
  for (size_t i = 0; i < jobs.size(); ++i)
    out[jobs[i]->rel()] = {same[i] != 0, jobs[i]->headerVerdict()};
  return out;
}

} // namespace

void runUnitJobs(const UnitJobInputs &in, UnitJobResults &results) {
  fs::create_directories(in.work + "/units");
  fs::create_directories(in.work + "/src");
  std::set<std::string> reaching; // changed headers some unit of the patch includes
  std::set<std::string> refused;  // changed headers an error names
  const std::vector<std::string> rels = in.tree.unitsToCompare();
  const std::map<std::string, HeaderVerdict> checked = checkHeaderOnlyUnits(in, rels);
  for (const std::string &rel : rels) {
    // A unit only refused headers reach would report their errors again:
    // the patch is refused already (a struct of include/linux/pci.h
    // changed layout: hundreds of includers).
    if (auto h = in.tree.headerDependents.find(rel);
        !refused.empty() && h != in.tree.headerDependents.end() &&
        !std::binary_search(in.tree.changedC.begin(), in.tree.changedC.end(), rel) &&
        std::includes(refused.begin(), refused.end(), h->second.begin(), h->second.end()))
      continue;
    auto verdict = checked.find(rel);
    if (verdict != checked.end() && verdict->second.same) {
      if (in.options.verbose)
        fmt::print(stderr, "dsu-patchgen: {}: {}\n", rel, verdict->second.why);
      continue;
    }
    PatchUnit unit;
    UnitJob job(in, results, rel, results.units.size());
    if (verdict != checked.end())
      job.knowHeadersChangeCode(verdict->second.why);
    if (job.run(unit)) {
      if (auto h = in.tree.headerDependents.find(rel); h != in.tree.headerDependents.end())
        reaching.insert(h->second.begin(), h->second.end());
      results.units.push_back(std::move(unit));
    }
    for (const std::string &h : in.tree.changedHeaders)
      if (!refused.count(h))
        for (const std::string &message : results.reported)
          if (message.find("/" + h + ":") != std::string::npos &&
              message.find(": error: ") != std::string::npos)
            refused.insert(h);
  }
  // The new headers are the old version of a patch stacked on this one.
  for (const std::string &h : in.tree.changedHeaders) {
    fs::create_directories(fs::path(in.work + "/src/" + h).parent_path());
    writeFile(in.work + "/src/" + h, readFile(in.options.newDir + "/" + h).value_or(""));
  }
  // Units only a header reached that were not instrumented (boot code, the
  // vdso ...): one warning per reason.
  for (const auto &[why, rels] : results.notInstrumented)
    fmt::print(stderr, "{}/{}:1:1: warning: {} unit{} including a changed header {} not "
                       "instrumented in the running program ({}: {}); if {} code changes with "
                       "the header, {} the old code\n",
               in.options.newDir, rels.front(), rels.size(), rels.size() == 1 ? "" : "s",
               rels.size() == 1 ? "was" : "were", why, nameList(rels, 3),
               rels.size() == 1 ? "its" : "their", rels.size() == 1 ? "it keeps" : "they keep");
  if (results.failed)
    return;
  // A changed header no unit of the patch takes code from: say why.
  for (const std::string &h : in.tree.changedHeaders) {
    if (reaching.count(h) || in.tree.shadowOnlyHeaders.count(h))
      continue;
    std::set<std::string> uncompared; // warned about above
    for (const auto &[why, rels] : results.notInstrumented)
      uncompared.insert(rels.begin(), rels.end());
    std::vector<std::string> includers;
    for (const auto &[rel, headers] : in.tree.headerDependents)
      if (headers.count(h) && !uncompared.count(rel))
        includers.push_back(rel);
    const std::string list = nameList(includers, 3);
    if (includers.empty() &&
        std::any_of(in.tree.headerDependents.begin(), in.tree.headerDependents.end(),
                    [&](const auto &d) { return d.second.count(h) > 0; }))
      continue; // only units that were not instrumented include it: warned above
    if (includers.empty())
      fmt::print(stderr, "{}/{}:1:1: note: no unit this build compiles with dsu-cc includes it\n",
                 in.options.newDir, h);
    else
      fmt::print(stderr, "{}/{}:1:1: note: no function changed in the {} unit{} that include{} "
                         "it ({})\n",
                 in.options.newDir, h, includers.size(), includers.size() == 1 ? "" : "s",
                 includers.size() == 1 ? "s" : "", list);
  }
}

bool checkDeletedUses(const std::vector<PatchUnit> &units) {
  std::set<std::string> patchAdds;
  for (const PatchUnit &b : units)
    patchAdds.insert(b.unit.addedGlobals.begin(), b.unit.addedGlobals.end());
  bool ok = true;
  for (const PatchUnit &b : units)
    for (const DeletedUse &d : b.unit.deletedUses)
      if (!d.external || !patchAdds.count(d.name)) {
        fmt::print(stderr, "{}\n", d.error);
        ok = false;
      }
  return ok;
}

} // namespace dsu
