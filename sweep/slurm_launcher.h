// Trials as SLURM job-array tasks: the sweep outgrows one machine.
//
// Start() queues a trial; Flush() submits everything queued as one job
// array (`sbatch --parsable --array=0-(n-1)`), whose task i runs queued
// trial i. Every trial gets trials/<id>/slurm_task.sh:
//
//   cd <trial_dir> && <argv, shell-quoted> >> <log> 2>&1
//   echo $? > exit_code.partial && mv exit_code.partial exit_code
//
// so the trial's exit code reaches the controller through the shared sweep
// directory (no accounting database needed: `sacct` is often not set up),
// written atomically, and Poll() reports a trial once its exit_code appears.
// A task that leaves the queue (`squeue`) without writing one was killed by
// SLURM (time limit, scancel, node failure): after `vanish_grace_s`, to let
// a shared filesystem catch up, it ends with exit code 137, and as timed out
// when the --time limit had passed. A task SLURM could not launch (squeue's
// reason "launch failed requeued held": SLURM would hold it forever) is
// cancelled and ends with exit code 126, the reason in its log.
//
// Timeouts use SLURM's own limit: `--time` = ceil(timeout_s / 60) minutes.
// Stop() runs `scancel <job>_<task>`. The job id of each trial is kept in
// trials/<id>/slurm_job, so a trial started again by `sweep resume` first
// cancels a task an earlier, killed controller left in the queue, and never
// runs twice at once. Unlike local trials, SLURM trials outlive a killed
// controller; resume reruns them (their exit_code is removed at Start).
//
// `squeue` runs at most once per `queue_poll_interval_s`; commands are found
// in PATH (sbatch, squeue, scancel), so tests put shims there.
#ifndef EDGECOMPRESS_SWEEP_SLURM_LAUNCHER_H_
#define EDGECOMPRESS_SWEEP_SLURM_LAUNCHER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sweep/launcher.h"

namespace edgecompress::sweep {

struct SlurmLauncherOptions {
  double timeout_s = 0;                 // per trial; 0: the partition's limit
  std::vector<std::string> sbatch_args; // e.g. {"--partition=debug", "--cpus-per-task=1"}
  std::string job_name = "sweep";
  double queue_poll_interval_s = 2;
  double vanish_grace_s = 5;
  std::function<double()> now_s;        // monotonic seconds; the test's clock or the real one
};

class SlurmLauncher : public TrialLauncher {
 public:
  explicit SlurmLauncher(SlurmLauncherOptions options);

  absl::Status Start(const TrialLaunch& launch) override;
  absl::Status Flush() override;
  absl::StatusOr<std::vector<TrialExit>> Poll() override;
  absl::Status Stop(int64_t trial_id) override;

 private:
  struct Task {
    std::string trial_dir, log_path;
    std::string job_id;      // "<job>_<index>" once submitted
    double start_s = 0;
    double gone_since_s = -1;  // first poll that did not find it queued; -1: queued
  };
  absl::Status CancelEarlierSubmission(const TrialLaunch& launch);
  // Queued tasks: "<job>_<index>" -> squeue's reason (e.g. "Resources").
  absl::StatusOr<std::map<std::string, std::string>> QueuedTasks();

  SlurmLauncherOptions options_;
  std::vector<std::pair<int64_t, std::string>> pending_;  // trial id, its script
  std::map<int64_t, Task> tasks_;
  double last_queue_poll_s_ = -1e300;
  std::map<std::string, std::string> queued_;  // as QueuedTasks last read it
};

// Runs argv (looked up in PATH), returns exit code and stdout + stderr.
struct CommandOutput {
  int exit_code = 0;
  std::string output;
};
absl::StatusOr<CommandOutput> RunCommand(const std::vector<std::string>& argv);

// `word` quoted for sh: '...' with each ' as '\''.
std::string ShellQuote(const std::string& word);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_SLURM_LAUNCHER_H_
