// The base a patch is made against, and which of its units differ.
#include "BaseTree.h"

#include "Files.h"
#include "HeaderChange.h"
#include "ManifestReader.h"

#include <fmt/format.h>
#include <llvm/ADT/StringRef.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#ifndef DSU_DEFAULT_CLANG
#define DSU_DEFAULT_CLANG "/usr/lib/llvm-19/bin/clang"
#endif

namespace fs = std::filesystem;

namespace dsu {

std::string BaseTree::oldVersionOf(const std::string &rel) const {
  if (!chain.prevDir.empty() && fs::exists(chain.prevDir + "/src/" + rel))
    return chain.prevDir + "/src/" + rel;
  return baseDir + "/" + rel;
}

bool inputsAreDirectories(const PatchgenOptions &o) {
  if (fs::is_directory(o.oldDir) && fs::is_directory(o.newDir))
    return true;
  fmt::print(stderr, "dsu-patchgen: error: {} is not a directory\n",
             fs::is_directory(o.oldDir) ? o.newDir : o.oldDir);
  return false;
}

bool readPatchChain(const PatchgenOptions &o, BaseTree &tree) {
  tree.baseDir = o.oldDir;
  const std::string path = o.oldDir + "/patch.json";
  std::error_code ec;
  if (!fs::exists(path, ec))
    return true;
  PatchChain &chain = tree.chain;
  std::string error;
  chain.prev = readPatchManifest(path, error);
  if (!chain.prev) {
    fmt::print(stderr, "dsu-patchgen: error: {}\n", error);
    return false;
  }
  chain.parentName = chain.prev->name;
  chain.prevDir = o.oldDir;
  tree.baseDir = chain.prev->baseDir;
  if (chain.prev->kernel != o.kernel()) {
    fmt::print(stderr, "dsu-patchgen: error: {} is a {} patch; this one would be a {} patch\n",
               o.oldDir, chain.prev->kernel ? "kernel" : "user", o.kernel() ? "kernel" : "user-space");
    return false;
  }
  return true;
}

void compareTrees(const PatchgenOptions &o, const std::string &work, BaseTree &tree) {
  for (auto it = fs::recursive_directory_iterator(o.newDir, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    const fs::path &p = it->path();
    std::string name = p.filename().string();
    if (it->is_directory()) {
      if (name == ".git" || name == ".dsu" || llvm::StringRef(name).ends_with(".dsu") ||
          p.string() == o.outDir || p.string() == work)
        it.disable_recursion_pending();
      continue;
    }
    llvm::StringRef ext = llvm::StringRef(name).rsplit('.').second;
    if ((ext != "c" && ext != "h") || !it->is_regular_file())
      continue;
    // The iterator's paths start with NEW (already absolute and normalized).
    std::string rel = p.string().substr(o.newDir.size() + 1);
    std::string old = tree.oldVersionOf(rel);
    if (!fs::exists(old)) {
      if (ext == "c")
        tree.changedC.push_back(rel); // new file: reported by the unit's job
      continue;
    }
    if (!sameFile(old, p.string()))
      (ext == "c" ? tree.changedC : tree.changedHeaders).push_back(rel);
  }
  std::sort(tree.changedC.begin(), tree.changedC.end());
  std::sort(tree.changedHeaders.begin(), tree.changedHeaders.end());
}

std::vector<std::string> BaseTree::unitsToCompare() const {
  std::set<std::string> all(changedC.begin(), changedC.end());
  for (const auto &[rel, headers] : headerDependents)
    all.insert(rel);
  return {all.begin(), all.end()};
}

// Object names usually follow the source's (dir/x.c -> dir/x.o): those are
// matched without reading every manifest; others are read. On the way:
// units the running program was built from whose source NEW no longer has
// (removed or renamed), which a live patch cannot express.
namespace {

// Headers the previous patches of the chain changed (their copies in
// OUT/src): the old version of a unit including one would have to be parsed
// with that copy, which this version cannot do.
std::set<std::string> chainHeaders(const BaseTree &tree) {
  std::set<std::string> out;
  if (tree.chain.prevDir.empty() || !fs::is_directory(tree.chain.prevDir + "/src"))
    return out;
  const std::string src = tree.chain.prevDir + "/src";
  for (auto it = fs::recursive_directory_iterator(src); it != fs::recursive_directory_iterator();
       ++it)
    if (it->is_regular_file() && it->path().extension() == ".h")
      out.insert(it->path().string().substr(src.size() + 1));
  return out;
}

std::string canonical(const std::string &path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(path, ec);
  return ec ? path : p.string();
}

} // namespace

bool findUnitManifests(const PatchgenOptions &o, const std::string &work, BaseTree &tree,
                       bool &failed) {
  const std::string &baseDir = tree.baseDir;
  std::set<std::string> wanted(tree.changedC.begin(), tree.changedC.end());
  // Changed headers, and those of the chain below, by canonical path in the
  // base (where the units' compiles read them) -> rel.
  const std::set<std::string> fromChain = chainHeaders(tree);
  std::map<std::string, std::string> headerRel;
  for (const std::string &h : tree.changedHeaders)
    // Fields added to shadowed structs only (--shadow task_struct): no
    // includer's code changes with that, so none is compared.
    if (o.shadow.empty() ||
        !shadowOnlyHeaderChange(readFile(tree.oldVersionOf(h)).value_or(""),
                                readFile(o.newDir + "/" + h).value_or(""), o.shadow)
             .empty())
      headerRel[canonical(baseDir + "/" + h)] = h;
    else
      tree.shadowOnlyHeaders.insert(h);
  for (const std::string &h : fromChain)
    headerRel[canonical(baseDir + "/" + h)] = h;
  std::set<std::string> headers;
  for (const auto &[abs, rel] : headerRel)
    headers.insert(abs);
  std::map<std::string, std::set<std::string>> chainDependents; // unit -> chain headers
  bool refused = false; // a manifest could not be read: which units it was is unknown
  unsigned scratch = 0;
  for (auto it = fs::recursive_directory_iterator(baseDir, fs::directory_options::skip_permission_denied);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_directory()) {
      std::string name = it->path().filename().string();
      if (name == ".git")
        it.disable_recursion_pending();
      continue;
    }
    std::string path = it->path().string();
    if (!llvm::StringRef(path).ends_with(".o.dsu.json"))
      continue;
    const std::string object = path.substr(0, path.size() - strlen(".dsu.json"));
    // What the build recorded the compile read: a changed header in it (or
    // none recorded: the manifest's command tells) makes it a unit to compare.
    std::optional<std::vector<std::string>> deps;
    bool mayIncludeHeader = false;
    if (!headers.empty()) {
      deps = recordedDependencies(object);
      mayIncludeHeader = !deps || namesAnyFileOf(*deps, headers);
    }
    std::string guess = path.substr(0, path.size() - strlen(".o.dsu.json")) + ".c";
    if (!mayIncludeHeader && isUnder(guess, baseDir) &&
        !wanted.count(guess.substr(baseDir.size() + 1)) && fs::exists(guess) &&
        fs::exists(o.newDir + guess.substr(baseDir.size())))
      continue;
    ManifestError error;
    std::optional<Manifest> read = readManifestFile(path, error);
    if (!read) {
      fmt::print(stderr, "{}\n", error.message());
      refused = true;
      continue;
    }
    Manifest &m = *read;
    if (!m.hasCommandLine)
      continue;
    const std::string &src = m.source;
    std::string abs = absolutePath(fs::path(src).is_absolute() ? src : m.cwd + "/" + src);
    if (!isUnder(abs, baseDir))
      continue;
    std::string rel = fs::relative(abs, baseDir).string();
    // Gone from NEW, but the old tree has it (a temporary source the build
    // deleted again is no unit of the tree).
    if (llvm::StringRef(rel).ends_with(".c") && !fs::exists(o.newDir + "/" + rel) &&
        fs::exists(tree.oldVersionOf(rel))) {
      tree.removedUnits.emplace(rel, path);
      continue;
    }
    if (mayIncludeHeader && fs::exists(abs)) {
      if (!deps) {
        std::string why;
        deps = preprocessorDependencies(m, fmt::format("{}/deps{}.d", work, scratch++), why);
        if (!deps) {
          fmt::print(stderr, "{}:1:1: error: which headers {} includes is unknown: the build "
                             "kept no dependency file beside {}, and {}\n",
                     abs, rel, object, why);
          refused = true;
          continue;
        }
      }
      for (const std::string &h : includedHeaders(*deps, m.cwd, headers)) {
        const std::string &hrel = headerRel[h];
        (fromChain.count(hrel) ? chainDependents[rel] : tree.headerDependents[rel]).insert(hrel);
      }
    }
    if (!wanted.count(rel) && !tree.headerDependents.count(rel))
      continue;
    tree.units[rel] = BaseTreeUnit{path, std::move(m), rel, abs};
  }
  // The running program keeps a removed unit's code: whatever the new
  // version does instead (a renamed file is a new unit, for which the
  // running program has no object) cannot replace it.
  for (const auto &[rel, manifest] : tree.removedUnits) {
    fmt::print(stderr, "{}/{}:1:1: error: the running program was built from {} ({}), but the "
                       "new version has no {} (removed or renamed): a live patch cannot remove a "
                       "unit's code; keep the file in {}\n",
               baseDir, rel, rel, manifest, rel, o.newDir);
    failed = true;
  }
  // A unit this patch compares whose old version includes a header the
  // chain changed would be compared with the base's header.
  for (const auto &[rel, hs] : chainDependents)
    if (tree.units.count(rel)) {
      fmt::print(stderr, "{}/{}:1:1: error: {} includes {}, which a patch below this one "
                         "changed; a stacked patch cannot compare it yet: make one patch from "
                         "the base ({}) instead\n",
                 o.newDir, rel, rel, *hs.begin(), baseDir);
      failed = true;
    }
  if (refused)
    return false;
  // Changed headers no unit includes are no refusal: the unit jobs note
  // them, and the driver says there is nothing to patch.
  if (tree.changedC.empty() && tree.changedHeaders.empty() && !failed) {
    fmt::print(stderr, "dsu-patchgen: error: no .c or .h file differs between {} and {}\n",
               o.oldDir, o.newDir);
    return false;
  }
  return true;
}

CompileJob classifyIn(const std::string &cwd, const std::vector<std::string> &args) {
  char saved[4096];
  bool back = getcwd(saved, sizeof saved) != nullptr;
  if (!cwd.empty() && chdir(cwd.c_str()) != 0)
    back = false;
  CompileJob job = classifyCommandLine(args, DSU_DEFAULT_CLANG);
  if (back && chdir(saved) != 0)
    std::perror("dsu-patchgen: chdir");
  return job;
}

std::vector<std::string> recordedCompiler(const Manifest &m) {
  return m.compiler.empty() ? std::vector<std::string>{"clang-19"} : m.compiler;
}

BaseUnit baseUnit(const Manifest &m, const PatchChain &chain) {
  BaseUnit b;
  b.tu = m.tu;
  b.unitHash = m.unitHash;
  // A reason the manifest leaves out is shown as "?".
  auto reasonOf = [](const ManifestEntry &e) { return e.reason.empty() ? "?" : e.reason; };
  for (const ManifestFunction &f : m.functions) {
    if (!(llvm::StringRef(f.file).ends_with(".c") || llvm::StringRef(f.file).ends_with(".i")))
      continue;
    b.functions[f.name] = f.updateable ? "" : reasonOf(f);
  }
  for (const ManifestVariable &v : m.variables) {
    if (v.registered)
      b.registeredVars.insert(v.name);
    else
      b.unregisteredVars[v.name] = v.reasonText;
  }
  if (chain.prev)
    b.patchGlobals.insert(chain.prev->globals.begin(), chain.prev->globals.end());
  for (const ManifestType &t : m.types) {
    if (!t.updateable) {
      b.unwrapped[t.name] = reasonOf(t);
      continue;
    }
    BaseUnit::WrappedType w;
    w.tag = llvm::StringRef(t.name).starts_with("struct ") ? t.name.substr(7) : t.name;
    w.unionSize = t.unionSize;
    w.unionAlign = t.unionAlign;
    w.slop = t.slop;
    b.wrapped[t.name] = w;
  }
  if (chain.prev)
    for (const PatchCumulativeUnit &u : chain.prev->cumulative)
      if (u.tu == b.tu) {
        for (const std::string &f : u.functions)
          b.functions[f] = "";
        b.registeredVars.insert(u.variables.begin(), u.variables.end());
        for (const auto &[name, version] : u.typeVersions)
          if (b.wrapped.count(name))
            b.wrapped[name].version = version;
      }
  return b;
}

} // namespace dsu
