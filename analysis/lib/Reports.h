// The JSON documents of the safety analysis (docs/safety.md) that
// dsu-analyze prints: the unsafe table of a patch and restrictions.json.
#pragma once

#include "Program.h"
#include "UnsafeSites.h"

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace dsu::safety {

// The unsafe table as JSON (dsu-unsafe/1): what `dsu-analyze --change`
// prints.
nlohmann::json unsafeJson(const std::vector<Unsafe> &unsafe, const std::set<std::string> &change);

// restrictions.json: per update point, what the old code may still do after
// it and, per enclosing transaction, before and after it; per transaction,
// its effect.
nlohmann::json restrictionsJson(Program &p);

} // namespace dsu::safety
