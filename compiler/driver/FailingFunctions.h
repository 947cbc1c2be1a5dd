// When the rewritten unit does not compile: which updateable functions its
// errors lie in, to leave them (and the local functions they call) alone.
#pragma once
#include "RewriteRecords.h"

#include <map>
#include <string>

// Finds the updateable functions an error of the rewritten unit's compile
// lies in and adds them, and the local functions they call, to `exclude`.
// False when no error lies in an updateable function.
bool excludeFailingFunctions(const std::string &stderrText, const dsu::RewriteResult &r,
                             std::map<std::string, std::string> &exclude);
