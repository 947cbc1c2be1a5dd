// The dependency file (-MD & co.) written by the in-process parse, renamed
// into place rather than opened by its name.
#pragma once
#include <clang/Frontend/FrontendAction.h>
#include <clang/Tooling/Tooling.h>

#include <memory>

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
                     clang::DiagnosticConsumer *diags) override;

private:
  std::unique_ptr<clang::FrontendAction> action_;
};
