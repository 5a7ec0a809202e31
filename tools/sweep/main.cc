// sweep: runs a hyper-parameter sweep in W&B's YAML format over train_prune
// (or any program), N trials at a time, with its state in SQLite so a killed
// sweep resumes. Flag parsing and wiring only; the work is in sweep/.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "sweep/bayes_search.h"
#include "sweep/config.h"
#include "sweep/controller.h"
#include "sweep/local_launcher.h"
#include "sweep/slurm_launcher.h"
#include "sweep/store.h"
#include "tools/io/atomic_file.h"
#include "tools/result/result_json.h"
#include "tools/status/status_macros.h"
#include "tools/sweep/report.h"
#include "tools/sweep/sync.h"
#include "metrics/metrics_run.h"

ABSL_FLAG(std::string, config, "", "run: the sweep YAML (W&B format).");
ABSL_FLAG(std::string, dir, "", "The sweep folder: sweep.db, trials/<id>/, results.*, report.html.");
ABSL_FLAG(int, workers, 1, "Trials run at the same time.");
ABSL_FLAG(double, timeout_s, 0, "Wall-clock limit per trial in seconds; 0: none.");
ABSL_FLAG(uint64_t, seed, 1, "run: seed of random and bayes search.");
ABSL_FLAG(std::string, program, "", "run: replaces the config's `program` (e.g. a bazel-bin path).");
ABSL_FLAG(int64_t, max_trials, 0, "Stop after this many trials in all (on top of run_cap); 0: none.");
ABSL_FLAG(std::string, backend, "local",
          "local (child processes) or slurm (sbatch job arrays; the sweep folder must be on a "
          "filesystem the nodes share).");
ABSL_FLAG(std::string, sbatch_args, "",
          "slurm: extra sbatch arguments, space-separated (e.g. \"--partition=debug --cpus-per-task=2\").");
ABSL_FLAG(double, sync_timeout_s, 300,
          "sync: give up on an unreachable endpoint after this long (the rest stays on disk).");

namespace edgecompress {
namespace {

enum ExitCode { kExitOk = 0, kExitBadInput = 2, kExitSweepFailed = 3, kExitOutputFailed = 4 };

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "sweep: " << status.message() << "\n";
  return code;
}

double WallSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Duration(double s) {
  if (s < 0) return "?";
  const int64_t t = static_cast<int64_t>(s + 0.5);
  return t >= 3600 ? absl::StrFormat("%dh%02dm", t / 3600, t / 60 % 60)
                   : absl::StrFormat("%dm%02ds", t / 60, t % 60);
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot read: ", std::strerror(errno)));
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

absl::Status WriteOutputs(const sweep::SweepConfig& config, const std::string& dir,
                          const std::vector<sweep::Trial>& trials, uint64_t seed) {
  nlohmann::json result = tools::NewResult(
      "sweep", seed,
      {{"dir", dir}, {"workers", absl::StrCat(absl::GetFlag(FLAGS_workers))},
       {"timeout_s", absl::StrCat(absl::GetFlag(FLAGS_timeout_s))}});
  tools::AddResults(config, trials, result);
  RETURN_IF_ERROR(tools::WriteJsonFile(dir + "/results.json", result));
  RETURN_IF_ERROR(tools::WriteFileAtomically(dir + "/results.csv", tools::ResultsCsv(config, trials)));
  return tools::WriteFileAtomically(dir + "/report.html", tools::ResultsHtml(config, trials));
}

// `sweep sync`: the trials' metrics run directories to WANDB_BASE_URL.
int Sync() {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) return Fail(kExitBadInput, absl::InvalidArgumentError("--dir is required"));
  if (access((dir + "/sweep.db").c_str(), R_OK) != 0) {
    return Fail(kExitBadInput, absl::NotFoundError(absl::StrCat(dir, "/sweep.db: no sweep to sync")));
  }
  const metrics::MetricsRunOptions environment = metrics::MetricsRunOptionsFromEnvironment("");
  if (environment.base_url.empty()) {
    return Fail(kExitBadInput, absl::FailedPreconditionError(
                                   "WANDB_BASE_URL is not set (or WANDB_MODE is offline): "
                                   "nothing to sync to"));
  }
  metrics::SyncOptions options;
  options.endpoint = {environment.base_url, environment.api_key};
  options.upload = environment.upload;
  options.give_up_after = absl::Seconds(absl::GetFlag(FLAGS_sync_timeout_s));
  const tools::SweepSyncResult result = tools::SyncSweep(dir, options);
  for (const std::string& failure : result.failures) std::cerr << "sweep: " << failure << "\n";
  std::cerr << "sweep: synced " << result.runs - result.failures.size() << " of " << result.runs
            << " run directories to " << environment.base_url << "\n";
  return result.failures.empty() ? kExitOk : kExitSweepFailed;
}

int Run(const std::string& command) {
  const std::string dir = absl::GetFlag(FLAGS_dir);
  if (dir.empty()) return Fail(kExitBadInput, absl::InvalidArgumentError("--dir is required"));
  if (absl::GetFlag(FLAGS_workers) < 1) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--workers must be at least 1"));
  }
  const std::string backend = absl::GetFlag(FLAGS_backend);
  if (backend != "local" && backend != "slurm") {
    return Fail(kExitBadInput, absl::InvalidArgumentError(absl::StrCat(
                                   "--backend=", backend, ": expected local or slurm")));
  }
  const bool fresh = command == "run";
  if (fresh && mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Fail(kExitBadInput, absl::InvalidArgumentError(absl::StrCat(dir, ": cannot create: ",
                                                                         std::strerror(errno))));
  }
  if (!fresh && access((dir + "/sweep.db").c_str(), R_OK) != 0) {
    return Fail(kExitBadInput, absl::NotFoundError(absl::StrCat(dir, "/sweep.db: no sweep to ", command)));
  }
  absl::StatusOr<sweep::SweepStore> store = sweep::SweepStore::Open(dir + "/sweep.db");
  if (!store.ok()) return Fail(kExitBadInput, store.status());

