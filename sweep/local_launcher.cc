#include "sweep/local_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace edgecompress::sweep {

LocalLauncher::LocalLauncher(LocalLauncherOptions options) : options_(std::move(options)) {
  if (!options_.now_s) {
    options_.now_s = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

LocalLauncher::~LocalLauncher() {
  for (auto& [id, child] : children_) {
    kill(-child.pid, SIGKILL);
    waitpid(child.pid, nullptr, 0);
  }
}

absl::Status LocalLauncher::Start(const TrialLaunch& launch) {
  if (launch.argv.empty()) return absl::InvalidArgumentError("a trial's command is empty");
  // Everything the child needs is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<char*> argv;
  for (const std::string& word : launch.argv) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  const int log = open(launch.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    return absl::PermissionDeniedError(
        absl::StrCat(launch.log_path, ": cannot open the trial log: ", std::strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log);
    return absl::ResourceExhaustedError(absl::StrCat("fork for trial ", launch.trial_id, ": ",
                                                     std::strerror(errno)));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);  // the controller died before prctl
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    if (chdir(launch.trial_dir.c_str()) != 0) _exit(126);
    execvp(argv[0], argv.data());
    const char message[] = "sweep: cannot execute the trial's program\n";
    (void)!write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  close(log);
  setpgid(pid, pid);  // also here, so a kill right after fork finds the group
  children_[launch.trial_id] = Child{pid, options_.now_s()};
  return absl::OkStatus();
}

void LocalLauncher::Terminate(Child& child) {
  kill(-child.pid, SIGTERM);
  child.term_sent_s = options_.now_s();
}

absl::StatusOr<std::vector<TrialExit>> LocalLauncher::Poll() {
  std::vector<TrialExit> exits;
  const double now = options_.now_s();
  for (auto it = children_.begin(); it != children_.end();) {
    Child& child = it->second;
    int status = 0;
    const pid_t done = waitpid(child.pid, &status, WNOHANG);
    if (done == child.pid) {
      // The leader is gone; stragglers of its group go with it.
      kill(-child.pid, SIGKILL);
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      exits.push_back({it->first, code, child.timed_out});
      it = children_.erase(it);
      continue;
    }
    if (child.term_sent_s < 0 && options_.timeout_s > 0 && now - child.start_s > options_.timeout_s) {
      child.timed_out = true;
      Terminate(child);
    } else if (child.term_sent_s >= 0 && now - child.term_sent_s > options_.kill_grace_s) {
      kill(-child.pid, SIGKILL);
    }
    ++it;
  }
  return exits;
}

absl::Status LocalLauncher::Stop(int64_t trial_id) {
  auto it = children_.find(trial_id);
  if (it == children_.end()) {
    return absl::NotFoundError(absl::StrCat("trial ", trial_id, " is not running"));
  }
  if (it->second.term_sent_s < 0) Terminate(it->second);
  return absl::OkStatus();
}

}  // namespace edgecompress::sweep
