// DSU_TIME=1: wall time per phase of dsu-cc-core, printed as one line when
// it exits (the build-overhead benchmark's breakdown comes from here).
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

class PhaseTimes {
public:
  using Clock = std::chrono::steady_clock;
  // Charges the time since the previous mark to `phase`.
  void mark(const char *phase);
  ~PhaseTimes();

private:
  Clock::time_point last_ = Clock::now();
  std::vector<std::pair<std::string, double>> phases_;
};

// The one clock of the process (its line is printed at exit).
extern PhaseTimes phaseTimes;

// Whether the environment variable is set to something other than "" or "0".
bool envFlag(const char *name);
