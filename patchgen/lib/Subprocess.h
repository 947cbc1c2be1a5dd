// The commands dsu-patchgen runs: the preprocessor for a unit's new version,
// and the compiler, linker or kbuild for the patch.
#pragma once

#include <string>
#include <vector>

namespace dsu {

// Runs argv in `cwd`; stdout/stderr to files when given. The exit status
// (127 when it cannot run, 128 + the signal when one ended it).
int runCommand(const std::vector<std::string> &argv, const std::string &cwd,
               const std::string &out = "", const std::string &err = "");

// The line of a command's output that names the first error (else its
// first line), for a one-line message.
std::string firstErrorLine(const std::string &text);

} // namespace dsu
