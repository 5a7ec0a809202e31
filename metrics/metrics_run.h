// A W&B-compatible metrics run: what a tool logs through training::MetricsSink
// lands first in a run directory (see spool.h) and then, on a background
// thread, on the W&B-compatible server at options.base_url (protocol in
// ../shared/docs/wandb-protocol.md; sending in uploader.h). Training never
// waits on the network, and a dead, slow or absent server never fails the
// tool: rows stay in the run directory until this run, a later run in the
// same directory or SyncRunDirectory uploads them.
//
// One run, several processes: every process that opens the same run
// directory appends to the same run. Offsets and `_step`s continue, config
// keys and summary values merge (later values win), and the server sees
// `complete` only when the last of them has finished. A process killed
// before Finish is noticed by the next OpenMetricsRun or SyncRunDirectory
// (its writer lock is free) and completed with exit code 1, as `wandb sync`
// does for a run without an exit record. Processes that use different run
// directories for one run id are not supported: their offsets would collide
// and the server would reject the second (HTTP 409, left in the spool).
//
// Known limitations: a process that finishes while another process holds
// upload.lock leaves its last records to that process; if the holder is
// exiting at that very moment they wait for the next start or sync. Not
// implemented from the protocol: gzip bodies, RateLimit-* pacing, the
// per-line cap (rows are numbers, far below 10 MB), ~/.netrc keys, system
// metrics and console lines, a `.wandb` export for `wandb sync`.
//
// `_step` of a row is max(step, previous _step + 1): W&B needs it strictly
// increasing, and a second process (bench after training) or two rows at
// one step would otherwise repeat one. `_runtime` counts from the run's
// first open, so it includes gaps between processes.
#ifndef EDGECOMPRESS_METRICS_METRICS_RUN_H_
#define EDGECOMPRESS_METRICS_METRICS_RUN_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "metrics/file_lock.h"
#include "metrics/spool.h"
#include "metrics/uploader.h"
#include "nlohmann/json.hpp"
#include "training/metrics_sink.h"

namespace edgecompress::metrics {

struct MetricsRunOptions {
  std::string run_directory;  // required; created (one level) if missing

  // Empty run_id: the one the run directory already holds, else 8 random
  // characters from [a-z0-9] (what wandb's runid.py makes).
  std::string run_id;
  std::string entity;        // empty: the server picks (the key's default)
  std::string project = "uncategorized";
  std::string group;
  std::string job_type;
  std::string display_name;
  std::string sweep_id;
  std::vector<std::string> tags;
  // Plain values by key; sent as {"key": {"value": v}}, merged over the
  // config earlier processes of the run sent.
  nlohmann::json config = nlohmann::json::object();

  std::string base_url;  // empty: the run directory only
  std::string api_key;   // never printed, logged or written to disk

  // Pacing (section 3): at most one file_stream request per interval while
  // running; Finish sends at once. A heartbeat "{}" after heartbeat_interval
  // without a request.
  absl::Duration min_request_interval = absl::Seconds(5);
  absl::Duration heartbeat_interval = absl::Seconds(30);
  // How long Finish waits for the upload before leaving the rest on disk.
  absl::Duration finish_timeout = absl::Seconds(30);
  UploadOptions upload;

  // Wall clock for _timestamp and _runtime, and the seed of the run id and
  // writer token (retry jitter has upload.jitter_seed): parameters, so tests
  // are deterministic.
  std::function<absl::Time()> now = absl::Now;
  uint64_t random_seed = 0;
  // Where the run's few messages go (one line each); null: stderr.
  LogLine log_line;
};

// The WANDB_* environment (protocol section 1): WANDB_BASE_URL (trailing '/'
// stripped), WANDB_API_KEY, WANDB_ENTITY, WANDB_PROJECT, WANDB_RUN_ID,
// WANDB_NAME, WANDB_RUN_GROUP, WANDB_JOB_TYPE, WANDB_TAGS (comma-separated),
// WANDB_SWEEP_ID. WANDB_MODE=offline or disabled clears base_url (the run
// directory is written anyway). Seeds random_seed and upload.jitter_seed
// from std::random_device. The only function here that reads globals.
MetricsRunOptions MetricsRunOptionsFromEnvironment(const std::string& run_directory);

class MetricsRun : public training::MetricsSink {
 public:
  // Without Finish: stops uploading at once and writes no completion, so the
  // run looks like a killed process (see above).
  ~MetricsRun() override;

