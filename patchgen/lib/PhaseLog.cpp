// The time a dsu-patchgen run has taken, and with -v a line for each phase.
#include "PhaseLog.h"

#include <fmt/format.h>

namespace dsu {

double PhaseLog::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void PhaseLog::done(const char *what) const {
  if (verbose_)
    fmt::print(stderr, "dsu-patchgen: {:.2f} s: {}\n", seconds(), what);
}

} // namespace dsu
