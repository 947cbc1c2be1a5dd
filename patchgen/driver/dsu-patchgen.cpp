// dsu-patchgen: turns a source change into a live patch.
//
//   dsu-patchgen OLD NEW -o OUT [--kernel KDIR] [--name NAME] [--no-build]
//
// OLD is a tree built with dsu-cc (its <object>.dsu.json manifests give each
// unit's compile command, identity and what is updateable), or the output
// directory of an earlier dsu-patchgen run (the new patch then stacks on top
// of that one). NEW is the changed source: a copy of OLD with edited files
// (`cp -al old new` and edit, or patch(1)). Only files that differ are parsed,
// both versions with OLD's flags; functions are compared on their printed
// ASTs. OUT receives the patch units' code, the patch manifest patch.json
// (docs/patch.md) and the artifact: OUT/NAME.so, or with --kernel OUT/NAME.ko
// built by kbuild's external-module path against the instrumented kernel.
// Changes it cannot handle are errors naming file:line and the reason, and
// then there is no artifact, nor a previous run's (OutputDir).
//
// The phases, in the order they run, live in patchgen/lib under their names.

#include "BaseTree.h"
#include "DiffTree.h"
#include "Files.h"
#include "KernelSymbols.h"
#include "Manifest.h"
#include "Options.h"
#include "OutputDir.h"
#include "PatchBuild.h"
#include "PatchJson.h"
#include "PatchSafety.h"
#include "PatchTable.h"
#include "PhaseLog.h"
#include "Transformers.h"
#include "UnitJob.h"

#include <fmt/format.h>

#include <filesystem>

namespace fs = std::filesystem;
using namespace dsu;

namespace {

// The phases from the trees to the patch in the run's directory; the exit
// status. `summary`: the line printed once the patch is OUT.
int generate(const PatchgenOptions &o, OutputDir &output, const PhaseLog &log,
             std::string &summary) {
  // 1. The base: a built tree, or a previous patch on top of one.
  BaseTree tree;
  if (!inputsAreDirectories(o))
    return 2;
  if (!readPatchChain(o, tree))
    return 1;
  // 2. Changed files.
  compareTrees(o, output.work(), tree);
  log.done("compared the trees");
  // 3. The manifests of the changed units and of those including a changed
  //    header, the kernel's symbols and the user's transformers; then each
  //    unit's job.
  bool failed = false;
  if (!findUnitManifests(o, output.work(), tree, failed))
    return 1;
  log.done("found the manifests");
  const std::string patchName = o.name.empty() ? fs::path(o.outDir).filename().string() : o.name;
  KernelSymbols kernelSymbols;
  if (o.kernel() && !readKernelSymbols(o.kernelDir, kernelSymbols))
    return 1;
  std::vector<TransformerFile> transformers;
  if (!readTransformerFiles(o, transformers))
    return 1;
  UnitJobResults jobs;
  runUnitJobs({o, tree, kernelSymbols, transformers, output.work(), patchName}, jobs);
  const std::vector<PatchUnit> &units = jobs.units;
  failed |= jobs.failed;
  if (!checkDeletedUses(units))
    failed = true;
  log.done("parsed, compared and rewrote the changed units");
  finishTransformers(transformers, jobs.transformerTagsUsed, jobs.transformerStubs, output);
  if (failed)
    return 1;
  if (units.empty()) {
    // Not a refusal: there is nothing to do (the notes above say why).
    fmt::print(stderr, "dsu-patchgen: nothing to patch: no function this build compiles "
                       "changed\n");
    return 3;
  }
  // 4. Where the patch is unsafe, the patch table and the manifest.
  const PatchContext patch{o, tree, units};
  const std::string fullName = patchFullName(units, patchName, tree.chain.parentName);
  PatchSafety safety = analysePatchSafety(patch, log);
  writeFile(output.work() + "/dsu_patch_main.c",
            patchTableText({units, safety, fullName, tree.chain.parentName, o.kernel()}));
  nlohmann::json manifest = patchManifest(patch, safety, fullName, output.work());
  // 5. The build.
  std::string artifact;
  if (o.build) {
    if (!buildPatch(patch, patchName, output, artifact))
      return 1;
    manifest["artifact"] = artifact;
    log.done("built the artifact");
  }
  manifest["seconds"] = log.seconds();
  std::string err;
  if (!writeJsonFile(output.work() + "/patch.json", manifest, err)) {
    fmt::print(stderr, "dsu-patchgen: error: {}\n", err);
    return 1;
  }
  const PatchCounts n = countPatch(units);
  summary = fmt::format(
      "dsu-patchgen: {}: {} unit{}, {} function{} replaced, {} added, {} variable{} added, "
      "{} reference{}; {:.2f} s{}\n",
      fullName, units.size(), units.size() == 1 ? "" : "s", n.funcs, n.funcs == 1 ? "" : "s",
      n.newFuncs, n.addedVars, n.addedVars == 1 ? "" : "s", n.refs, n.refs == 1 ? "" : "s",
      log.seconds(), artifact.empty() ? "" : "\n  " + artifact);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  PatchgenOptions o = parseOptions(argc, argv);
  const PhaseLog log(o.verbose);
  // OUT is replaced as a whole: never a directory that holds the inputs or
  // something dsu-patchgen did not make. Then OUT is left as it is.
  std::string previous;
  std::string why = OutputDir::check(
      o.outDir, {{"OLD", o.oldDir}, {"NEW", o.newDir}, {"KDIR", o.kernelDir}}, previous);
  if (!why.empty()) {
    fmt::print(stderr, "dsu-patchgen: error: -o {}: {}; each run replaces OUT as a whole: "
                       "choose another directory (this one is left as it is)\n",
               o.outDir, why);
    return 2;
  }
  OutputDir output(o.outDir, previous);
  std::string error;
  if (!output.create(error)) {
    fmt::print(stderr, "dsu-patchgen: error: {}\n", error);
    return 1;
  }
  std::string summary;
  int rc = 1;
  if (!o.diff.empty()) {
    o.newDir = output.work() + "/fixed"; // messages name files of the fixed version
    if (!makeNewTree(o.oldDir, o.diff, o.newDir, error)) {
      fmt::print(stderr, "dsu-patchgen: error: {}\n", error);
      output.discard();
      fmt::print(stderr, "dsu-patchgen: no patch made\n");
      return 1;
    }
    log.done("applied the fix to a copy of OLD");
  }
  if (keepUserTransformers(o, output)) {
    try {
      rc = generate(o, output, log, summary);
    } catch (const std::exception &e) { // the work directory is cleaned up all the same
      fmt::print(stderr, "dsu-patchgen: error: {}\n", e.what());
    }
  }
  if (!o.diff.empty()) // NEW was ours: not part of OUT
    OutputDir::removeAll(o.newDir);
  if (rc == 0 && !output.commit(error)) {
    fmt::print(stderr, "dsu-patchgen: error: {}\n", error);
    rc = 1;
  }
  if (rc != 0) {
    output.discard();
    fmt::print(stderr, "dsu-patchgen: no patch made\n");
    return rc;
  }
  fmt::print("{}", summary);
  return 0;
}
