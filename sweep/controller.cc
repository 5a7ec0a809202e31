#include "sweep/controller.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "sweep/hyperband.h"
#include "sweep/trial_result.h"
#include "tools/status/status_macros.h"

namespace edgecompress::sweep {
namespace {

absl::Status MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Whether `a` is better than `b` for `goal`.
bool Better(double a, double b, Goal goal) { return goal == Goal::kMaximize ? a > b : a < b; }

class Controller {
 public:
  Controller(const SweepConfig& config, Search& search, TrialLauncher& launcher, SweepStore& store,
             const ControllerOptions& options)
      : config_(config), search_(search), launcher_(launcher), store_(store), options_(options) {}

  absl::Status Run();

 private:
  absl::Status Launch(Trial& trial);
  absl::Status Finish(const TrialExit& exit);
  absl::Status ApplyHyperband();
  void ReportProgress();
  int64_t Cap() const {
    int64_t cap = config_.run_cap;
    if (options_.max_trials > 0) cap = cap == 0 ? options_.max_trials : std::min(cap, options_.max_trials);
    return cap;
  }

  const SweepConfig& config_;
  Search& search_;
  TrialLauncher& launcher_;
  SweepStore& store_;
  const ControllerOptions& options_;
  std::vector<Trial> trials_;           // index == id
  std::set<int64_t> running_;
  std::set<int64_t> stopping_;          // asked to stop by hyperband
  double last_hyperband_s_ = 0;
  double started_s_ = 0;
  int64_t done_this_run_ = 0;
  bool exhausted_ = false;
};

absl::Status Controller::Launch(Trial& trial) {
  const std::string dir = TrialDir(options_.sweep_dir, trial.id);
  RETURN_IF_ERROR(MakeDir(dir));
  // A rerun must not read the result an interrupted attempt left behind.
  std::remove(absl::StrCat(dir, "/result.json").c_str());
  ASSIGN_OR_RETURN(std::vector<std::string> argv,
                   ExpandCommand(config_.command, options_.program, trial.assignment, dir));
  trial.state = TrialState::kRunning;
  trial.exit_code = -1;
  trial.metrics.clear();
  trial.history.clear();
  trial.error.clear();
  trial.start_time_s = options_.wall_time_s();
  trial.end_time_s = 0;
  RETURN_IF_ERROR(store_.Put(trial));
  RETURN_IF_ERROR(launcher_.Start(
      {.trial_id = trial.id, .argv = std::move(argv), .trial_dir = dir, .log_path = dir + "/log.txt"}));
  running_.insert(trial.id);
  return absl::OkStatus();
}

absl::Status Controller::Finish(const TrialExit& exit) {
  if (exit.trial_id < 0 || exit.trial_id >= static_cast<int64_t>(trials_.size()) ||
      running_.count(exit.trial_id) == 0) {
    return absl::InternalError(absl::StrCat("the launcher reported unknown trial ", exit.trial_id));
  }
  Trial& trial = trials_[exit.trial_id];
  running_.erase(trial.id);
  const std::string dir = TrialDir(options_.sweep_dir, trial.id);
  trial.exit_code = exit.exit_code;
  trial.end_time_s = options_.wall_time_s();
  if (!config_.metrics.empty()) {
    trial.history = MetricHistory(ReadFile(dir + "/log.txt"), config_.metrics[0].name);
  }
  absl::StatusOr<std::map<std::string, double>> metrics =
      ReadTrialMetrics(dir + "/result.json", config_.metrics, trial.assignment);
  if (stopping_.count(trial.id) != 0) {
    stopping_.erase(trial.id);
    trial.state = TrialState::kStopped;
    trial.error = "stopped early by hyperband";
    if (metrics.ok()) trial.metrics = *metrics;
    // The last logged value stands for the first metric; the others come
    // from parameters (e.g. epochs) when the trial wrote no result.
    if (!trial.history.empty()) trial.metrics[config_.metrics[0].name] = trial.history.back();
    for (const MetricSpec& metric : config_.metrics) {
      double value = 0;
      const std::optional<std::string> text = ValueOf(trial.assignment, metric.name);
      if (trial.metrics.count(metric.name) == 0 && text && absl::SimpleAtod(*text, &value)) {
        trial.metrics[metric.name] = value;
      }
    }
    if (trial.metrics.size() != config_.metrics.size()) trial.metrics.clear();
  } else if (exit.timed_out) {
    trial.state = TrialState::kTimedOut;
    trial.error = "ran past the timeout";
  } else if (exit.exit_code == 0) {
    if (metrics.ok()) {
      trial.state = TrialState::kFinished;
      trial.metrics = *metrics;
    } else {
      trial.state = TrialState::kFailed;
      trial.error = std::string(metrics.status().message());
    }
  } else if (exit.exit_code == 5) {
    trial.state = TrialState::kRuined;
    trial.error = LastLogLine(dir + "/log.txt");
    if (metrics.ok()) trial.metrics = *metrics;
  } else {
    trial.state = TrialState::kFailed;
    trial.error = absl::StrCat("exit code ", exit.exit_code, ": ", LastLogLine(dir + "/log.txt"));
  }
  ++done_this_run_;
  RETURN_IF_ERROR(store_.Put(trial));
  ReportProgress();
  return absl::OkStatus();
}

absl::Status Controller::ApplyHyperband() {
  const double now = options_.wall_time_s();
  if (!config_.early_terminate || now - last_hyperband_s_ < 1.0) return absl::OkStatus();
  last_hyperband_s_ = now;
  std::vector<TrialHistory> histories;
  for (Trial& trial : trials_) {
    const bool running = running_.count(trial.id) != 0 && stopping_.count(trial.id) == 0;
    if (running) {
      trial.history = MetricHistory(ReadFile(TrialDir(options_.sweep_dir, trial.id) + "/log.txt"),
                                    config_.metrics[0].name);
    }
    histories.push_back({trial.id, running, trial.history});
  }
  for (int64_t id : HyperbandTrialsToStop(*config_.early_terminate, config_.metrics[0].goal,
                                          histories)) {
    RETURN_IF_ERROR(launcher_.Stop(id));
    stopping_.insert(id);
  }
  return absl::OkStatus();
}

void Controller::ReportProgress() {
  if (!options_.on_progress) return;
  SweepProgress progress;
  for (const Trial& trial : trials_) {
    if (trial.state == TrialState::kRunning) continue;
    ++progress.done;
    if (trial.state == TrialState::kFailed || trial.state == TrialState::kTimedOut) ++progress.failed;
  }
  progress.running = static_cast<int64_t>(running_.size());
  progress.best = BestTrial(trials_, config_.metrics);

  const std::optional<int64_t> space = DiscreteSpaceSize(config_.parameters);
  const int64_t cap = Cap();
  if (space && cap > 0) {
    progress.total = std::min(*space, cap);
  } else if (space) {
    progress.total = space;
  } else if (cap > 0) {
    progress.total = cap;
  }
  if (progress.total && done_this_run_ > 0) {
    const double per_trial = (options_.wall_time_s() - started_s_) / done_this_run_;
    progress.eta_s = per_trial * std::max<int64_t>(0, *progress.total - progress.done);
  }
  options_.on_progress(progress);
}

absl::Status Controller::Run() {
  ASSIGN_OR_RETURN(trials_, store_.Trials());
  for (size_t i = 0; i < trials_.size(); ++i) {
    if (trials_[i].id != static_cast<int64_t>(i)) {
      return absl::DataLossError(absl::StrCat(store_.path(), ": trial ids are not 0..n-1"));
    }
  }
  RETURN_IF_ERROR(MakeDir(options_.sweep_dir + "/trials"));
  started_s_ = options_.wall_time_s();
  const int workers = std::max(1, options_.workers);
  while (true) {
    // Interrupted trials first, in id order, then new points.
    for (Trial& trial : trials_) {
      if (static_cast<int>(running_.size()) >= workers) break;
      if (trial.state == TrialState::kRunning && running_.count(trial.id) == 0) {
        RETURN_IF_ERROR(Launch(trial));
      }
    }
    const int64_t cap = Cap();
    while (static_cast<int>(running_.size()) < workers && !exhausted_ &&
           (cap == 0 || static_cast<int64_t>(trials_.size()) < cap)) {
      bool interrupted_waiting = false;
      for (const Trial& trial : trials_) {
        interrupted_waiting |= trial.state == TrialState::kRunning && running_.count(trial.id) == 0;
      }
      if (interrupted_waiting) break;
      ASSIGN_OR_RETURN(std::optional<Assignment> next, search_.Next(trials_));
      if (!next) {
        exhausted_ = true;
        break;
      }
      Trial trial;
      trial.id = static_cast<int64_t>(trials_.size());
      trial.assignment = std::move(*next);
      trials_.push_back(std::move(trial));
      RETURN_IF_ERROR(Launch(trials_.back()));
    }
    RETURN_IF_ERROR(launcher_.Flush());
    if (running_.empty()) break;
    ASSIGN_OR_RETURN(const std::vector<TrialExit> exits, launcher_.Poll());
    for (const TrialExit& exit : exits) RETURN_IF_ERROR(Finish(exit));
    RETURN_IF_ERROR(ApplyHyperband());
    if (exits.empty()) options_.sleep_s(options_.poll_interval_s);
  }
  return absl::OkStatus();
}

}  // namespace

std::string TrialDir(const std::string& sweep_dir, int64_t trial_id) {
  return absl::StrCat(sweep_dir, "/trials/", trial_id);
}

absl::StatusOr<std::vector<std::string>> ExpandCommand(absl::Span<const std::string> command,
                                                       const std::string& program,
                                                       const Assignment& assignment,
                                                       const std::string& trial_dir) {
  std::vector<std::string> argv;
  for (const std::string& word : command) {
    if (word == "${args}" || word == "${args_no_hyphens}") {
      const bool hyphens = word == "${args}";
      for (const auto& [name, value] : assignment) {
        argv.push_back(absl::StrCat(hyphens ? "--" : "", name, "=", value));
      }
      continue;
    }
    std::string expanded = absl::StrReplaceAll(
        word, {{"${program}", program}, {"${out}", trial_dir + "/result.json"}, {"${trial_dir}", trial_dir}});
    if (const size_t at = expanded.find("${"); at != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "command word '", word, "' has an unknown macro or an ${args} form inside a word; known: "
          "${program}, ${args}, ${args_no_hyphens}, ${out}, ${trial_dir}"));
    }
    argv.push_back(std::move(expanded));
  }
  return argv;
}

const Trial* BestTrial(absl::Span<const Trial> trials, absl::Span<const MetricSpec> metrics) {
  if (metrics.empty()) return nullptr;
  const Trial* best = nullptr;
  for (const Trial& trial : trials) {
    if (!trial.has_metrics()) continue;
    const auto it = trial.metrics.find(metrics[0].name);
    if (it == trial.metrics.end()) continue;
    if (best == nullptr || Better(it->second, best->metrics.at(metrics[0].name), metrics[0].goal)) {
      best = &trial;
    }
  }
  return best;
}

absl::Status RunSweep(const SweepConfig& config, Search& search, TrialLauncher& launcher,
                      SweepStore& store, const ControllerOptions& options) {
  return Controller(config, search, launcher, store, options).Run();
}

}  // namespace edgecompress::sweep