  absl::StatusOr<std::optional<std::string>> saved = store->Meta("config");
  if (!saved.ok()) return Fail(kExitBadInput, saved.status());
  std::string config_text, source, program;
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (fresh) {
    if (saved->has_value()) {
      return Fail(kExitBadInput, absl::FailedPreconditionError(absl::StrCat(
                                     dir, " already holds a sweep; continue it with `sweep resume`")));
    }
    source = absl::GetFlag(FLAGS_config);
    if (source.empty()) return Fail(kExitBadInput, absl::InvalidArgumentError("--config is required"));
    absl::StatusOr<std::string> text = ReadText(source);
    if (!text.ok()) return Fail(kExitBadInput, text.status());
    config_text = *text;
  } else {
    if (!saved->has_value()) {
      return Fail(kExitBadInput, absl::DataLossError(absl::StrCat(dir, "/sweep.db has no config")));
    }
    config_text = **saved;
    source = store->Meta("config_path").value_or(std::nullopt).value_or("sweep.db");
    program = store->Meta("program").value_or(std::nullopt).value_or("");
    seed = std::strtoull(store->Meta("seed").value_or(std::nullopt).value_or("1").c_str(), nullptr, 10);
  }
  absl::StatusOr<sweep::SweepConfig> config = sweep::ParseSweepConfig(config_text, source);
  if (!config.ok()) return Fail(kExitBadInput, config.status());
  if (command == "report") {
    absl::StatusOr<std::vector<sweep::Trial>> trials = store->Trials();
    if (!trials.ok()) return Fail(kExitSweepFailed, trials.status());
    std::cerr << tools::ResultsTable(*config, *trials);
    absl::Status written = WriteOutputs(*config, dir, *trials, seed);
    return written.ok() ? kExitOk : Fail(kExitOutputFailed, written);
  }
  if (fresh) {
    program = absl::GetFlag(FLAGS_program).empty() ? config->program : absl::GetFlag(FLAGS_program);
    // Trials run in their own folders: a relative program path is made
    // absolute now, against the folder `sweep run` was started in.
    if (!program.empty() && program.find('/') != std::string::npos && program[0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof(cwd)) != nullptr) program = absl::StrCat(cwd, "/", program);
    }
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"config", config_text}, {"config_path", source}, {"program", program},
             {"seed", absl::StrCat(seed)}}) {
      if (absl::Status s = store->SetMeta(key, value); !s.ok()) return Fail(kExitSweepFailed, s);
    }
  }

  absl::StatusOr<std::unique_ptr<sweep::Search>> search = sweep::MakeSearch(*config, seed);
  if (!search.ok()) return Fail(kExitBadInput, search.status());
  std::unique_ptr<sweep::TrialLauncher> launcher;
  if (backend == "slurm") {
    launcher = std::make_unique<sweep::SlurmLauncher>(sweep::SlurmLauncherOptions{
        .timeout_s = absl::GetFlag(FLAGS_timeout_s),
        .sbatch_args = absl::StrSplit(absl::GetFlag(FLAGS_sbatch_args), ' ', absl::SkipEmpty())});
  } else {
    launcher = std::make_unique<sweep::LocalLauncher>(
        sweep::LocalLauncherOptions{.timeout_s = absl::GetFlag(FLAGS_timeout_s)});
  }
  sweep::ControllerOptions options;
  options.sweep_dir = dir;
  options.program = program;
  options.workers = absl::GetFlag(FLAGS_workers);
  options.max_trials = absl::GetFlag(FLAGS_max_trials);
  options.wall_time_s = WallSeconds;
  options.sleep_s = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); };
  options.on_progress = [&](const sweep::SweepProgress& p) {
    std::string line = absl::StrCat("sweep: ", p.done, "/", p.total ? absl::StrCat(*p.total) : "?",
                                    " done (", p.failed, " failed), ", p.running, " running");
    if (p.best != nullptr) {
      absl::StrAppendFormat(&line, ", best %s %.4g (trial %d)", config->metrics[0].name,
                            p.best->metrics.at(config->metrics[0].name), p.best->id);
    }
    absl::StrAppend(&line, ", ETA ", Duration(p.eta_s));
    std::cerr << line << std::endl;
  };
  const absl::Status ran = sweep::RunSweep(*config, **search, *launcher, *store, options);
  if (!ran.ok()) return Fail(kExitSweepFailed, ran);
  absl::StatusOr<std::vector<sweep::Trial>> trials = store->Trials();
  if (!trials.ok()) return Fail(kExitSweepFailed, trials.status());
  std::cerr << tools::ResultsTable(*config, *trials);
  absl::Status written = WriteOutputs(*config, dir, *trials, seed);
  return written.ok() ? kExitOk : Fail(kExitOutputFailed, written);
}

}  // namespace
}  // namespace edgecompress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs a hyper-parameter sweep (W&B sweep YAML: grid, random, bayes; hyperband)\n"
      "of train_prune or any program, --workers trials at a time, state in <dir>/sweep.db.\n"
      "  sweep run --config=sweep.yaml --dir=/tmp/sweep1 --workers=2 [--timeout_s=3600]\n"
      "  sweep resume --dir=/tmp/sweep1      (after a kill: finished trials are not repeated)\n"
      "  sweep report --dir=/tmp/sweep1      (table, results.json/.csv, report.html)\n"
      "  sweep sync --dir=/tmp/sweep1        (the trials' metrics runs to WANDB_BASE_URL)\n"
      "  sweep run --backend=slurm ...       (trials as sbatch job arrays)\n"
      "Exit codes: 0 success, 1 bad flags, 2 bad input (config, folder), 3 the sweep\n"
      "could not go on (state or launcher), 4 an output could not be written. Failed\n"
      "trials do not fail the sweep; they are recorded with their exit code.");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  const std::string command = positional.size() == 2 ? positional[1] : "";
  if (command == "sync") return edgecompress::Sync();
  if (command != "run" && command != "resume" && command != "report") {
    std::cerr << "sweep: expected one command: run, resume, report or sync (see --help)\n";
    return edgecompress::kExitBadInput;
  }
  return edgecompress::Run(command);
}
