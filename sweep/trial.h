// One trial of a sweep: its point, its state and what it reported.
#ifndef EDGECOMPRESS_SWEEP_TRIAL_H_
#define EDGECOMPRESS_SWEEP_TRIAL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "sweep/search_space.h"

namespace edgecompress::sweep {

enum class TrialState {
  kRunning,   // started (or interrupted by a killed controller: resume runs it again)
  kFinished,  // exit 0 and every metric found
  kRuined,    // exit 5: train_prune's "ruined run" (diverged); metrics kept if present
  kFailed,    // any other exit, a signal, or a missing metric
  kTimedOut,  // killed after the controller's timeout
  kStopped,   // stopped early by hyperband; metrics are the last reported values
};

absl::string_view TrialStateName(TrialState state);
std::optional<TrialState> ParseTrialState(absl::string_view name);

struct Trial {
  int64_t id = 0;  // 0, 1, ... in launch order; also the trial's folder name
  Assignment assignment;
  TrialState state = TrialState::kRunning;
  int exit_code = -1;                     // -1 while running; 128 + signal when killed
  std::map<std::string, double> metrics;  // by metric name
  std::string error;                      // why it failed, one line
  double start_time_s = 0, end_time_s = 0;  // Unix seconds
  std::vector<double> history;            // first metric per reported iteration

  bool done() const { return state != TrialState::kRunning; }
  // Whether its metrics may be used by the search and for "best".
  bool has_metrics() const {
    return state == TrialState::kFinished || state == TrialState::kStopped ||
           (state == TrialState::kRuined && !metrics.empty());
  }
};

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_TRIAL_H_
