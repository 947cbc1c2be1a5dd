#include "Reasons.h"

#include <cstddef>

namespace dsu {

namespace {

struct ReasonInfo {
  std::string_view id, text;
  bool keepsCalls;
};

constexpr bool CallsKept = true, CallsRewritten = false;

// Indexed by the enumerator: Reasons.h declares them in the same order.
constexpr ReasonInfo kReasons[] = {
#define FUNCTION_REASON(Name, Id, Calls, Text) {Id, Text, Calls},
#define TYPE_REASON(Name, Id, Text) {Id, Text, false},
#include "Reasons.def"
};

constexpr size_t kReasonCount = 0
#define REASON(Name, Id, Text) +1
#include "Reasons.def"
    ;
static_assert(sizeof(kReasons) / sizeof(kReasons[0]) == kReasonCount);

const ReasonInfo *info(Reason r) {
  const auto i = static_cast<size_t>(r);
  return i < kReasonCount ? &kReasons[i] : nullptr;
}

} // namespace

std::string_view reasonId(Reason r) {
  const ReasonInfo *i = info(r);
  return i ? i->id : "unknown";
}

std::string_view reasonText(Reason r) {
  const ReasonInfo *i = info(r);
  return i ? i->text : "unknown";
}

bool reasonKeepsCalls(Reason r) {
  const ReasonInfo *i = info(r);
  return i && i->keepsCalls;
}

} // namespace dsu
