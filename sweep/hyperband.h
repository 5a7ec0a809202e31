// Hyperband early termination as W&B implements it (wandb/sweeps,
// src/sweeps/hyperband_stopping.py; Li et al., "Hyperband: A Novel
// Bandit-Based Approach to Hyperparameter Optimization", JMLR 2018):
//
//   1. Bands: min_iter * eta^k for k = 0, 1, ... (min_iter form), or
//      floor(max_iter / eta^k) for k = 1..s (max_iter form), ascending.
//   2. For each band b, over every trial (running or done) that logged more
//      than b values: the threshold is the value at index
//      floor(n / eta) of their values at index b sorted best first.
//   3. A running trial is stopped when, at the last band it has passed, its
//      value is worse than that band's threshold.
//
// Convention: iteration b is history index b (0-based), as in W&B. W&B's
// code compares the value at the last band of the loop rather than at the
// trial's last passed band when the loop breaks early; here it is the
// trial's last passed band, which is what its comments describe.
#ifndef EDGECOMPRESS_SWEEP_HYPERBAND_H_
#define EDGECOMPRESS_SWEEP_HYPERBAND_H_

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "sweep/config.h"

namespace edgecompress::sweep {

struct TrialHistory {
  int64_t trial_id = 0;
  bool running = false;
  std::vector<double> values;  // the metric per iteration
};

// Bands no larger than `longest_history` (min_iter form: it is unbounded).
std::vector<int64_t> HyperbandBands(const HyperbandSpec& spec, int64_t longest_history);

// Ids of the running trials to stop.
std::vector<int64_t> HyperbandTrialsToStop(const HyperbandSpec& spec, Goal goal,
                                           absl::Span<const TrialHistory> histories);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_HYPERBAND_H_
