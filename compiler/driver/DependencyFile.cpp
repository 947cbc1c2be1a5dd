#include "DependencyFile.h"

#include <clang/Frontend/CompilerInstance.h>
#include <llvm/ADT/SmallString.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Signals.h>

bool RenamedDependencyFile::runInvocation(std::shared_ptr<clang::CompilerInvocation> invocation,
                                          clang::FileManager *files,
                                          std::shared_ptr<clang::PCHContainerOperations> pch,
                                          clang::DiagnosticConsumer *diags) {
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
