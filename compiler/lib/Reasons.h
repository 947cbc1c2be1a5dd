// Why a function or type is not updateable. Each reason has a stable id (used
// in manifests, dsu-check and tests) and a human-readable explanation; the
// list is Reasons.def.
#pragma once
#include <string>
#include <string_view>

namespace dsu {

enum class Reason {
#define REASON(Name, Id, Text) Name,
#include "Reasons.def"
};

std::string_view reasonId(Reason r);
std::string_view reasonText(Reason r);

// Whether direct calls in a function left alone for `r` stay as written
// (CallsKept in Reasons.def) instead of going through the callees' pointers.
bool reasonKeepsCalls(Reason r);

} // namespace dsu
