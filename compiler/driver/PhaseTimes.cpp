#include "PhaseTimes.h"

#include <cstdlib>
#include <cstring>
#include <fmt/format.h>

PhaseTimes phaseTimes;

bool envFlag(const char *name) {
  const char *v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

void PhaseTimes::mark(const char *phase) {
  Clock::time_point now = Clock::now();
  double s = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  for (auto &entry : phases_)
    if (entry.first == phase) {
      entry.second += s;
      return;
    }
  phases_.emplace_back(phase, s);
}

PhaseTimes::~PhaseTimes() {
  if (!envFlag("DSU_TIME"))
    return;
  std::string line = "dsu-cc: time:";
  double total = 0;
  for (const auto &[phase, s] : phases_) {
    line += fmt::format(" {} {:.3f} s,", phase, s);
    total += s;
  }
  fmt::print(stderr, "{} total {:.3f} s\n", line, total);
}
