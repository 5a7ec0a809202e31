#include "metrics/metrics_run.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/status/status_macros.h"

namespace edgecompress::metrics {
namespace {

void WriteLine(const LogLine& log_line, absl::string_view line) {
  if (log_line) {
    log_line(line);
  } else {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  }
}

std::string WriterLockPath(const std::string& run_directory, absl::string_view token) {
  return absl::StrCat(run_directory, "/writer-", token, ".lock");
}

// How often the uploading process checks the spool for records that other
// processes sharing the run directory appended.
constexpr absl::Duration kOtherWritersPoll = absl::Seconds(1);

// True when the spool holds bytes beyond the acknowledged ones.
bool SpoolHasUnackedBytes(const std::string& run_directory) {
  struct stat info;
  if (stat(absl::StrCat(run_directory, "/", kSpoolFileName).c_str(), &info) != 0) return false;
  const absl::StatusOr<int64_t> acked = ReadAckedBytes(run_directory);
  return acked.ok() && info.st_size > *acked;
}

std::string UploadLockPath(const std::string& run_directory) {
  return absl::StrCat(run_directory, "/upload.lock");
}

// n characters from `alphabet`, drawn from `random`.
std::string RandomString(std::mt19937_64& random, absl::string_view alphabet, int n) {
  std::uniform_int_distribution<size_t> pick(0, alphabet.size() - 1);
  std::string text;
  for (int i = 0; i < n; ++i) text.push_back(alphabet[pick(random)]);
  return text;
}

double UnixSeconds(absl::Time time) { return absl::ToDoubleSeconds(time - absl::UnixEpoch()); }

absl::Status ValidateRunId(absl::string_view run_id) {
  // W&B run ids appear in URLs; keep to what needs no escaping.
  const bool valid = !run_id.empty() && run_id.size() <= 128 &&
                     std::all_of(run_id.begin(), run_id.end(), [](char c) {
                       return absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.';
                     });
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "run id \"", run_id, "\": use 1 to 128 of the characters A-Z a-z 0-9 - _ ."));
}

nlohmann::json NullIfEmpty(const std::string& text) {
  return text.empty() ? nlohmann::json(nullptr) : nlohmann::json(text);
}

