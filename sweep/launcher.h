// Where trials run: child processes on this machine (local_launcher.h) or
// SLURM job-array tasks (slurm_launcher.h). The controller starts trials,
// polls for the ones that ended and stops the ones hyperband gives up on;
// it never blocks on a trial.
#ifndef EDGECOMPRESS_SWEEP_LAUNCHER_H_
#define EDGECOMPRESS_SWEEP_LAUNCHER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace edgecompress::sweep {

struct TrialLaunch {
  int64_t trial_id = 0;
  std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
  std::string trial_dir;          // exists; the trial runs with it as working directory
  std::string log_path;           // stdout and stderr, appended
};

struct TrialExit {
  int64_t trial_id = 0;
  int exit_code = 0;       // 128 + signal for a killed process
  bool timed_out = false;  // killed because it ran past the timeout
};

class TrialLauncher {
 public:
  virtual ~TrialLauncher() = default;
  // Starts (or queues) a trial; errors are the launcher's, not the trial's
  // (a trial that cannot exec ends with exit code 127 like a shell's).
  virtual absl::Status Start(const TrialLaunch& launch) = 0;
  // Sends what Start queued (SLURM submits one job array); local: nothing.
  virtual absl::Status Flush() { return absl::OkStatus(); }
  // The trials that ended since the last call; never blocks.
  virtual absl::StatusOr<std::vector<TrialExit>> Poll() = 0;
  // Asks a running trial to stop; its exit comes through Poll.
  virtual absl::Status Stop(int64_t trial_id) = 0;
};

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_LAUNCHER_H_
