// The time a dsu-patchgen run has taken, and with -v a line for each phase.
#pragma once

#include <chrono>

namespace dsu {

// The seconds since the run started, and with -v a line for each phase done.
class PhaseLog {
public:
  explicit PhaseLog(bool verbose)
      : verbose_(verbose), start_(std::chrono::steady_clock::now()) {}
  double seconds() const;
  void done(const char *what) const;

private:
  bool verbose_;
  std::chrono::steady_clock::time_point start_;
};

} // namespace dsu
