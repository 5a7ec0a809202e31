// The W&B wire protocol as pure functions: request bodies, response parsing,
// the retry policy and the JSON text of history rows. No I/O here; see
// ../shared/docs/wandb-protocol.md (sections 2-4) for the protocol and the
// wandb client files each rule comes from.
//
// Conventions the field disagrees on, as chosen here:
// - Non-finite numbers are written as the bare tokens NaN, Infinity and
//   -Infinity (what the Go core emits), so a row is not strict JSON then.
// - Finite numbers use the shortest text that reads back to the same double.
#ifndef EDGECOMPRESS_METRICS_WIRE_H_
#define EDGECOMPRESS_METRICS_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "training/metrics_sink.h"

namespace edgecompress::metrics {

// Where a run lives on the server, as UpsertBucket answered.
struct RunPath {
  std::string entity;
  std::string project;
  std::string run_id;
  // Lines the server already holds. Read back as the protocol describes; the
  // uploader does not need it, because its offsets come from the spool.
  int64_t history_line_count = 0;
};

// POST {base}/graphql body: {"query", "variables", "operationName"} for the
// UpsertBucket mutation, selecting only the fields ParseUpsertBucketResponse
// reads. `variables` are sent as given (every key of section 2.1).
std::string UpsertBucketRequestJson(const nlohmann::json& variables);

// kFailedPrecondition for a body carrying "errors"/"error" (quoted; section 2
// says not to retry those), kUnavailable for a body that does not parse (a
// proxy's error page, say: worth another try), kDataLoss when a field is
// missing.
absl::StatusOr<RunPath> ParseUpsertBucketResponse(absl::string_view body);

// "/files/<entity>/<project>/<run_id>/file_stream", each segment URL-escaped.
std::string FileStreamPath(const RunPath& run);

// One file_stream request. Empty fields are left out; everything empty is
// the heartbeat body "{}".
struct FileStreamRequest {
  int64_t history_offset = 0;              // line index of history_lines[0]
  std::vector<std::string> history_lines;  // each a row from HistoryRowJson
  std::optional<std::string> summary_line;  // the whole summary, at line 0
  std::optional<int> exit_code;             // sets "complete": true
};
std::string FileStreamRequestJson(const FileStreamRequest& request);

// True when a file_stream response asks the run to stop ("stopped": true);
// a body that does not parse is ignored, as the reference client does.
bool FileStreamResponseSaysStopped(absl::string_view body);

// Section 4: 400, 401, 403, 404, 409, 410, 413, 422 and 501 are final; every
// other status (429, 5xx, 0 = no response, >= 600) is retried. UpsertBucket
// retries 409. 2xx is success and not asked about.
bool IsRetryableStatus(int http_status, bool upsert_bucket);

// base * 2^attempt * (1 + 0.25 * uniform01), capped at `cap`; attempt 0 is
// the first retry. uniform01 is in [0, 1).
absl::Duration RetryDelay(int attempt, absl::Duration base, absl::Duration cap,
                          double uniform01);

// A Retry-After header: seconds (a decimal number) or an HTTP date, relative
// to `now` (a date in the past gives zero). nullopt when unreadable.
std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now);

// A number as W&B writes it (see the conventions above).
std::string JsonNumber(double value);

// One history row: the values (keys in map order), then "_step" (integer),
// "_runtime" and "_timestamp" (seconds).
std::string HistoryRowJson(const training::MetricValues& values, int64_t step,
                           double runtime_seconds, double timestamp_seconds);

// The whole summary: the values plus "_step", "_runtime", "_timestamp" and
// "_wandb": {"runtime": whole seconds}.
std::string SummaryJson(const training::MetricValues& values, int64_t step,
                        double runtime_seconds, double timestamp_seconds);

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_WIRE_H_
