// Changed headers: which units of the base include them. Those units are
// parsed and compared like changed .c files (a header's inline functions,
// macros and types reach every unit that includes it).
#pragma once

#include "ManifestReader.h"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dsu {

// The files the compile of `object` read, as the build recorded them beside
// it: kbuild's `.<name>.o.cmd` (its deps_ list, `$(wildcard ...)` entries
// left out), or a make-style depfile `<name>.o.d` / `<name>.d` (-MD). As
// written there: relative paths are relative to the compile's directory.
// nullopt when the build recorded none.
std::optional<std::vector<std::string>> recordedDependencies(const std::string &object);

// The files the unit's recorded compile reads, by running its preprocessor
// with -M (for builds that keep no dependency file beside the object).
// nullopt, with `error`, when that fails.
// `scratch`: a path in the run's directory for its output.
std::optional<std::vector<std::string>> preprocessorDependencies(const Manifest &m,
                                                                 const std::string &scratch,
                                                                 std::string &error);

// Whether a dependency has the file name of one of `headers` (cheap: no
// path work; most of a kernel unit's dependencies are other headers).
bool namesAnyFileOf(const std::vector<std::string> &dependencies,
                    const std::set<std::string> &headers);

// Which of `headers` (canonical paths) the dependency list names; relative
// entries are taken from `cwd`.
std::set<std::string> includedHeaders(const std::vector<std::string> &dependencies,
                                      const std::string &cwd, const std::set<std::string> &headers);

// Whether a header's change only adds fields to shadowed structs (the
// running code's layouts stay, so no unit that includes it changes but the
// ones the patch changes anyway: its includers need no comparison). Empty
// when it does; otherwise why not, as "LINE: reason".
std::string shadowOnlyHeaderChange(const std::string &oldText, const std::string &newText,
                                   const std::set<std::string> &shadowed);

} // namespace dsu
