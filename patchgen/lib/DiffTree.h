// `--diff FIX`: NEW made from OLD and a fix as it ships (a unified diff, as
// kpatch-build and klp-build take it), so one command goes from a .patch to
// a live patch. NEW is a hard-linked copy of OLD in the run's directory
// with the fix applied by patch(1) (which writes the files it changes
// afresh, so OLD is never touched); it is removed before OUT is made.
#pragma once

#include <string>

namespace dsu {

// Makes `newDir` (inside the run's directory) from `oldDir` and `diff`.
// False, with `error` saying why (the fix does not apply: patch's own
// messages), when it cannot.
bool makeNewTree(const std::string &oldDir, const std::string &diff, const std::string &newDir,
                 std::string &error);

} // namespace dsu
