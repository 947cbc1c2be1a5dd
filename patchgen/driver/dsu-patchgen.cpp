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

#include "Alignment.h"
#include "Argv.h"
#include "Indirection.h"
#include "Manifest.h"
#include "Safety.h"
#include "UnitDiff.h"

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/Basic/Diagnostic.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/FrontendAction.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Tooling/Tooling.h>
#include <fmt/format.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/SHA256.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/ADT/StringExtras.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <set>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef DSU_DEFAULT_CLANG
#define DSU_DEFAULT_CLANG "/usr/lib/llvm-19/bin/clang"
#endif
#ifndef DSU_RUNTIME_INCLUDE
#define DSU_RUNTIME_INCLUDE ""
#endif

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Options {
  std::string oldDir, newDir, outDir, kernelDir, name;
  std::vector<std::string> transformers; // --transformers FILE (user-written type transformers)
  std::set<std::string> shadow;          // --shadow TAG: added fields become shadow data
  bool build = true;
  bool safety = true; // run the safety analysis (--no-safety: runtimes fall back to activeness)
  bool verbose = false;
};

[[noreturn]] void usage() {
  fmt::print(stderr, "usage: dsu-patchgen OLD NEW -o OUT [--kernel KDIR] [--name NAME] "
                     "[--transformers FILE]... [--shadow TAG]... [--no-build] [--no-safety] [-v]\n");
  std::exit(2);
}

std::optional<std::string> readFile(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buf)
    return std::nullopt;
  return (*buf)->getBuffer().str();
}

bool writeFile(const std::string &path, const std::string &text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  return bool(out);
}

// Runs argv in `cwd`; stdout/stderr to files when given. Exit status.
int run(const std::vector<std::string> &argv, const std::string &cwd, const std::string &out = "",
        const std::string &err = "") {
  std::vector<char *> args;
  for (const std::string &s : argv)
    args.push_back(const_cast<char *>(s.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    if (!cwd.empty() && chdir(cwd.c_str()) != 0)
      _exit(126);
    if (!out.empty() && !freopen(out.c_str(), "w", stdout))
      _exit(126);
    if (!err.empty() && !freopen(err.c_str(), "w", stderr))
      _exit(126);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) < 0)
    return 127;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string firstError(const std::string &text) {
  size_t pos = text.find("error");
  if (pos == std::string::npos)
    return text.substr(0, text.find('\n'));
  size_t begin = text.rfind('\n', pos);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, text.find('\n', pos) - begin);
}

// Whether two files have the same contents (hard links: the same inode).
bool sameFile(const std::string &a, const std::string &b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0)
    return false;
  if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino)
    return true;
  if (sa.st_size != sb.st_size)
    return false;
  return readFile(a) == readFile(b);
}

// ---- parsing ------------------------------------------------------------

struct ParseRequest {
  std::vector<std::string> args; // parse arguments (no input)
  std::string cwd;
  std::string source;            // absolute path given to the parser
  std::optional<std::string> content; // replaces the file's contents
};

// Parses a unit and hands its AST (and the recorded tokens) to `use`.
// Errors are the compiler's diagnostics.
bool parseUnit(const ParseRequest &req, std::string &diagnostics,
               const std::function<void(clang::ASTContext &, dsu::TokenRecorder &)> &use) {
  struct Action : clang::ASTFrontendAction {
    const std::function<void(clang::ASTContext &, dsu::TokenRecorder &)> &use;
    llvm::raw_string_ostream diag;
    dsu::TokenRecorder recorder;
    Action(const std::function<void(clang::ASTContext &, dsu::TokenRecorder &)> &u, std::string &d)
        : use(u), diag(d) {}
    bool BeginSourceFileAction(clang::CompilerInstance &ci) override {
      auto *printer = new clang::TextDiagnosticPrinter(diag, &ci.getDiagnosticOpts());
      ci.getDiagnostics().setClient(printer, true);
      printer->BeginSourceFile(ci.getLangOpts(), &ci.getPreprocessor());
      ci.getDiagnostics().setIgnoreAllWarnings(true);
      ci.getPreprocessor().setTokenWatcher([this](const clang::Token &t) { recorder(t); });
      return true;
    }
    std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance &ci,
                                                          llvm::StringRef) override {
      struct Consumer : clang::ASTConsumer {
        Action &self;
        clang::CompilerInstance &ci;
        Consumer(Action &s, clang::CompilerInstance &c) : self(s), ci(c) {}
        void HandleTranslationUnit(clang::ASTContext &ctx) override {
          if (!ci.getDiagnostics().hasErrorOccurred())
            self.use(ctx, self.recorder);
        }
      };
      return std::make_unique<Consumer>(*this, ci);
    }
  };
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
  clang::tooling::ToolInvocation inv(cmd, std::make_unique<Action>(use, diagnostics), files.get());
  inv.setDiagnosticConsumer(&driverDiags);
  bool ok = inv.run();
  return ok && diagnostics.find("error:") == std::string::npos;
}

// ---- the base -----------------------------------------------------------

struct UnitInfo {
  std::string manifestPath;
  json manifest;
  std::string rel;        // source path relative to the base root
  std::string baseSource; // absolute, in the base tree
};

struct Chain {
  std::string parentName;
  std::string prevDir;    // the previous patch's output directory
  json prev;              // its patch.json
};

// The recorded command line is relative to the directory it ran in.
dsu::CompileJob classifyIn(const std::string &cwd, const std::vector<std::string> &args) {
  char saved[4096];
  bool back = getcwd(saved, sizeof saved) != nullptr;
  if (!cwd.empty() && chdir(cwd.c_str()) != 0)
    back = false;
  dsu::CompileJob job = dsu::classifyCommandLine(args, DSU_DEFAULT_CLANG);
  if (back && chdir(saved) != 0)
    std::perror("dsu-patchgen: chdir");
  return job;
}

std::string absolute(const std::string &p) {
  std::error_code ec;
  fs::path a = fs::weakly_canonical(fs::absolute(p), ec);
  std::string out = ec ? fs::absolute(p).lexically_normal().string() : a.string();
  while (out.size() > 1 && out.back() == '/') // `-o out/`: OUT's name is "out"
    out.pop_back();
  return out;
}