  // Spools the row; errors only when the run directory cannot be written
  // (then the row is lost). kInvalidArgument for a negative step,
  // kFailedPrecondition after Finish.
  absl::Status Log(int64_t step, const training::MetricValues& values) override;
  absl::Status Summarize(const training::MetricValues& values) override;

  // Spools the completion and flushes the spool to disk (fdatasync), then
  // waits up to finish_timeout for the upload
  // (not at all when another process sharing the run directory is the one
  // uploading: it sends our records with its own). What is still unsent
  // stays in the run directory, said in one log line.
  // Errors only when the completion cannot be spooled. Call once.
  absl::Status Finish(int exit_code);

  const std::string& run_id() const { return run_id_; }
  const std::string& run_directory() const { return options_.run_directory; }
  // True once the server answered "stopped": true (the user pressed Stop);
  // the tool decides whether to end early.
  bool StopRequested() const { return stop_requested_.load(); }

 private:
  friend absl::StatusOr<std::unique_ptr<MetricsRun>> OpenMetricsRun(const MetricsRunOptions&);
  explicit MetricsRun(MetricsRunOptions options);
  absl::Status Start();
  absl::Status Append(
      const std::function<absl::StatusOr<nlohmann::json>(const SpoolState&)>& make_record);
  void UploadLoop();
  // Notes `failure` for Finish's message, then sleeps up to `duration`
  // unless stopping; false when stopping.
  bool WaitBeforeRetry(absl::Duration duration, absl::string_view failure);

  const MetricsRunOptions options_;
  std::string run_id_;
  std::string writer_token_;
  std::unique_ptr<FileLock> writer_lock_;

  absl::Mutex spool_mutex_;
  std::unique_ptr<SpoolWriter> spool_ ABSL_GUARDED_BY(spool_mutex_);
  bool finished_ ABSL_GUARDED_BY(spool_mutex_) = false;

  // Between the caller's thread and the upload thread.
  absl::Mutex upload_mutex_;
  bool wake_ ABSL_GUARDED_BY(upload_mutex_) = false;        // something changed
  bool finishing_ ABSL_GUARDED_BY(upload_mutex_) = false;   // send now, ignore pacing
  bool stopping_ ABSL_GUARDED_BY(upload_mutex_) = false;    // the thread must end
  bool upload_dead_ ABSL_GUARDED_BY(upload_mutex_) = false; // a final error ended it
  // Another live process holds upload.lock and uploads our records too.
  bool uploading_elsewhere_ ABSL_GUARDED_BY(upload_mutex_) = false;
  int lock_attempts_ ABSL_GUARDED_BY(upload_mutex_) = 0;  // failed tries of upload.lock
  int lock_attempts_at_finish_ ABSL_GUARDED_BY(upload_mutex_) = -1;
  uint64_t appended_records_ ABSL_GUARDED_BY(upload_mutex_) = 0;
  uint64_t uploaded_records_ ABSL_GUARDED_BY(upload_mutex_) = 0;  // as counted by appended_
  std::string upload_problem_ ABSL_GUARDED_BY(upload_mutex_);  // the last failure
  std::atomic<bool> stop_upload_{false};  // cancels a request in flight
  std::atomic<bool> stop_requested_{false};
  std::thread upload_thread_;
};

// Opens (creates or joins) the run in options.run_directory and starts the
// upload thread when base_url is set. kInvalidArgument for an empty run
// directory or a bad run id, kFailedPrecondition when the directory holds
// another run id, kDataLoss naming the file for a corrupt spool. Never fails
// because of the network.
absl::StatusOr<std::unique_ptr<MetricsRun>> OpenMetricsRun(const MetricsRunOptions& options);

struct SyncOptions {
  Endpoint endpoint;
  UploadOptions upload;
  // Retrying stops after this long, leaving the rest in the spool.
  absl::Duration give_up_after = absl::Hours(24 * 7);
  std::function<absl::Time()> now = absl::Now;
  LogLine log_line;  // null: stderr
};

// Uploads whatever a run directory's spool still holds (what `sweep sync`
// and the next start call), in the foreground. Completes writers that were
// killed (exit code 1). kUnavailable when another process is uploading this
// directory or the server stayed unreachable past give_up_after; other
// codes as SpoolUploader::UploadPending. kNotFound when there is no spool.
absl::Status SyncRunDirectory(const std::string& run_directory, const SyncOptions& options);

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_METRICS_RUN_H_