// Writers that appended a "run" record but hold no lock any more were
// killed: complete each with exit code 1, as `wandb sync` does for a run
// without an exit record, so the run's completion does not wait for them.
absl::Status CompleteDeadWriters(SpoolWriter* spool, const std::string& run_directory,
                                 const LogLine& log_line) {
  const std::set<std::string> open_writers = spool->state().open_writers;
  for (const std::string& token : open_writers) {
    const std::string lock_path = WriterLockPath(run_directory, token);
    if (IsFileLocked(lock_path)) continue;
    bool completed = false;
    RETURN_IF_ERROR(spool->Append([&](const SpoolState& state) -> absl::StatusOr<nlohmann::json> {
      // Another process may have completed it since we looked.
      if (state.open_writers.count(token) == 0) return nlohmann::json();
      completed = true;
      return nlohmann::json{{"type", "complete"}, {"writer", token}, {"exit_code", 1},
                            {"reason", "writer ended without Finish"}};
    }));
    unlink(lock_path.c_str());
    if (completed) {
      WriteLine(log_line, absl::StrCat("metrics: a process writing run ", spool->state().run_id,
                                       " in ", run_directory,
                                       " ended without finishing; completed it with exit code 1"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

MetricsRunOptions MetricsRunOptionsFromEnvironment(const std::string& run_directory) {
  const auto env = [](const char* name) -> std::string {
    const char* value = std::getenv(name);
    return value == nullptr ? std::string() : std::string(value);
  };
  MetricsRunOptions options;
  options.run_directory = run_directory;
  options.base_url = std::string(absl::StripSuffix(env("WANDB_BASE_URL"), "/"));
  options.api_key = env("WANDB_API_KEY");
  options.entity = env("WANDB_ENTITY");
  if (!env("WANDB_PROJECT").empty()) options.project = env("WANDB_PROJECT");
  options.run_id = env("WANDB_RUN_ID");
  options.display_name = env("WANDB_NAME");
  options.group = env("WANDB_RUN_GROUP");
  options.job_type = env("WANDB_JOB_TYPE");
  options.sweep_id = env("WANDB_SWEEP_ID");
  for (absl::string_view tag : absl::StrSplit(env("WANDB_TAGS"), ',', absl::SkipWhitespace())) {
    options.tags.emplace_back(absl::StripAsciiWhitespace(tag));
  }
  const std::string mode = env("WANDB_MODE");
  if (mode == "offline" || mode == "disabled" || mode == "dryrun") options.base_url.clear();
  std::random_device device;
  options.random_seed = (uint64_t{device()} << 32) | device();
  options.upload.jitter_seed = (uint64_t{device()} << 32) | device();
  return options;
}

MetricsRun::MetricsRun(MetricsRunOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<MetricsRun>> OpenMetricsRun(const MetricsRunOptions& options) {
  if (options.run_directory.empty()) {
    return absl::InvalidArgumentError("metrics run: the run directory is empty");
  }
  if (!options.run_id.empty()) RETURN_IF_ERROR(ValidateRunId(options.run_id));
  if (!options.config.is_object()) {
    return absl::InvalidArgumentError("metrics run: config must be a JSON object of key: value");
  }
  if (!options.now) return absl::InvalidArgumentError("metrics run: the clock `now` is null");
  std::unique_ptr<MetricsRun> run(new MetricsRun(options));
  RETURN_IF_ERROR(run->Start());
  return run;
}

absl::Status MetricsRun::Start() {
  std::mt19937_64 random(options_.random_seed);
  writer_token_ = RandomString(random, "0123456789abcdef", 16);
  const std::string random_run_id = RandomString(random, "abcdefghijklmnopqrstuvwxyz0123456789", 8);

  absl::MutexLock lock(&spool_mutex_);
  ASSIGN_OR_RETURN(spool_, SpoolWriter::Open(options_.run_directory));
  RETURN_IF_ERROR(CompleteDeadWriters(spool_.get(), options_.run_directory, options_.log_line));
  // Locked before our "run" record exists, so nobody can see the record
  // without the lock and take us for dead.
  ASSIGN_OR_RETURN(writer_lock_,
                   FileLock::TryAcquire(WriterLockPath(options_.run_directory, writer_token_)));
  writer_lock_->RemoveOnRelease();

  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  RETURN_IF_ERROR(spool_->Append([&](const SpoolState& state) -> absl::StatusOr<nlohmann::json> {
    // Decided under the spool lock: two processes opening an empty directory
    // at once still agree on one run id.
    std::string run_id = state.run_id;
    if (run_id.empty()) {
      run_id = options_.run_id.empty() ? random_run_id : options_.run_id;
    } else if (!options_.run_id.empty() && options_.run_id != run_id) {
      return absl::FailedPreconditionError(
          absl::StrCat(spool_->path(), ": holds run \"", run_id, "\", not \"", options_.run_id,
                       "\" (use another run directory)"));
    }
    nlohmann::json config = nlohmann::json::object();
    for (const auto& [key, value] : state.config.items()) config[key] = {{"value", value}};
    for (const auto& [key, value] : options_.config.items()) config[key] = {{"value", value}};
    // Every variable of section 2.1, null when unset, as the Go core sends.
    nlohmann::json variables = {
        {"id", nullptr},
        {"name", run_id},
        {"project", options_.project},
        {"entity", NullIfEmpty(options_.entity)},
        {"groupName", NullIfEmpty(options_.group)},
        {"displayName", NullIfEmpty(options_.display_name)},
        {"jobType", NullIfEmpty(options_.job_type)},
        {"tags", options_.tags.empty() ? nlohmann::json(nullptr) : nlohmann::json(options_.tags)},
        {"sweep", NullIfEmpty(options_.sweep_id)},
        {"config", config.dump()},
        {"description", nullptr},
        {"notes", nullptr},
        {"commit", nullptr},
        {"host", NullIfEmpty(host)},
        {"debug", nullptr},
        {"program", nullptr},
        {"repo", nullptr},
        {"state", nullptr},
        {"summaryMetrics", nullptr}};
    return nlohmann::json{{"type", "run"},
                          {"writer", writer_token_},
                          {"start_time", UnixSeconds(options_.now())},
                          {"variables", std::move(variables)}};
  }));
  run_id_ = spool_->state().run_id;
  if (!options_.base_url.empty()) {
    {
      absl::MutexLock upload_lock(&upload_mutex_);
      ++appended_records_;
      wake_ = true;
    }
    upload_thread_ = std::thread([this] { UploadLoop(); });
  }
  return absl::OkStatus();
}

MetricsRun::~MetricsRun() {
  if (upload_thread_.joinable()) {
    stop_upload_ = true;
    {
      absl::MutexLock lock(&upload_mutex_);
      stopping_ = true;
    }
    upload_thread_.join();
  }
}

absl::Status MetricsRun::Append(
    const std::function<absl::StatusOr<nlohmann::json>(const SpoolState&)>& make_record) {
  // spool_mutex_ is held by the caller.
  RETURN_IF_ERROR(spool_->Append(make_record));
  if (upload_thread_.joinable()) {
    absl::MutexLock lock(&upload_mutex_);
    ++appended_records_;
    wake_ = true;
  }
  return absl::OkStatus();
}

absl::Status MetricsRun::Log(int64_t step, const training::MetricValues& values) {
  if (step < 0) {
    return absl::InvalidArgumentError(absl::StrCat("run ", run_id_, ": step ", step, " < 0"));
  }
  absl::MutexLock lock(&spool_mutex_);
  if (finished_) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id_, ": Log after Finish"));
  }
  const double now = UnixSeconds(options_.now());
  return Append([&](const SpoolState& state) -> absl::StatusOr<nlohmann::json> {
    const int64_t wandb_step = std::max(step, state.last_step + 1);
    return nlohmann::json{
        {"type", "history"},
        {"offset", state.next_history_offset},
        {"step", wandb_step},
        {"line", HistoryRowJson(values, wandb_step, now - state.start_time_seconds, now)}};
  });
}

absl::Status MetricsRun::Summarize(const training::MetricValues& values) {
  absl::MutexLock lock(&spool_mutex_);
  if (finished_) {
    return absl::FailedPreconditionError(absl::StrCat("run ", run_id_, ": Summarize after Finish"));
  }
  const double now = UnixSeconds(options_.now());
  return Append([&](const SpoolState& state) -> absl::StatusOr<nlohmann::json> {
    training::MetricValues merged = state.summary;
    for (const auto& [key, value] : values) merged[key] = value;
    const int64_t step = std::max<int64_t>(state.last_step, 0);
    return nlohmann::json{
        {"type", "summary"},
        {"values", SummaryValuesJson(merged)},
        {"line", SummaryJson(merged, step, now - state.start_time_seconds, now)}};
  });
}

absl::Status MetricsRun::Finish(int exit_code) {
  {
    absl::MutexLock lock(&spool_mutex_);
    if (finished_) {
      return absl::FailedPreconditionError(absl::StrCat("run ", run_id_, ": Finish called twice"));
    }
    RETURN_IF_ERROR(Append([&](const SpoolState&) -> absl::StatusOr<nlohmann::json> {
      return nlohmann::json{{"type", "complete"}, {"writer", writer_token_}, {"exit_code", exit_code}};
    }));
    RETURN_IF_ERROR(spool_->Flush());
    finished_ = true;
    writer_lock_.reset();  // completed: nobody must take us for a killed writer
  }
  const std::string spool_path = absl::StrCat(options_.run_directory, "/", kSpoolFileName);
  if (!upload_thread_.joinable()) {
    WriteLine(options_.log_line, absl::StrCat("metrics: run ", run_id_, " written to ", spool_path,
                     " only (no WANDB_BASE_URL); sync uploads it later"));
    return absl::OkStatus();
  }
  std::string problem;
  bool uploading_elsewhere = false;
  {
    absl::MutexLock lock(&upload_mutex_);
    finishing_ = true;
    wake_ = true;
    lock_attempts_at_finish_ = lock_attempts_;
    const auto done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(upload_mutex_) {
      // Elsewhere counts only after a try made since Finish began: the
      // other process may have ended meanwhile.
      return uploaded_records_ == appended_records_ || upload_dead_ ||
             (uploading_elsewhere_ && lock_attempts_ > lock_attempts_at_finish_);
    };
    upload_mutex_.AwaitWithTimeout(absl::Condition(&done), options_.finish_timeout);
    stopping_ = true;
    problem = upload_problem_;
    uploading_elsewhere = uploading_elsewhere_;
  }
  stop_upload_ = true;
  upload_thread_.join();

  // Count from the files, which also hold other writers' records.
  absl::StatusOr<SpoolContents> spool = ReadSpool(options_.run_directory);
  absl::StatusOr<int64_t> acked = ReadAckedBytes(options_.run_directory);
  if (!spool.ok() || !acked.ok()) {
    WriteLine(options_.log_line, absl::StrCat("metrics: run ", run_id_, ": cannot count unsent records: ",
                     (!spool.ok() ? spool.status() : acked.status()).ToString()));
    return absl::OkStatus();
  }
  const int64_t unsent = std::count_if(spool->records.begin(), spool->records.end(),
                                       [&](const SpoolRecord& r) { return r.end_byte > *acked; });
  if (unsent > 0 && uploading_elsewhere) {
    WriteLine(options_.log_line,
              absl::StrCat("metrics: ", unsent, " records of run ", run_id_, " in ", spool_path,
                           " are left to the process that holds ", options_.run_directory,
                           "/upload.lock"));
  } else if (unsent > 0) {
    WriteLine(options_.log_line, absl::StrCat("metrics: ", unsent, " records of run ", run_id_, " not uploaded",
                     problem.empty() ? "" : absl::StrCat(" (", problem, ")"), "; they stay in ",
                     spool_path, " for a later sync"));
  }
  return absl::OkStatus();
}

bool MetricsRun::WaitBeforeRetry(absl::Duration duration, absl::string_view failure) {
  absl::MutexLock lock(&upload_mutex_);
  upload_problem_ = std::string(failure);
  upload_mutex_.AwaitWithTimeout(absl::Condition(&stopping_), duration);
  return !stopping_;
}

void MetricsRun::UploadLoop() {
  SpoolUploader uploader(options_.run_directory, Endpoint{options_.base_url, options_.api_key},
                         options_.upload, options_.now);
  std::unique_ptr<FileLock> upload_lock;
  absl::Time last_request = absl::InfinitePast();
  absl::Time next_lock_attempt = absl::InfinitePast();
  bool logged_failure = false;
  for (;;) {
    uint64_t appended = 0;
    bool heartbeat = false;
    {
      absl::MutexLock lock(&upload_mutex_);
      for (;;) {
        if (stopping_) return;
        const absl::Time now = absl::Now();
        // Records of other processes sharing the directory count too: the
        // holder of upload.lock sends them.
        const bool others_pending =
            upload_lock != nullptr && SpoolHasUnackedBytes(options_.run_directory);
        const bool pending = uploaded_records_ != appended_records_ || others_pending;
        const bool retry_lock_now = finishing_ && upload_lock == nullptr &&
                                    lock_attempts_ == lock_attempts_at_finish_;
        const absl::Time send_at =
            retry_lock_now ? absl::InfinitePast()
                           : std::max(next_lock_attempt,
                                      finishing_ ? absl::InfinitePast()
                                                 : last_request + options_.min_request_interval);
        if (pending && now >= send_at) break;
        absl::Time heartbeat_at = last_request + options_.heartbeat_interval;
        if (!pending && upload_lock != nullptr && now >= heartbeat_at) {
          heartbeat = true;
          break;
        }
        // The holder looks for other processes' records now and then.
        if (upload_lock != nullptr) heartbeat_at = std::min(heartbeat_at, now + kOtherWritersPoll);
        wake_ = false;
        const auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(upload_mutex_) {
          return wake_ || stopping_;
        };
        upload_mutex_.AwaitWithDeadline(absl::Condition(&woken), pending ? send_at : heartbeat_at);
      }
      appended = appended_records_;
    }
    if (upload_lock == nullptr) {
      absl::StatusOr<std::unique_ptr<FileLock>> acquired =
          FileLock::TryAcquire(UploadLockPath(options_.run_directory));
      if (!acquired.ok()) {
        // Another process uploads this directory, ours included; try again
        // later in case it ends first.
        absl::MutexLock lock(&upload_mutex_);
        upload_problem_ = std::string(acquired.status().message());
        uploading_elsewhere_ = acquired.status().code() == absl::StatusCode::kUnavailable;
        ++lock_attempts_;
        next_lock_attempt = absl::Now() + std::max(options_.min_request_interval, absl::Seconds(1));
        continue;
      }
      upload_lock = *std::move(acquired);
      absl::MutexLock lock(&upload_mutex_);
      uploading_elsewhere_ = false;
    }
    absl::Status status;
    if (heartbeat) {
      status = uploader.SendHeartbeat(&stop_upload_);
    } else {
      status = uploader.UploadPending(
          [this](absl::Duration delay, absl::string_view failure) {
            return WaitBeforeRetry(delay, failure);
          },
          &stop_upload_);
    }
    last_request = absl::Now();
    if (uploader.stop_requested()) stop_requested_ = true;
    absl::MutexLock lock(&upload_mutex_);
    if (status.ok()) {
      if (!heartbeat) uploaded_records_ = std::max(uploaded_records_, appended);
      upload_problem_.clear();
      continue;
    }
    upload_problem_ = std::string(status.message());
    if (heartbeat || status.code() == absl::StatusCode::kUnavailable) continue;
    // A final answer (bad key, conflict, corrupt spool): retrying cannot
    // help, and the spool keeps everything for a sync after the fix.
    if (!logged_failure) {
      logged_failure = true;
      WriteLine(options_.log_line, absl::StrCat("metrics: upload of run ", run_id_,
                                                " stopped: ", status.ToString()));
    }
    upload_dead_ = true;
    return;
  }
}

absl::Status SyncRunDirectory(const std::string& run_directory, const SyncOptions& options) {
  struct stat info;
  const std::string spool_path = absl::StrCat(run_directory, "/", kSpoolFileName);
  if (stat(spool_path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(spool_path, ": no spool to sync"));
  }
  if (options.endpoint.base_url.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("sync ", run_directory, ": no base URL (set WANDB_BASE_URL)"));
  }
  ASSIGN_OR_RETURN(const std::unique_ptr<FileLock> upload_lock,
                   FileLock::TryAcquire(UploadLockPath(run_directory)));
  {
    ASSIGN_OR_RETURN(const std::unique_ptr<SpoolWriter> spool, SpoolWriter::Open(run_directory));
    RETURN_IF_ERROR(CompleteDeadWriters(spool.get(), run_directory, options.log_line));
  }
  SpoolUploader uploader(run_directory, options.endpoint, options.upload, options.now);
  const absl::Time give_up_at = absl::Now() + options.give_up_after;
  return uploader.UploadPending(
      [&](absl::Duration delay, absl::string_view) {
        if (absl::Now() + delay > give_up_at) return false;
        absl::SleepFor(delay);
        return true;
      },
      /*cancel=*/nullptr);
}

}  // namespace edgecompress::metrics