bool under(const std::string &path, const std::string &root) {
  return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

// The base's functions and registered variables of a unit, plus what the
// patches below this one added to it.
dsu::BaseUnit baseUnit(const json &m, const Chain &chain) {
  dsu::BaseUnit b;
  b.tu = m.value("tu", "");
  b.unitHash = m.value("unit_hash", "");
  for (const json &f : m.value("functions", json::array())) {
    std::string file = f.value("file", "");
    if (!(llvm::StringRef(file).ends_with(".c") || llvm::StringRef(file).ends_with(".i")))
      continue;
    b.functions[f.value("name", "")] = f.value("updateable", false) ? "" : f.value("reason", "?");
  }
  for (const json &v : m.value("variables", json::array())) {
    if (v.value("registered", false))
      b.registeredVars.insert(v.value("name", ""));
    else
      b.unregisteredVars[v.value("name", "")] = v.value("reason_text", "");
  }
  if (!chain.prev.is_null())
    for (const json &g : chain.prev.value("globals", json::array()))
      b.patchGlobals.insert(g.get<std::string>());
  for (const json &t : m.value("types", json::array())) {
    const std::string name = t.value("name", "");
    if (!t.value("updateable", false)) {
      b.unwrapped[name] = t.value("reason", "?");
      continue;
    }
    dsu::BaseUnit::WrappedType w;
    w.tag = llvm::StringRef(name).starts_with("struct ") ? name.substr(7) : name;
    w.unionSize = t.value("union_size", 0ul);
    w.unionAlign = t.value("union_align", 0ul);
    w.slop = t.value("slop", 0ul);
    b.wrapped[name] = w;
  }
  if (!chain.prev.is_null())
    for (const json &u : chain.prev.value("cumulative", json::array()))
      if (u.value("tu", "") == b.tu) {
        for (const json &f : u.value("functions", json::array()))
          b.functions[f.get<std::string>()] = "";
        for (const json &v : u.value("variables", json::array()))
          b.registeredVars.insert(v.get<std::string>());
        const json versions = u.value("type_versions", json::object());
        for (const auto &[name, version] : versions.items())
          if (b.wrapped.count(name))
            b.wrapped[name].version = version.get<unsigned>();
      }
  return b;
}

// Module.symvers: the symbols the kernel exports to modules.
std::set<std::string> exportedSymbols(const std::string &kdir) {
  std::set<std::string> out;
  std::ifstream in(kdir + "/Module.symvers");
  std::string line;
  while (std::getline(in, line)) {
    auto t1 = line.find('\t');
    auto t2 = line.find('\t', t1 + 1);
    if (t1 != std::string::npos && t2 != std::string::npos)
      out.insert(line.substr(t1 + 1, t2 - t1 - 1));
  }
  return out;
}

// ---- the output directory ---------------------------------------------
//
// A run writes into a fresh directory beside OUT (created exclusively, on
// OUT's file system) and replaces OUT with it as a whole, by rename, only
// when it made a patch. OUT never mixes two runs (a stale src/ copy would be
// the old version of a file for a patch stacked on OUT), and a run that
// makes no patch leaves none behind: a refused run used to leave the
// previous .so and patch.json in place, and that stale patch was applied as
// the new one. What a failed run wrote for the user (transformer stubs,
// build.log, the units' code) is still put in OUT, without a manifest or an
// artifact.
class OutputDir {
public:
  static constexpr const char *kMarker = ".dsu-patchgen";

  // Whether OUT may be replaced as a whole: it does not exist, is empty, or
  // was made by dsu-patchgen (and holds no other patch); and it holds none
  // of the run's inputs. "" if so, else why not. `previous`: the name of the
  // patch OUT holds now, if any.
  static std::string check(const std::string &out,
                           const std::vector<std::pair<std::string, std::string>> &inputs,
                           std::string &previous) {
    for (const auto &[what, path] : inputs)
      if (!path.empty() && (path == out || under(path, out)))
        return path == out ? "it is " + what : fmt::format("it contains {} ({})", what, path);
    std::error_code ec;
    if (!fs::exists(out, ec))
      return "";
    if (!fs::is_directory(out, ec))
      return "it exists and is not a directory";
    if (auto text = readFile(out + "/patch.json")) {
      json pj = json::parse(*text, nullptr, false);
      if (!pj.is_discarded() && pj.is_object() && pj.value("schema", "") == "dsu-patch/1")
        previous = pj.value("name", "");
    }
    bool empty = fs::is_empty(out, ec);
    if (!empty && previous.empty() && !fs::exists(out + "/" + kMarker) && !oldLayout(out))
      return fmt::format("it exists and was not made by dsu-patchgen (no patch.json or {} in "
                         "it)", kMarker);
    for (auto it = fs::directory_iterator(out, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      if (it->is_directory() && (fs::exists(it->path() / "patch.json") ||
                                 fs::exists(it->path() / kMarker)))
        return fmt::format("it holds another patch ({})", it->path().string());
    return "";
  }

  OutputDir(std::string out, std::string previous)
      : out_(std::move(out)), previous_(std::move(previous)) {}
  ~OutputDir() {
    if (!work_.empty())
      removeAll(work_);
  }

  // The fresh directory the run writes into.
  bool create(std::string &error) {
    fs::path out(out_);
    std::error_code ec;
    fs::create_directories(out.parent_path(), ec);
    std::string templ =
        (out.parent_path() / ("." + out.filename().string() + ".dsu-patchgen-XXXXXX")).string();
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) {
      error = fmt::format("cannot create a directory beside {}: {}", out_, std::strerror(errno));
      return false;
    }
    work_ = buf.data();
    // mkdtemp's 0700 would keep the patch from a program running as another
    // user (it opens the .so itself): the mode a plain mkdir gives.
    mode_t mask = umask(0);
    umask(mask);
    chmod(work_.c_str(), 0777 & ~mask);
    writeFile(work_ + "/" + kMarker,
              "Made by dsu-patchgen: each run replaces this directory as a whole.\n");
    return true;
  }
  const std::string &work() const { return work_; }
  const std::string &out() const { return out_; }
  // A path in the work directory as it will be once it is OUT.
  std::string shown(const std::string &path) const {
    return path.compare(0, work_.size(), work_) == 0 ? out_ + path.substr(work_.size()) : path;
  }

  // The run made a patch: the work directory becomes OUT.
  bool commit(std::string &error) { return replaceOut(error); }

  // A file a message names (transformer stubs, a build log, code that does
  // not compile): kept in OUT when the run makes no patch.
  void keep(const std::string &path) { kept_.insert(path); }

  // The run made no patch: OUT holds only the files its messages name, and
  // goes if there are none.
  void discard() {
    if (work_.empty())
      return;
    std::error_code ec;
    std::vector<fs::path> files, dirs;
    for (auto it = fs::recursive_directory_iterator(work_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
      (it->is_directory() ? dirs : files).push_back(it->path());
    bool keep = false;
    for (const fs::path &p : files) {
      if (p.filename() == kMarker)
        continue;
      if (kept_.count(p.string()))
        keep = true;
      else
        fs::remove(p, ec);
    }
    for (auto d = dirs.rbegin(); d != dirs.rend(); ++d) // deepest first; only empty ones go
      if (fs::is_empty(*d, ec))
        fs::remove(*d, ec);
    std::string error;
    if (!keep || !replaceOut(error)) {
      if (!error.empty())
        fmt::print(stderr, "dsu-patchgen: error: {}\n", error);
      if (fs::exists(out_))
        removeAll(out_);
      removeAll(work_);
      work_.clear();
    }
    if (!previous_.empty())
      fmt::print(stderr, "dsu-patchgen: note: {} no longer holds the previous patch {}: a run "
                         "that makes no patch leaves none behind\n",
                 out_, previous_);
  }

private:
  // Output directories of dsu-patchgen before the marker (a refused run's
  // units/ and transformer stubs).
  static bool oldLayout(const std::string &out) {
    std::error_code ec;
    for (auto it = fs::directory_iterator(out, ec); !ec && it != fs::directory_iterator();
         it.increment(ec)) {
      std::string name = it->path().filename().string();
      if (name != "units" && name != "src" && name != "transformers.c" && name != "build.log" &&
          name != "dsu_patch_main.c")
        return false;
    }
    return fs::is_directory(out + "/units");
  }
  static void removeAll(const std::string &path) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec)
      fmt::print(stderr, "dsu-patchgen: warning: cannot remove {}: {}\n", path, ec.message());
  }
  // The work directory takes OUT's place in one rename (an exchange when
  // OUT exists); the previous OUT, now at the work directory's name, goes.
  bool replaceOut(std::string &error) {
    if (renameat2(AT_FDCWD, work_.c_str(), AT_FDCWD, out_.c_str(), RENAME_NOREPLACE) == 0) {
      work_.clear();
      return true;
    }
    if (errno == EEXIST &&
        renameat2(AT_FDCWD, work_.c_str(), AT_FDCWD, out_.c_str(), RENAME_EXCHANGE) == 0) {
      removeAll(work_); // the previous OUT
      work_.clear();
      return true;
    }
    if (errno != EINVAL && errno != ENOSYS) {
      error = fmt::format("cannot move {} to {}: {}", work_, out_, std::strerror(errno));
      return false;
    }
    // A file system without renameat2's flags: OUT moves aside first.
    std::string aside = work_ + ".old";
    if (fs::exists(out_) && std::rename(out_.c_str(), aside.c_str()) != 0) {
      error = fmt::format("cannot move {} aside: {}", out_, std::strerror(errno));
      return false;
    }
    if (std::rename(work_.c_str(), out_.c_str()) != 0) {
      error = fmt::format("cannot move {} to {}: {}", work_, out_, std::strerror(errno));
      if (fs::exists(aside) && std::rename(aside.c_str(), out_.c_str()) != 0)
        error += fmt::format(" (the previous {} is at {})", out_, aside);
      return false;
    }
    removeAll(aside);
    work_.clear();
    return true;
  }

  std::string out_, previous_, work_;
  std::set<std::string> kept_;
};

int generate(Options &o, OutputDir &output, std::chrono::steady_clock::time_point t0,
             std::string &summary);

} // namespace

int main(int argc, char **argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-o" && i + 1 < argc)
      o.outDir = argv[++i];
    else if (a == "--kernel" && i + 1 < argc)
      o.kernelDir = argv[++i];
    else if (a == "--name" && i + 1 < argc)
      o.name = argv[++i];
    else if (a == "--transformers" && i + 1 < argc)
      o.transformers.push_back(argv[++i]);
    else if (a == "--shadow" && i + 1 < argc) {
      std::string tag = argv[++i];
      if (llvm::StringRef(tag).starts_with("struct "))
        tag = tag.substr(7);
      o.shadow.insert(tag);
    }
    else if (a == "--no-build")
      o.build = false;
    else if (a == "--no-safety")
      o.safety = false;
    else if (a == "-v")
      o.verbose = true;
    else if (!a.empty() && a[0] == '-')
      usage();
    else
      positional.push_back(a);
  }
  if (positional.size() != 2 || o.outDir.empty())
    usage();
  auto t0 = std::chrono::steady_clock::now();
  o.oldDir = absolute(positional[0]);
  o.newDir = absolute(positional[1]);
  o.outDir = absolute(o.outDir);
  if (!o.kernelDir.empty())
    o.kernelDir = absolute(o.kernelDir);
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
  // User transformers kept in OUT (the stubs' file, filled in) stay there.
  for (const std::string &t : o.transformers) {
    std::string path = absolute(t);
    if (!under(path, o.outDir) || !fs::is_regular_file(path))
      continue;
    std::string copy = output.work() + path.substr(o.outDir.size());
    std::error_code ec;
    fs::create_directories(fs::path(copy).parent_path(), ec);
    fs::copy_file(path, copy, fs::copy_options::overwrite_existing, ec);
    output.keep(copy);
    if (ec) {
      fmt::print(stderr, "dsu-patchgen: error: cannot keep {}: {}\n", path, ec.message());
      output.discard();
      fmt::print(stderr, "dsu-patchgen: no patch made\n");
      return 1;
    }
  }
  std::string summary;
  int rc = 1;
  try {
    rc = generate(o, output, t0, summary);
  } catch (const std::exception &e) { // the work directory is cleaned up all the same
    fmt::print(stderr, "dsu-patchgen: error: {}\n", e.what());
  }
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

namespace {

int generate(Options &o, OutputDir &output, std::chrono::steady_clock::time_point t0,
             std::string &summary) {
  const std::string work = output.work();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  auto phase = [&](const char *what) {
    if (o.verbose)
      fmt::print(stderr, "dsu-patchgen: {:.2f} s: {}\n", seconds(), what);
  };
  if (!fs::is_directory(o.oldDir) || !fs::is_directory(o.newDir)) {
    fmt::print(stderr, "dsu-patchgen: error: {} is not a directory\n",
               fs::is_directory(o.oldDir) ? o.newDir : o.oldDir);
    return 2;
  }
  const bool kernel = !o.kernelDir.empty();

  // 1. The base: a built tree, or a previous patch on top of one.
  Chain chain;
  std::string baseDir = o.oldDir;
  if (auto prevText = readFile(o.oldDir + "/patch.json")) {
    chain.prev = json::parse(*prevText, nullptr, false);
    if (chain.prev.is_discarded() || chain.prev.value("schema", "") != "dsu-patch/1") {
      fmt::print(stderr, "dsu-patchgen: error: {}/patch.json is not a dsu-patch/1 manifest\n",
                 o.oldDir);
      return 1;
    }
    chain.parentName = chain.prev.value("name", "");
    chain.prevDir = o.oldDir;
    baseDir = chain.prev["base"].value("dir", "");
    if ((chain.prev.value("mode", "user") == "kernel") != kernel) {
      fmt::print(stderr, "dsu-patchgen: error: {} is a {} patch; this one would be a {} patch\n",
                 o.oldDir, chain.prev.value("mode", "user"), kernel ? "kernel" : "user-space");
      return 1;
    }
  }
  // The old version of a file: the previous patches' copy, else the base's.
  auto oldVersionOf = [&](const std::string &rel) -> std::string {
    if (!chain.prevDir.empty() && fs::exists(chain.prevDir + "/src/" + rel))
      return chain.prevDir + "/src/" + rel;
    return baseDir + "/" + rel;
  };

  // 2. Changed files: compare NEW with the old versions (cheap for hard links).
  std::vector<std::string> changedC, changedOther;
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
    std::string old = oldVersionOf(rel);
    if (!fs::exists(old)) {
      if (ext == "c")
        changedC.push_back(rel); // new file: reported below
      continue;
    }
    if (!sameFile(old, p.string()))
      (ext == "c" ? changedC : changedOther).push_back(rel);
  }
  std::sort(changedC.begin(), changedC.end());
  phase("compared the trees");
  // A header may only add fields to shadowed structs: the running code's
  // layouts stay, and the changed .c units reach the fields as shadow data.
  std::vector<std::string> shadowHeaders;
  bool badHeader = false;
  for (const std::string &h : changedOther) {
    std::string why = "dsu-patchgen carries header changes only when they add fields to "
                      "structs named with --shadow";
    if (!o.shadow.empty()) {
      std::string r = dsu::shadowOnlyHeaderChange(readFile(oldVersionOf(h)).value_or(""),
                                                  readFile(o.newDir + "/" + h).value_or(""),
                                                  o.shadow);
      if (r.empty()) {
        shadowHeaders.push_back(h);
        continue;
      }
      auto colon = r.find(':');
      fmt::print(stderr, "{}/{}:{}:1: error: header changed:{}\n", o.newDir, h,
                 r.substr(0, colon), r.substr(colon + 1));
      badHeader = true;
      continue;
    }
    fmt::print(stderr, "{}/{}:1:1: error: header changed: {}\n", o.newDir, h, why);
    badHeader = true;
  }
  if (badHeader)
    return 1;

  // 3. The manifests of the changed units. Object names usually follow the
  //    source's (dir/x.c -> dir/x.o): those are matched without reading
  //    every manifest; others are read. On the way: units the running
  //    program was built from whose source NEW no longer has (removed or
  //    renamed), which a live patch cannot express.
  std::set<std::string> wanted(changedC.begin(), changedC.end());
  std::map<std::string, UnitInfo> units; // rel -> unit
  std::map<std::string, std::string> removedUnits; // rel -> object manifest
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
    std::string guess = path.substr(0, path.size() - strlen(".o.dsu.json")) + ".c";
    if (under(guess, baseDir) && !wanted.count(guess.substr(baseDir.size() + 1)) &&
        fs::exists(guess) && fs::exists(o.newDir + guess.substr(baseDir.size())))
      continue;
    auto text = readFile(path);
    json m = text ? json::parse(*text, nullptr, false) : json();
    if (m.is_discarded() || !m.is_object() || !m.contains("arguments"))
      continue;
    std::string src = m.value("source", "");
    std::string abs = absolute(fs::path(src).is_absolute() ? src : m.value("cwd", "") + "/" + src);
    if (!under(abs, baseDir))
      continue;
    std::string rel = fs::relative(abs, baseDir).string();
    // Gone from NEW, but the old tree has it (a temporary source the build
    // deleted again is no unit of the tree).
    if (llvm::StringRef(rel).ends_with(".c") && !fs::exists(o.newDir + "/" + rel) &&
        fs::exists(oldVersionOf(rel))) {
      removedUnits.emplace(rel, path);
      continue;
    }
    if (!wanted.count(rel))
      continue;
    units[rel] = UnitInfo{path, std::move(m), rel, abs};
  }
  // The running program keeps a removed unit's code: whatever the new
  // version does instead (a renamed file is a new unit, for which the
  // running program has no object) cannot replace it.
  bool failed = false;
  for (const auto &[rel, manifest] : removedUnits) {
    fmt::print(stderr, "{}/{}:1:1: error: the running program was built from {} ({}), but the "
                       "new version has no {} (removed or renamed): a live patch cannot remove a "
                       "unit's code; keep the file in {}\n",
               baseDir, rel, rel, manifest, rel, o.newDir);
    failed = true;
  }
  if (changedC.empty() && !failed) {
    fmt::print(stderr, "dsu-patchgen: error: no .c file differs between {} and {}\n", o.oldDir,
               o.newDir);
    return 1;
  }

  phase("found the manifests");
  std::string patchName = o.name.empty() ? fs::path(o.outDir).filename().string() : o.name;
  fs::create_directories(work + "/units");
  fs::create_directories(work + "/src");
  const std::set<std::string> exported = kernel ? exportedSymbols(o.kernelDir) : std::set<std::string>();
  std::set<std::string> vmlinuxSymbols;
  if (kernel) {
    std::ifstream map(o.kernelDir + "/System.map");
    std::string addr, type, sym;
    while (map >> addr >> type >> sym)
      vmlinuxSymbols.insert(sym);
  }
  if (kernel && exported.empty()) {
    fmt::print(stderr, "dsu-patchgen: error: {}/Module.symvers is missing or empty: build the "
                       "kernel (with modules) first\n", o.kernelDir);
    return 1;
  }

  // User-written type transformers (--transformers): which types each file
  // has dsu_transform_<tag>() for; a stub left as it was is refused.
  struct TransformerFile {
    std::string path, text;
    std::set<std::string> tags;
  };
  std::vector<TransformerFile> transformerFiles;
  for (const std::string &path : o.transformers) {
    TransformerFile tf;
    tf.path = absolute(path);
    auto text = readFile(tf.path);
    if (!text) {
      fmt::print(stderr, "dsu-patchgen: error: cannot read the transformers {}\n", path);
      return 1;
    }
    tf.text = *text;
    std::istringstream lines(tf.text);
    std::string line;
    for (unsigned n = 1; std::getline(lines, line); ++n)
      if (line.find("DSU_TRANSFORMER_STUB") != std::string::npos) {
        fmt::print(stderr, "{}:{}:1: error: this is dsu-patchgen's stub: write the conversion "
                           "and delete the DSU_TRANSFORMER_STUB line\n", tf.path, n);
        return 1;
      }
    static const std::regex fn(R"(\bdsu_transform_([A-Za-z_][A-Za-z0-9_]*)\s*\()");
    for (auto it = std::sregex_iterator(tf.text.begin(), tf.text.end(), fn);
         it != std::sregex_iterator(); ++it)
      tf.tags.insert((*it)[1].str());
    if (tf.tags.empty()) {
      fmt::print(stderr, "{}:1:1: error: no dsu_transform_<type>() function in it\n", tf.path);
      return 1;
    }
    transformerFiles.push_back(std::move(tf));
  }
  std::set<std::string> transformerTagsUsed;
  std::string transformerStubs;

  json unitsJson = json::array();
  struct Built {
    std::string file, tu, unitHash;
    unsigned index;
    dsu::UnitPlan plan;
    dsu::RewrittenUnit unit;
  };
  std::vector<Built> built;
  std::vector<std::string> compiler;
  unsigned index = 0;
  for (const std::string &rel : changedC) {
    auto uit = units.find(rel);
    if (uit == units.end()) {
      fmt::print(stderr, "{}/{}:1:1: warning: changed, but no object of the running program was "
                         "built from it with dsu-cc; ignored\n", o.newDir, rel);
      continue;
    }
    UnitInfo &u = uit->second;
    const json &m = u.manifest;
    if (m.value("status", "") == "excluded" || m.value("status", "") == "fallback") {
      fmt::print(stderr, "{}/{}:1:1: error: changed, but the running program's object was not "
                         "instrumented ({}: {})\n", o.newDir, rel, m.value("status", ""),
                 m.value("status_detail", ""));
      failed = true;
      continue;
    }
    std::vector<std::string> args = m["arguments"].get<std::vector<std::string>>();
    compiler = m.value("compiler", std::vector<std::string>{"clang-19"});
    dsu::CompileJob job = classifyIn(m.value("cwd", ""), args);
    if (!job.instrument) {
      fmt::print(stderr, "{}: error: cannot reuse the recorded command line ({})\n", u.manifestPath,
                 job.passthroughWhy);
      failed = true;
      continue;
    }
    const std::string cwd = m.value("cwd", "");
    if (!job.kernel && std::strlen(DSU_RUNTIME_INCLUDE)) {
      for (auto *v : {&job.preprocessOnlyArgs, &job.parseArgs})
        v->insert(v->end(), {"-idirafter", DSU_RUNTIME_INCLUDE});
    }
    dsu::BaseUnit base = baseUnit(m, chain);
    base.shadowed = o.shadow;
    if (o.verbose)
      fmt::print(stderr, "dsu-patchgen: {} ({})\n", rel, base.tu);

    // Old version: the base's file (or the previous patch's copy), parsed at
    // the base's path so that its includes resolve as they did.
    dsu::UnitSnapshot oldSnap;
    std::string diags;
    ParseRequest oldReq{job.parseArgs, cwd, u.baseSource, std::nullopt};
    if (oldVersionOf(rel) != u.baseSource)
      oldReq.content = readFile(oldVersionOf(rel));
    if (!parseUnit(oldReq, diags, [&](clang::ASTContext &ctx, dsu::TokenRecorder &) {
          oldSnap = dsu::snapshotUnit(ctx, "", o.shadow);
        })) {
      fmt::print(stderr, "{}dsu-patchgen: error: the old version of {} does not parse with its "
                         "recorded flags\n", diags, rel);
      failed = true;
      continue;
    }
    // New version: preprocessed by the real compiler, parsed, compared,
    // rewritten. At the base's path too (same includes), with NEW's text.
    // With shadowed headers changed, the new version must see NEW's headers:
    // its command runs in NEW's copy of the build directory, and absolute
    // paths into the base tree point into NEW.
    std::string newCwd = cwd;
    std::vector<std::string> newPreArgs = job.preprocessOnlyArgs, newParseArgs = job.parseArgs;
    if (!shadowHeaders.empty()) {
      if (cwd == baseDir || under(cwd, baseDir))
        newCwd = o.newDir + cwd.substr(baseDir.size());
      for (auto *v : {&newPreArgs, &newParseArgs})
        for (std::string &a : *v)
          for (size_t at; (at = a.find(baseDir + "/")) != std::string::npos;)
            a.replace(at, baseDir.size(), o.newDir);
    }
    std::string newText = *readFile(o.newDir + "/" + rel);
    const std::string newPath = o.newDir + "/" + rel;
    std::string preFile = work + "/units/" + fmt::format("unit{}.i", index);
    std::string errFile = preFile + ".err";
    // The user's transformers for this unit's wrapped types are merged into
    // the new version (after it, under their own file name), so they see
    // the unit's types, functions and macros.
    const TransformerFile *xf = nullptr;
    std::set<std::string> userTags;
    for (const TransformerFile &tf : transformerFiles)
      for (const auto &[name, w] : base.wrapped)
        if (tf.tags.count(w.tag)) {
          if (xf && xf != &tf) {
            fmt::print(stderr, "{}:1:1: error: {} and {} both have transformers for {}'s types; "
                               "one file per unit\n", tf.path, xf->path, tf.path, rel);
            failed = true;
          }
          xf = &tf;
          userTags.insert(w.tag);
          transformerTagsUsed.insert(w.tag);
        }
    Built b;
    b.index = index;
    b.tu = base.tu;
    b.unitHash = base.unitHash;
    b.file = preFile;
    const std::string xfPath = xf ? xf->path : "";
    bool planned = false;
    std::optional<std::string> newContent;
    std::string preSource = newPath;
    if (xf) {
      // The plan first (it names the representations the user's code uses),
      // then the unit again with them declared ahead of the user's code.
      ParseRequest planReq{newParseArgs, newCwd, newPath, std::nullopt};
      diags.clear();
      if (!parseUnit(planReq, diags, [&](clang::ASTContext &ctx, dsu::TokenRecorder &) {
            dsu::UnitSnapshot newSnap = dsu::snapshotUnit(ctx, "", o.shadow);
            b.plan = dsu::planUnit(base, oldSnap, newSnap, patchName, userTags);
          })) {
        fmt::print(stderr, "{}dsu-patchgen: error: the new version of {} does not compile\n",
                   diags, rel);
        failed = true;
        continue;
      }
      planned = true;
      b.plan.index = index;
      transformerStubs += b.plan.transformerStubs;
      if (!b.plan.errors.empty()) {
        for (const std::string &w : b.plan.warnings)
          fmt::print(stderr, "{}\n", w);
        for (const std::string &e : b.plan.errors)
          fmt::print(stderr, "{}\n", e);
        failed = true;
        continue;
      }
      std::string reps;
      for (const dsu::TypeUpdate &u : b.plan.typeUpdates)
        if (u.userTransformer)
          reps += u.newDefinition + "; " + u.oldDefinition + ";\n";
      newContent = fmt::format("#line 1 \"{}\"\n{}\n#line 1 \"{}\"\n{}#line 1 \"{}\"\n{}", newPath,
                               newText, dsu::kRepresentationsFile, reps, xf->path, xf->text);
      preSource = work + "/units/" + fmt::format("unit{}.src.c", index);
      writeFile(preSource, *newContent);
    }
    std::vector<std::string> pre(compiler);
    if (xf) // quoted includes of the source, from its own directory
      pre.insert(pre.end(), {"-iquote", fs::path(newPath).parent_path().string()});
    for (size_t i = 0; i < newPreArgs.size(); ++i)
      pre.push_back(job.preprocessOnlyArgs[i] == job.source ? preSource : newPreArgs[i]);
    pre.insert(pre.end(), {"-o", preFile});
    // Quoted includes resolve from the file's directory: NEW's copy of it has
    // the same headers (header changes are refused above).
    if (run(pre, newCwd, "", errFile) != 0) {
      fmt::print(stderr, "{}", readFile(errFile).value_or(""));
      fmt::print(stderr, "dsu-patchgen: error: preprocessing the new {} failed\n", rel);
      failed = true;
      continue;
    }
    std::string preprocessed = *readFile(preFile);
    fs::remove(errFile);
    ParseRequest newReq{newParseArgs, newCwd, newPath, newContent};
    diags.clear();
    std::string alignError;
    bool parsed = parseUnit(newReq, diags, [&](clang::ASTContext &ctx, dsu::TokenRecorder &rec) {
      if (!planned) {
        dsu::UnitSnapshot newSnap = dsu::snapshotUnit(ctx, "", o.shadow);
        b.plan = dsu::planUnit(base, oldSnap, newSnap, patchName, userTags);
        b.plan.index = index;
        transformerStubs += b.plan.transformerStubs;
        if (!b.plan.errors.empty())
          return;
      }
      dsu::TokenMap map;
      if (!dsu::alignPreprocessed(ctx.getSourceManager(), ctx.getLangOpts(), preprocessed, rec,
                                  map, alignError))
        return;
      dsu::PatchRewriteOptions ro;
      ro.kernel = kernel;
      ro.exported = &exported;
      ro.vmlinuxSymbols = kernel ? &vmlinuxSymbols : nullptr;
      ro.unitHash = base.unitHash;
      ro.patchName = patchName;
      ro.transformerFile = xfPath;
      b.unit = dsu::rewritePatchUnit(ctx, map, base, b.plan, ro);
    });
    (void)newText;
    if (!parsed) {
      fmt::print(stderr, "{}dsu-patchgen: error: the new version of {} does not compile\n", diags,
                 rel);
      failed = true;
      continue;
    }
    for (const std::string &w : b.plan.warnings)
      fmt::print(stderr, "{}\n", w);
    for (const std::string &w : b.unit.warnings)
      fmt::print(stderr, "{}\n", w);
    if (!b.plan.errors.empty() || !b.unit.errors.empty() || !alignError.empty()) {
      for (const std::string &e : b.plan.errors)
        fmt::print(stderr, "{}\n", e);
      for (const std::string &e : b.unit.errors)
        fmt::print(stderr, "{}\n", e);
      if (!alignError.empty())
        fmt::print(stderr, "dsu-patchgen: error: {}: {}\n", rel, alignError);
      failed = true;
      continue;
    }
    if (b.plan.replaced.empty() && b.plan.added.empty() && b.plan.addedVars.empty() &&
        b.plan.typeUpdates.empty() && b.plan.shadowUpdates.empty()) {
      if (!b.plan.deleted.empty()) {
        std::string names;
        for (const std::string &f : b.plan.deleted)
          names += (names.empty() ? "" : ", ") + f + "()";
        fmt::print(stderr, "{}/{}:1:1: note: no function changed: the new version only removes "
                           "{}, which a live patch cannot do (the old code stays)\n",
                   o.newDir, rel, names);
      } else {
        fmt::print(stderr, "{}/{}:1:1: note: no function changed (only formatting, comments or "
                           "declarations)\n", o.newDir, rel);
      }
      continue;
    }
    writeFile(preFile, b.unit.text);
    fs::create_directories(fs::path(work + "/src/" + rel).parent_path());
    writeFile(work + "/src/" + rel, newText);
    built.push_back(std::move(b));
    ++index;
  }
  // Patch code using a function its unit no longer defines: an error,
  // unless another unit of this patch adds the function (it moved there;
  // the patch's own definition is the one its code binds to).
  std::set<std::string> patchAdds;
  for (const Built &b : built)
    patchAdds.insert(b.unit.addedGlobals.begin(), b.unit.addedGlobals.end());
  for (const Built &b : built)
    for (const dsu::DeletedUse &d : b.unit.deletedUses)
      if (!d.external || !patchAdds.count(d.name)) {
        fmt::print(stderr, "{}\n", d.error);
        failed = true;
      }
  phase("parsed, compared and rewrote the changed units");
  for (const TransformerFile &tf : transformerFiles)
    for (const std::string &tag : tf.tags)
      if (!transformerTagsUsed.count(tag))
        fmt::print(stderr, "{}:1:1: warning: dsu_transform_{}() is for no type this patch "
                           "changes in a unit it patches; ignored\n", tf.path, tag);
  if (!transformerStubs.empty()) {
    // Not over the user's own transformers kept in OUT/transformers.c.
    std::string stubs = work + "/transformers.c";
    if (fs::exists(stubs))
      stubs = work + "/transformers.stubs.c";
    writeFile(stubs,
              "/* Type transformers dsu-patchgen cannot write itself: fill them in and pass\n"
              " * this file with --transformers. */\n\n" + transformerStubs);
    fmt::print(stderr, "dsu-patchgen: note: transformer stubs written to {}\n",
               output.shown(stubs));
    output.keep(stubs);
  }
  if (failed)
    return 1;
  if (built.empty()) {
    fmt::print(stderr, "dsu-patchgen: error: nothing to patch: no function changed\n");
    return 1;
  }

  // 4. The patch table and the manifest. The name carries a hash of the
  //    code, so a rebuilt-but-different patch is a different patch.
  std::string allText;
  for (const Built &b : built)
    allText += b.unit.text;
  std::string fullName = patchName + "-" + dsu::sha256Hex(allText + chain.parentName, 4);
  std::string main = "/* Generated by dsu-patchgen: the patch table. */\n";
  if (kernel)
    main += "#include <linux/module.h>\n#include \"dsu/abi.h\"\n#include \"dsu_kernel.h\"\n";
  else
    main += "#include <stddef.h>\n#include \"dsu/abi.h\"\n";
  std::string unitsTab, funcsTab, refsTab, newFuncsTab, newVarsTab, typesTab;
  unsigned nfuncs = 0, nrefs = 0, nnewf = 0, nnewv = 0, ntypes = 0, addedVars = 0;
  json cumulative = chain.prev.is_null() ? json::array() : chain.prev.value("cumulative", json::array());
  json globals = chain.prev.is_null() ? json::array() : chain.prev.value("globals", json::array());
  for (const Built &b : built)
    for (const std::string &g : b.unit.addedGlobals)
      globals.push_back(g);
  for (const Built &b : built) {
    unitsTab += fmt::format("\t{{ \"{}\", \"{}\" }},\n", b.tu, b.unitHash);
    addedVars += b.plan.addedVars.size();
    for (const std::string &f : b.plan.replaced) {
      main += fmt::format("extern char __dsu_p{}_{}[];\n", b.index, f);
      funcsTab += fmt::format("\t{{ \"{}\", \"{}\", (void *)__dsu_p{}_{} }},\n", b.tu, f, b.index, f);
      ++nfuncs;
    }
    main += fmt::format("extern void *__dsu_refs_{}[];\n", b.index);
    for (size_t i = 0; i < b.unit.refs.size(); ++i) {
      const dsu::PatchRef &r = b.unit.refs[i];
      refsTab += fmt::format("\t{{ {}, \"{}\", \"{}\", &__dsu_refs_{}[{}] }},\n", r.kind, r.tu,
                             r.name, b.index, i);
      ++nrefs;
    }
    json cum;
    for (json &c : cumulative)
      if (c.value("tu", "") == b.tu)
        cum = c;
    json cf = cum.is_null() ? json::array() : cum["functions"];
    json cv = cum.is_null() ? json::array() : cum["variables"];
    json ctv = cum.is_null() ? json::object() : cum.value("type_versions", json::object());
    json typesJson = json::array();
    json shadowJson = json::array();
    for (const dsu::ShadowUpdate &su : b.plan.shadowUpdates)
      shadowJson.push_back({{"name", su.name}, {"added", su.added}});
    for (const dsu::PatchType &t : b.unit.types) {
      main += fmt::format("void {}(void *, const void *);\n", t.transform);
      typesTab += fmt::format("\t{{ \"{}\", \"{}\", {}, {}, {} }},\n", b.tu, t.name, t.version,
                              t.repSize, t.transform);
      ctv[t.name] = t.version;
      ++ntypes;
    }
    for (const dsu::TypeUpdate &u : b.plan.typeUpdates) {
      json copied = json::array(), added = json::array();
      for (const auto &c : u.copied)
        copied.push_back(c.field);
      for (const auto &a : u.added)
        added.push_back({{"field", a.first}, {"default", a.second}});
      typesJson.push_back({{"name", u.name},
                           {"from_version", u.from},
                           {"to_version", u.to},
                           {"representation_size", u.newSize},
                           {"union_size", u.unionSize},
                           {"copied", copied},
                           {"added", added},
                           {"removed", u.removed},
                           {"retyped", u.retyped},
                           {"user_transformer", u.userTransformer}});
    }
    for (const std::string &f : b.plan.added) {
      main += fmt::format("extern struct __dsu_func_desc __dsu_pdesc_{}_{};\n", b.index, f);
      newFuncsTab += fmt::format("\t&__dsu_pdesc_{}_{},\n", b.index, f);
      cf.push_back(f);
      ++nnewf;
    }
    for (const std::string &v : b.unit.newVarDescs) {
      main += fmt::format("extern struct __dsu_var_desc __dsu_pvdesc_{}_{};\n", b.index, v);
      newVarsTab += fmt::format("\t&__dsu_pvdesc_{}_{},\n", b.index, v);
      cv.push_back(v);
      ++nnewv;
    }
    bool found = false;
    for (json &c : cumulative)
      if (c.value("tu", "") == b.tu) {
        c["functions"] = cf;
        c["variables"] = cv;
        c["type_versions"] = ctv;
        found = true;
      }
    if (!found)
      cumulative.push_back(
          {{"tu", b.tu}, {"functions", cf}, {"variables", cv}, {"type_versions", ctv}});
    json refs = json::array();
    for (const dsu::PatchRef &r : b.unit.refs)
      refs.push_back({{"kind", r.kind == 1   ? "function"
                               : r.kind == 2 ? "variable"
                               : r.kind == 3 ? "symbol"
                                             : "type"},
                      {"tu", r.tu},
                      {"name", r.name}});
    unitsJson.push_back({{"tu", b.tu},
                         {"unit_hash", b.unitHash},
                         {"code", fs::relative(b.file, work).string()},
                         {"replaced", b.plan.replaced},
                         {"added_functions", b.plan.added},
                         {"deleted_functions", b.plan.deleted},
                         {"added_variables", b.plan.addedVars},
                         {"references", refs},
                         {"types", typesJson},
                         {"shadow", shadowJson},
                         {"warnings", b.plan.warnings}});
  }
  // The safety analysis over the base's manifests: where this change set
  // must not be applied (docs/safety.md). Stacked patches are not analysed
  // (the running code is no longer the base's): the runtimes then refuse
  // while replaced code is active.
  std::string unsafeTab;
  unsigned nunsafe = 0;
  bool analysed = false;
  json safetyJson = {{"analysed", false}};
  if (o.safety && chain.parentName.empty()) {
    std::set<std::string> change;
    for (const Built &b : built) {
      for (const std::string &f : b.plan.replaced)
        change.insert(b.tu + ":" + f);
      for (const dsu::TypeUpdate &u : b.plan.typeUpdates)
        change.insert(b.tu + ":" + u.name);
    }
    dsu::safety::Program program;
    std::vector<std::string> errors;
    program.load({baseDir}, errors);
    for (const std::string &e : errors)
      fmt::print(stderr, "{}: warning: manifest not used by the safety analysis\n", e);
    program.link();
    phase("loaded the base's manifests for the safety analysis");
    std::vector<dsu::safety::Unsafe> unsafe = dsu::safety::unsafeSites(program, change);
    phase("ran the safety analysis");
    json points = json::array();
    unsigned frames = 0;
    for (const dsu::safety::Unsafe &u : unsafe) {
      unsafeTab += fmt::format("\t{{ {}, {}u, \"{}\", \"{}\", \"{}\" }},\n",
                               u.kind == dsu::safety::Unsafe::Point ? "DSU_UNSAFE_POINT"
                                                                    : "DSU_UNSAFE_FRAME",
                               u.flags, dsu::escapeCString(u.where), dsu::escapeCString(u.callee),
                               dsu::escapeCString(u.why));
      ++nunsafe;
      if (u.kind == dsu::safety::Unsafe::Point)
        points.push_back({{"where", u.where}, {"why", u.why}});
      else
        ++frames;
    }
    analysed = true;
    safetyJson = {{"analysed", true},
                  {"change_set", change},
                  {"unsafe_points", points},
                  {"unsafe_frames", frames}};
  }

  auto table = [](const std::string &type, const std::string &name, const std::string &body) {
    return body.empty() ? std::string()
                        : fmt::format("static {} {}[] = {{\n{}}};\n", type, name, body);
  };
  main += table("const struct __dsu_patch_unit", "units", unitsTab);
  main += table("const struct __dsu_patch_func", "funcs", funcsTab);
  main += table("const struct __dsu_patch_ref", "refs", refsTab);
  main += table("struct __dsu_func_desc *const", "new_funcs", newFuncsTab);
  main += table("struct __dsu_var_desc *const", "new_vars", newVarsTab);
  main += table("const struct __dsu_patch_type", "types", typesTab);
  main += table("const struct __dsu_patch_unsafe", "unsafe", unsafeTab);
  main += fmt::format("{}const struct __dsu_patch __dsu_patch = {{\n"
                      "\t.abi = DSU_ABI_VERSION,\n"
                      "\t.nunits = {}, .nfuncs = {}, .nrefs = {}, .nnew_funcs = {}, .nnew_vars = {}, "
                      ".ntypes = {},\n"
                      "\t.name = \"{}\", .parent = \"{}\",\n"
                      "\t.units = units, .funcs = {}, .refs = {},\n"
                      "\t.new_funcs = {}, .new_vars = {}, .types = {},\n"
                      "\t.analysed = {}, .nunsafe = {}, .unsafe = {}\n}};\n",
                      kernel ? "static " : "", built.size(), nfuncs, nrefs, nnewf, nnewv, ntypes,
                      fullName, chain.parentName, nfuncs ? "funcs" : "NULL",
                      nrefs ? "refs" : "NULL", nnewf ? "new_funcs" : "NULL",
                      nnewv ? "new_vars" : "NULL", ntypes ? "types" : "NULL", analysed ? 1 : 0,
                      nunsafe, nunsafe ? "unsafe" : "NULL");
  if (kernel)
    main += "\nstatic int __init dsu_patch_init(void)\n{\n\treturn dsu_apply(&__dsu_patch, "
            "THIS_MODULE);\n}\n\n/* Unloadable only after a revert (dsu_apply holds a reference "
            "while applied). */\nstatic void __exit dsu_patch_exit(void)\n{\n}\n\n"
            "module_init(dsu_patch_init);\nmodule_exit(dsu_patch_exit);\n"
            "MODULE_LICENSE(\"GPL\");\nMODULE_DESCRIPTION(\"DSU patch " + fullName + "\");\n";
  writeFile(work + "/dsu_patch_main.c", main);

  // Manifest first (the chain needs it even with --no-build).
  std::string artifact;
  json pj = {{"schema", "dsu-patch/1"},
             {"name", fullName},
             {"parent", chain.parentName},
             {"mode", kernel ? "kernel" : "user"},
             {"base", {{"dir", baseDir}}},
             {"old", o.oldDir},
             {"new", o.newDir},
             {"units", unitsJson},
             {"cumulative", cumulative},
             {"globals", globals},
             {"safety", safetyJson},
             {"summary",
              {{"replaced", nfuncs}, {"added_functions", nnewf}, {"added_variables", addedVars},
               {"registered_variables", nnewv}, {"type_updates", ntypes},
               {"references", nrefs}}}};

  // 5. Build.
  if (o.build) {
    std::string log = work + "/build.log";
    if (!kernel) {
      std::vector<std::string> objects;
      for (const Built &b : built) {
        // The unit's own compile flags, minus input/output/preprocessing.
        const UnitInfo *u = nullptr;
        for (auto &[rel, info] : units)
          if (info.manifest.value("tu", "") == b.tu)
            u = &info;
        dsu::CompileJob job = classifyIn(u->manifest.value("cwd", ""),
            u->manifest["arguments"].get<std::vector<std::string>>());
        std::vector<std::string> cc = u->manifest.value("compiler", std::vector<std::string>{"clang-19"});
        for (size_t i = 0; i < job.compileArgs.size(); ++i) {
          const std::string &a = job.compileArgs[i];
          if (a == "-o") {
            ++i;
            continue;
          }
          if (a == "-c")
            continue;
          cc.push_back(a);
        }
        std::string obj = work + fmt::format("/units/unit{}.o", b.index);
        cc.insert(cc.end(), {"-fPIC", "-c", "-x", "cpp-output", b.file, "-o", obj});
        if (run(cc, u->manifest.value("cwd", ""), "", log) != 0) {
          fmt::print(stderr, "dsu-patchgen: error: the patch code for {} does not compile: {}\n"
                             "  (log: {}, code: {})\n",
                     b.tu, firstError(readFile(log).value_or("")), output.shown(log),
                     output.shown(b.file));
          output.keep(log);
          output.keep(b.file);
          return 1;
        }
        objects.push_back(obj);
      }
      std::vector<std::string> cc = {"clang-19", "-fPIC", "-O2", "-Wall", "-I", DSU_RUNTIME_INCLUDE,
                                     "-c", work + "/dsu_patch_main.c", "-o",
                                     work + "/units/dsu_patch_main.o"};
      if (run(cc, work, "", log) != 0) {
        fmt::print(stderr, "dsu-patchgen: error: the patch table does not compile: {}\n"
                           "  (log: {}, code: {})\n",
                   firstError(readFile(log).value_or("")), output.shown(log),
                   output.shown(work + "/dsu_patch_main.c"));
        output.keep(log);
        output.keep(work + "/dsu_patch_main.c");
        return 1;
      }
      objects.push_back(work + "/units/dsu_patch_main.o");
      artifact = o.outDir + "/" + patchName + ".so"; // once the work directory is OUT
      std::vector<std::string> link = {"clang-19", "-shared", "-Wl,-Bsymbolic", "-o",
                                       work + "/" + patchName + ".so"};
      link.insert(link.end(), objects.begin(), objects.end());
      if (run(link, work, "", log) != 0) {
        fmt::print(stderr, "dsu-patchgen: error: linking the patch failed: {}\n  (log: {})\n",
                   firstError(readFile(log).value_or("")), output.shown(log));
        output.keep(log);
        return 1;
      }
    } else {
      // kbuild's external-module path against the instrumented tree.
      std::string mod = "dsu_" + patchName;
      for (char &c : mod)
        if (!isalnum(static_cast<unsigned char>(c)))
          c = '_';
      std::string kbuild = fmt::format("# Generated by dsu-patchgen.\nobj-m := {0}.o\n{0}-y := "
                                       "dsu_patch_main.o", mod);
      std::string rules;
      for (const Built &b : built) {
        // The patch code is preprocessed C: compiled as such (a second
        // preprocessing would expand the kernel's macros again), with the
        // kernel's code-generation flags, and checked by objtool like any
        // module object.
        kbuild += fmt::format(" unit{}.o", b.index);
        rules += fmt::format("$(obj)/unit{0}.o: {1} FORCE\n\t$(call if_changed,dsu_unit)\n"
                             "targets += unit{0}.o\n",
                             b.index, b.file);
      }
      kbuild += "\n# Patch code (preprocessed): see dsu-patchgen.\n"
                "quiet_cmd_dsu_unit = CC [M]  $@\n"
                "      cmd_dsu_unit = $(CC) $(c_flags) -Wno-unused-command-line-argument -w "
                "-x cpp-output -c -o $@ $< $(cmd_objtool)\n" + rules;
      kbuild += fmt::format("\nccflags-y += -I{}/kernel/dsu\n", o.kernelDir);
      writeFile(work + "/Kbuild", kbuild);
      long cpus = sysconf(_SC_NPROCESSORS_ONLN);
      std::vector<std::string> make = {"make", "-C", o.kernelDir, "M=" + work, "LLVM=-19",
                                       fmt::format("-j{}", cpus > 0 ? cpus : 1), "modules"};
      if (run(make, work, log, log) != 0) {
        fmt::print(stderr, "dsu-patchgen: error: building the patch module failed: {}\n  (log: "
                           "{})\n", firstError(readFile(log).value_or("")), output.shown(log));
        output.keep(log);
        for (const Built &b : built)
          output.keep(b.file);
        return 1;
      }
      artifact = o.outDir + "/" + mod + ".ko";
    }
    pj["artifact"] = artifact;
    phase("built the artifact");
  }
  pj["seconds"] = seconds();
  std::string err;
  if (!dsu::writeJsonFile(work + "/patch.json", pj, err)) {
    fmt::print(stderr, "dsu-patchgen: error: {}\n", err);
    return 1;
  }
  summary = fmt::format(
             "dsu-patchgen: {}: {} unit{}, {} function{} replaced, {} added, {} variable{} added, "
             "{} reference{}; {:.2f} s{}\n",
             fullName, built.size(), built.size() == 1 ? "" : "s", nfuncs, nfuncs == 1 ? "" : "s",
             nnewf, addedVars, addedVars == 1 ? "" : "s", nrefs, nrefs == 1 ? "" : "s", seconds(),
             artifact.empty() ? "" : "\n  " + artifact);
  return 0;
}

} // namespace
