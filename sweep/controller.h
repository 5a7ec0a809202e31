// The experiment controller: runs a sweep's trials through a launcher, N at
// a time, and records every start and end in the store.
//
// Loop, every `poll_interval_s`:
//   1. Fill free worker slots: ask the search for a point, give it the next
//      trial id, write its row (state running), create trials/<id>/, start it
//      with the command's macros expanded. Stop asking once the search is
//      exhausted or `max_trials` trials exist.
//   2. Collect ended trials: exit 0 and every metric in trials/<id>/result.json
//      is "finished"; exit 5 "ruined" (train_prune's diverged run; metrics
//      kept when written); a timeout "timeout"; anything else "failed" with
//      the exit code and the log's last line. None of these stops the sweep.
//   3. With hyperband, at most once a second: read the running trials' logs
//      (trial_result.h MetricHistory), stop the ones hyperband rejects
//      ("stopped", metrics = their last logged values).
// The sweep ends when nothing runs and nothing more will start. Trials a
// killed controller left "running" are started again first, with the same
// id and point; finished ones are never repeated.
//
// Command macros (W&B's, plus two of ours): ${program}; ${args} -> one word
// per parameter "--name=value"; ${args_no_hyphens} -> "name=value";
// ${out} -> trials/<id>/result.json; ${trial_dir} -> trials/<id>. They may
// sit inside a word ("--out=${out}") except the ${args} forms, which must be
// whole words. The trial runs in trials/<id>/ as its working directory.
#ifndef EDGECOMPRESS_SWEEP_CONTROLLER_H_
#define EDGECOMPRESS_SWEEP_CONTROLLER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "sweep/config.h"
#include "sweep/launcher.h"
#include "sweep/search.h"
#include "sweep/store.h"
#include "sweep/trial.h"

namespace edgecompress::sweep {

struct SweepProgress {
  int64_t done = 0, failed = 0, running = 0;  // failed: failed + timeout (ruined count as done)
  std::optional<int64_t> total;               // when known (grid, run_cap, discrete space)
  const Trial* best = nullptr;                // best by the first metric; null: none yet
  double eta_s = -1;                          // -1: unknown
};

struct ControllerOptions {
  std::string sweep_dir;   // holds trials/<id>/; must exist
  std::string program;     // for ${program}
  int workers = 1;
  int64_t max_trials = 0;  // 0: no limit (the config's run_cap is applied on top)
  double poll_interval_s = 0.05;
  std::function<double()> wall_time_s;        // Unix seconds
  std::function<void(double)> sleep_s;
  std::function<void(const SweepProgress&)> on_progress;  // after each trial ends; may be empty
};

// Runs the sweep to its end. Errors are the controller's own (store,
// launcher, search), never a trial's.
absl::Status RunSweep(const SweepConfig& config, Search& search, TrialLauncher& launcher,
                      SweepStore& store, const ControllerOptions& options);

// The command of one trial; kInvalidArgument for an unknown ${macro} or an
// ${args} form inside a word.
absl::StatusOr<std::vector<std::string>> ExpandCommand(absl::Span<const std::string> command,
                                                       const std::string& program,
                                                       const Assignment& assignment,
                                                       const std::string& trial_dir);

// The best trial by the first metric among those with metrics; nullptr if none.
const Trial* BestTrial(absl::Span<const Trial> trials, absl::Span<const MetricSpec> metrics);

// trials/<id> under `sweep_dir`.
std::string TrialDir(const std::string& sweep_dir, int64_t trial_id);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_CONTROLLER_H_
