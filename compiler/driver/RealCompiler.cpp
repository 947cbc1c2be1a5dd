#include "RealCompiler.h"

#include "Subprocess.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Tooling/Tooling.h>
#include <fmt/format.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/IR/PassManager.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/Errno.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/Program.h>
#include <llvm/Support/TargetSelect.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace {

// A run that did not end in an exit status of the program's own is
// reported as llvm::sys::ExecuteAndWait (which ran it before) reported it:
// "running '<program>': <why>", status 127. That includes exit codes 127
// and 126, the shell's "not found" and "cannot execute".
int statusOrError(const std::string &program, const dsu::SubprocessResult &r) {
  std::string why;
  switch (r.end) {
  case dsu::SubprocessResult::End::Exited:
    if (r.exitCode == 127)
      why = llvm::sys::StrError(ENOENT);
    else if (r.exitCode == 126)
      why = "Program could not be executed";
    else
      return r.exitCode;
    break;
  case dsu::SubprocessResult::End::Signaled:
    why = strsignal(r.signal);
    if (r.coreDumped)
      why += " (core dumped)";
    break;
  case dsu::SubprocessResult::End::NotStarted:
    why = "posix_spawn failed: " + llvm::sys::StrError(r.error);
    break;
  case dsu::SubprocessResult::End::WaitFailed:
    why = "Error waiting for child process: " + llvm::sys::StrError(r.error);
    break;
  }
  fmt::print(stderr, "dsu-cc: error: running '{}': {}\n", program, why);
  return 127;
}

} // namespace

void execReal(const std::vector<std::string> &cc, const std::vector<std::string> &args) {
  std::vector<std::string> argv = cc;
  argv.insert(argv.end(), args.begin(), args.end());
  dsu::execOrExit(argv, "dsu-cc");
}

int runReal(const std::vector<std::string> &cc, const std::vector<std::string> &args,
            const std::string &errFile) {
  std::string program = cc[0];
  if (program.find('/') == std::string::npos) {
    auto found = llvm::sys::findProgramByName(program);
    if (!found) {
      fmt::print(stderr, "dsu-cc: error: cannot find '{}' in PATH\n", program);
      return 127;
    }
    program = *found;
  }
  std::vector<std::string> argv = cc;
  argv.insert(argv.end(), args.begin(), args.end());
  dsu::SubprocessOptions options;
  options.program = program;
  if (!errFile.empty()) {
    // The redirect does not truncate: empty the file, which is ours (made
    // by Temps). Removing it instead would free its name for anyone to
    // take before the redirect opens it.
    if (::truncate(errFile.c_str(), 0) != 0) {
      fmt::print(stderr, "dsu-cc: error: {}: {}\n", errFile, std::strerror(errno));
      return 127;
    }
    options.stderrPath = errFile;
    options.truncateOutputs = false;
  }
  if (!llvm::sys::fs::exists(program)) {
    fmt::print(stderr, "dsu-cc: error: running '{}': Executable \"{}\" doesn't exist!\n", program,
               program);
    return 127;
  }
  return statusOrError(program, dsu::runSubprocess(argv, options));
}

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

namespace {
// Reads the module after the optimizer, before code generation.
struct NotEmittedScan : llvm::PassInfoMixin<NotEmittedScan> {
  dsu::NotEmitted *out;
  llvm::PreservedAnalyses run(llvm::Module &m, llvm::ModuleAnalysisManager &) {
    *out = dsu::findNotEmitted(m);
    return llvm::PreservedAnalyses::all();
  }
};
} // namespace

int compileInProcess(const std::vector<std::string> &args, const std::string &errFile,
                     dsu::NotEmitted *notEmitted) {
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
    dsu::NotEmitted *notEmitted;
    Compile(llvm::raw_ostream &v, dsu::NotEmitted *ne) : verbose(v), notEmitted(ne) {}
    bool BeginSourceFileAction(clang::CompilerInstance &ci) override {
      ci.setVerboseOutputStream(verbose);
      if (dsu::NotEmitted *out = notEmitted)
        ci.getCodeGenOpts().PassBuilderCallbacks.push_back([out](llvm::PassBuilder &pb) {
          pb.registerOptimizerLastEPCallback(
              [out](llvm::ModulePassManager &mpm, llvm::OptimizationLevel) {
                mpm.addPass(NotEmittedScan{{}, out});
              });
        });
      return clang::EmitObjAction::BeginSourceFileAction(ci);
    }
  };
  auto files = llvm::makeIntrusiveRefCnt<clang::FileManager>(clang::FileSystemOptions());
  clang::tooling::ToolInvocation inv(cmd, std::make_unique<Compile>(os, notEmitted), files.get());
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
