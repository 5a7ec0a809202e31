#include "sweep/slurm_launcher.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/io/atomic_file.h"
#include "tools/status/status_macros.h"

namespace edgecompress::sweep {
namespace {

std::string ReadSmallFile(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The last non-empty line of a command's output, for one-line errors.
std::string LastLine(const std::string& output) {
  std::vector<std::string> lines = absl::StrSplit(output, '\n', absl::SkipWhitespace());
  return lines.empty() ? "(no output)" : std::string(absl::StripAsciiWhitespace(lines.back()));
}

}  // namespace

std::string ShellQuote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

absl::StatusOr<CommandOutput> RunCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return absl::InvalidArgumentError("empty command");
  std::vector<char*> args;
  for (const std::string& word : argv) args.push_back(const_cast<char*>(word.c_str()));
  args.push_back(nullptr);
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) {
    return absl::ResourceExhaustedError(absl::StrCat("pipe: ", std::strerror(errno)));
  }
  const pid_t pid = fork();
  if (pid < 0) {
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    return absl::ResourceExhaustedError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  CommandOutput result;
  char buffer[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    result.output.append(buffer, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (result.exit_code == 127 && result.output.empty()) {
    return absl::NotFoundError(absl::StrCat(argv[0], ": command not found (is SLURM installed?)"));
  }
  return result;
}

SlurmLauncher::SlurmLauncher(SlurmLauncherOptions options) : options_(std::move(options)) {
  if (!options_.now_s) {
    options_.now_s = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

absl::Status SlurmLauncher::CancelEarlierSubmission(const TrialLaunch& launch) {
  const std::string job_file = launch.trial_dir + "/slurm_job";
  if (access(job_file.c_str(), R_OK) != 0) return absl::OkStatus();
  const std::string job = std::string(absl::StripAsciiWhitespace(ReadSmallFile(job_file)));
  if (job.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(CommandOutput cancelled, RunCommand({"scancel", job}));
  // An unknown job id (long finished) is what we hope for; anything else
  // would risk two copies of the trial running.
  if (cancelled.exit_code != 0 && cancelled.output.find("Invalid job id") == std::string::npos) {
    return absl::UnavailableError(absl::StrCat("scancel ", job, " (trial ", launch.trial_id,
                                               " from an earlier run): ",
                                               LastLine(cancelled.output)));
  }
  return absl::OkStatus();
}

absl::Status SlurmLauncher::Start(const TrialLaunch& launch) {
  if (launch.argv.empty()) return absl::InvalidArgumentError("a trial's command is empty");
  RETURN_IF_ERROR(CancelEarlierSubmission(launch));
  std::remove((launch.trial_dir + "/exit_code").c_str());
  std::vector<std::string> words;
  for (const std::string& word : launch.argv) words.push_back(ShellQuote(word));
  const std::string script = absl::StrCat(
      "#!/bin/sh\n"
      "# Trial ", launch.trial_id, " of a sweep, run as a SLURM array task.\n",
      "cd ", ShellQuote(launch.trial_dir), " || exit 126\n",
      absl::StrJoin(words, " "), " </dev/null >>", ShellQuote(launch.log_path), " 2>&1\n",
      "echo $? > exit_code.partial && mv exit_code.partial exit_code\n");
  const std::string path = launch.trial_dir + "/slurm_task.sh";
  RETURN_IF_ERROR(tools::WriteFileAtomically(path, script));
  pending_.emplace_back(launch.trial_id, path);
  tasks_[launch.trial_id] = Task{launch.trial_dir, launch.log_path, "", options_.now_s()};
  return absl::OkStatus();
}

absl::Status SlurmLauncher::Flush() {
  if (pending_.empty()) return absl::OkStatus();
  // The array script picks its trial's script by the task index.
  std::string array = "#!/bin/sh\n# A sweep's job array: task i runs trial script i.\ncase \"$SLURM_ARRAY_TASK_ID\" in\n";
  for (size_t i = 0; i < pending_.size(); ++i) {
    absl::StrAppend(&array, "  ", i, ") exec /bin/sh ", ShellQuote(pending_[i].second), " ;;\n");
  }
  absl::StrAppend(&array, "esac\necho \"no trial for array task $SLURM_ARRAY_TASK_ID\" >&2\nexit 2\n");
  const std::string first_dir = tasks_.at(pending_.front().first).trial_dir;
  const std::string array_path = first_dir + "/slurm_array.sh";
  RETURN_IF_ERROR(tools::WriteFileAtomically(array_path, array));

  std::vector<std::string> argv = {"sbatch", "--parsable",
                                   absl::StrCat("--array=0-", pending_.size() - 1),
                                   absl::StrCat("--job-name=", options_.job_name),
                                   "--output=/dev/null"};
  if (options_.timeout_s > 0) {
    argv.push_back(absl::StrCat("--time=", static_cast<int64_t>(std::ceil(options_.timeout_s / 60))));
  }
  argv.insert(argv.end(), options_.sbatch_args.begin(), options_.sbatch_args.end());
  argv.push_back(array_path);
  ASSIGN_OR_RETURN(CommandOutput submitted, RunCommand(argv));
  // --parsable prints "<job id>[;<cluster>]".
  const std::string line = LastLine(submitted.output);
  const std::string job = line.substr(0, line.find(';'));
  if (submitted.exit_code != 0 || job.empty() ||
      job.find_first_not_of("0123456789") != std::string::npos) {
    return absl::UnavailableError(absl::StrCat("sbatch failed (exit ", submitted.exit_code,
                                               "): ", LastLine(submitted.output)));
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    Task& task = tasks_.at(pending_[i].first);
    task.job_id = absl::StrCat(job, "_", i);
    RETURN_IF_ERROR(tools::WriteFileAtomically(task.trial_dir + "/slurm_job", task.job_id + "\n"));
  }
  pending_.clear();
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::string>> SlurmLauncher::QueuedTasks() {
  // -r: one line per array task ("123_4|PENDING|Resources"); pending
  // ranges come out expanded.
  ASSIGN_OR_RETURN(CommandOutput queue,
                   RunCommand({"squeue", "-h", "-r", "--me", "-o", "%i|%T|%r"}));
  if (queue.exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("squeue failed (exit ", queue.exit_code,
                                               "): ", LastLine(queue.output)));
  }
  std::map<std::string, std::string> queued;
  for (absl::string_view line : absl::StrSplit(queue.output, '\n', absl::SkipWhitespace())) {
    std::vector<std::string> fields = absl::StrSplit(absl::StripAsciiWhitespace(line), '|');
    fields.resize(3);
    queued[fields[0]] = fields[2];
  }
  return queued;
}

absl::StatusOr<std::vector<TrialExit>> SlurmLauncher::Poll() {
  std::vector<TrialExit> exits;
  const double now = options_.now_s();
  bool queue_read = false;
  for (auto it = tasks_.begin(); it != tasks_.end();) {
    Task& task = it->second;
    if (task.job_id.empty()) {  // not submitted yet
      ++it;
      continue;
    }
    const std::string exit_path = task.trial_dir + "/exit_code";
    if (access(exit_path.c_str(), R_OK) == 0) {
      const std::string text = std::string(absl::StripAsciiWhitespace(ReadSmallFile(exit_path)));
      int code = 0;
      if (!absl::SimpleAtoi(text, &code)) code = 1;
      exits.push_back({it->first, code, false});
      it = tasks_.erase(it);
      continue;
    }
    if (!queue_read && now - last_queue_poll_s_ >= options_.queue_poll_interval_s) {
      ASSIGN_OR_RETURN(queued_, QueuedTasks());
      last_queue_poll_s_ = now;
      queue_read = true;
    }
    const auto queued = queued_.find(task.job_id);
    if (queued != queued_.end() && queued->second.find("launch failed") != std::string::npos) {
      // slurmd could not start it (e.g. a bad spool folder); SLURM holds
      // such a task forever, so it is cancelled and fails like an exec error.
      ASSIGN_OR_RETURN(CommandOutput cancelled, RunCommand({"scancel", task.job_id}));
      std::ofstream(task.log_path, std::ios::app)
          << "sweep: SLURM could not launch " << task.job_id << " (" << queued->second
          << "); cancelled (scancel exit " << cancelled.exit_code << ")\n";
      exits.push_back({it->first, 126, false});
      it = tasks_.erase(it);
      continue;
    }
    if (queued != queued_.end() || last_queue_poll_s_ < task.start_s) {
      task.gone_since_s = -1;
    } else if (task.gone_since_s < 0) {
      task.gone_since_s = now;
    } else if (now - task.gone_since_s > options_.vanish_grace_s) {
      const bool timed_out = options_.timeout_s > 0 && now - task.start_s >= options_.timeout_s;
      exits.push_back({it->first, 137, timed_out});
      it = tasks_.erase(it);
      continue;
    }
    ++it;
  }
  return exits;
}

absl::Status SlurmLauncher::Stop(int64_t trial_id) {
  auto it = tasks_.find(trial_id);
  if (it == tasks_.end()) {
    return absl::NotFoundError(absl::StrCat("trial ", trial_id, " is not running"));
  }
  if (it->second.job_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("trial ", trial_id, " is not submitted yet"));
  }
  ASSIGN_OR_RETURN(CommandOutput cancelled, RunCommand({"scancel", it->second.job_id}));
  if (cancelled.exit_code != 0) {
    return absl::UnavailableError(absl::StrCat("scancel ", it->second.job_id, ": ",
                                               LastLine(cancelled.output)));
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::sweep
