// Trials as child processes of the controller.
//
// Each child gets its own process group (so a timeout or a stop kills the
// whole trial, e.g. a shell script and its train_prune), its log as stdout
// and stderr, and PR_SET_PDEATHSIG so that it dies with a killed controller
// instead of running on unobserved (`sweep resume` runs it again). A
// timeout sends SIGTERM to the group, then SIGKILL after `kill_grace_s`.
// Grandchildren that leave the group (setsid, daemons) are not tracked.
#ifndef EDGECOMPRESS_SWEEP_LOCAL_LAUNCHER_H_
#define EDGECOMPRESS_SWEEP_LOCAL_LAUNCHER_H_

#include <sys/types.h>

#include <functional>
#include <map>

#include "sweep/launcher.h"

namespace edgecompress::sweep {

struct LocalLauncherOptions {
  double timeout_s = 0;      // per trial, wall clock; 0: none
  double kill_grace_s = 5;   // SIGTERM to SIGKILL
  std::function<double()> now_s;  // monotonic seconds; the test's clock or the real one
};

class LocalLauncher : public TrialLauncher {
 public:
  explicit LocalLauncher(LocalLauncherOptions options);
  ~LocalLauncher() override;  // kills what is still running

  absl::Status Start(const TrialLaunch& launch) override;
  absl::StatusOr<std::vector<TrialExit>> Poll() override;
  absl::Status Stop(int64_t trial_id) override;

 private:
  struct Child {
    pid_t pid;
    double start_s;
    double term_sent_s = -1;  // when SIGTERM went out; -1: not yet
    bool timed_out = false;
  };
  void Terminate(Child& child);

  LocalLauncherOptions options_;
  std::map<int64_t, Child> children_;
};

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_LOCAL_LAUNCHER_H_
