// Replays a run directory's spool to a W&B-compatible server, in file order,
// marking records acknowledged (spool.acked) only after a 2xx.
//
// Per call of UploadPending:
//  1. Read spool.acked and spool.jsonl (only the part after the previous
//     pass when spool.acked is where that pass left it); the
//     unacknowledged records follow.
//  2. If this uploader has no run path yet, resend the last "run" record
//     before them (UpsertBucket is idempotent) to learn entity and project.
//  3. A "run" record is one UpsertBucket. Other records go in file_stream
//     requests: consecutive history lines at their spooled offsets, the
//     latest whole summary, and "complete" with the exit code once the last
//     open writer has completed (the first non-zero exit code of those
//     writers, else 0). A request ends at a "run" record, at a completion or
//     at `max_request_bytes`.
//  4. Retryable failures (429, 5xx, no response) wait RetryDelay (or
//     Retry-After) and resend the *same* request; a final status (401, 404,
//     409, ...) ends the call with an error and the spool stays as it is.
// Because offsets come from the spool, a resend after a crash between the
// server's 2xx and our acknowledgement repeats identical lines at identical
// offsets, which a W&B-compatible server stores once.
//
// One uploader per run directory at a time: callers hold "upload.lock".
// Not thread-safe.
#ifndef EDGECOMPRESS_METRICS_UPLOADER_H_
#define EDGECOMPRESS_METRICS_UPLOADER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "metrics/spool.h"
#include "metrics/wire.h"

namespace edgecompress::metrics {

// Writes one line to wherever the tool's messages go (never holds secrets).
using LogLine = std::function<void(absl::string_view)>;

struct UploadOptions {
  // Retry delay of attempt k: retry_base * 2^k * (1 + 0.25 * jitter), capped
  // (section 4 of the protocol: 2 s doubling to 60 s). Tests shrink both.
  absl::Duration retry_base = absl::Seconds(2);
  absl::Duration retry_cap = absl::Seconds(60);
  absl::Duration request_timeout = absl::Seconds(30);
  // file_stream bodies stay under the reference client's 10 MiB cap.
  int64_t max_request_bytes = int64_t{10} << 20;
  uint64_t jitter_seed = 0;
};

struct Endpoint {
  std::string base_url;  // no trailing '/'
  std::string api_key;   // Basic auth password; never logged
};

class SpoolUploader {
 public:
  // Called before each retry with the delay and what failed ("POST <url>:
  // HTTP 503: ..."); returns false to stop trying (the caller's deadline
  // passed or it is shutting down).
  using RetryWait = std::function<bool(absl::Duration delay, absl::string_view failure)>;

  SpoolUploader(std::string run_directory, Endpoint endpoint, UploadOptions options,
                std::function<absl::Time()> now);

  // OK once every spooled record is acknowledged. kUnavailable when `wait`
  // said stop first; the HTTP status mapped to a code (kUnauthenticated for
  // 401, kNotFound for 404, kAborted for a 409 conflict, ...) for a final
  // failure; kDataLoss naming the file for a corrupt spool or spool.acked.
  // Messages name the URL and the status, never the key.
  absl::Status UploadPending(const RetryWait& wait, const std::atomic<bool>* cancel);

  // Sends the heartbeat body "{}" once, without retrying.
  absl::Status SendHeartbeat(const std::atomic<bool>* cancel);

  // True once a file_stream response said "stopped": true.
  bool stop_requested() const { return stop_requested_; }

 private:
  absl::Status Upsert(const nlohmann::json& variables, const RetryWait& wait,
                      const std::atomic<bool>* cancel);
  absl::Status PostFileStream(const FileStreamRequest& request, const RetryWait& wait,
                              const std::atomic<bool>* cancel);
  // POSTs with retries; returns the 2xx body.
  absl::StatusOr<std::string> PostWithRetries(const std::string& url, const std::string& body,
                                              bool upsert_bucket, const RetryWait& wait,
                                              const std::atomic<bool>* cancel);

  std::string run_directory_;
  Endpoint endpoint_;
  UploadOptions options_;
  std::function<absl::Time()> now_;
  std::mt19937_64 jitter_random_;
  std::optional<RunPath> run_path_;

  // Where the last fully acknowledged pass ended, so the next pass parses
  // only what was appended since (one full read costs ~13 us per record).
  struct AckedPosition {
    SpoolCursor cursor;
    int open_writers = 0;
    int session_exit_code = 0;
    nlohmann::json last_run_variables;  // null before any "run" record
  };
  std::optional<AckedPosition> acked_position_;
  bool stop_requested_ = false;
};

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_UPLOADER_H_
