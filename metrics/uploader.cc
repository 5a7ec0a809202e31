#include "metrics/uploader.h"

#include <cassert>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "metrics/http_post.h"
#include "metrics/spool.h"
#include "tools/status/status_macros.h"

namespace edgecompress::metrics {
namespace {

absl::StatusCode CodeForFinalStatus(int http_status) {
  switch (http_status) {
    case 400:
    case 422:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
    case 410:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    case 413:
      return absl::StatusCode::kResourceExhausted;
    case 501:
      return absl::StatusCode::kUnimplemented;
    default:
      return absl::StatusCode::kUnknown;
  }
}

// Server bodies go into messages shortened: enough to explain, not a dump.
std::string Excerpt(absl::string_view body) {
  constexpr size_t kMaxChars = 200;
  return body.size() <= kMaxChars ? std::string(body)
                                  : absl::StrCat(body.substr(0, kMaxChars), "...");
}

}  // namespace

SpoolUploader::SpoolUploader(std::string run_directory, Endpoint endpoint, UploadOptions options,
                             std::function<absl::Time()> now)
    : run_directory_(std::move(run_directory)),
      endpoint_(std::move(endpoint)),
      options_(options),
      now_(std::move(now)),
      jitter_random_(options.jitter_seed) {}

absl::StatusOr<std::string> SpoolUploader::PostWithRetries(const std::string& url,
                                                           const std::string& body,
                                                           bool upsert_bucket,
                                                           const RetryWait& wait,
                                                           const std::atomic<bool>* cancel) {
  for (int attempt = 0;; ++attempt) {
    const HttpResponse response =
        PostJson(url, body, endpoint_.api_key, options_.request_timeout, cancel);
    if (response.status >= 200 && response.status < 300) return response.body;
    const std::string what =
        response.status == 0 ? absl::StrCat("no response (", response.error, ")")
                             : absl::StrCat("HTTP ", response.status, ": ", Excerpt(response.body));
    if (!IsRetryableStatus(response.status, upsert_bucket)) {
      return absl::Status(CodeForFinalStatus(response.status),
                          absl::StrCat("POST ", url, ": ", what, " (not retried)"));
    }
    std::uniform_real_distribution<double> jitter(0.0, 1.0);
    absl::Duration delay =
        RetryDelay(attempt, options_.retry_base, options_.retry_cap, jitter(jitter_random_));
    if (!response.retry_after.empty()) {
      // The server knows its own load better than our schedule does.
      if (const auto retry_after = ParseRetryAfter(response.retry_after, now_())) {
        delay = *retry_after;
      }
    }
    if (!wait(delay, absl::StrCat("POST ", url, ": ", what))) {
      return absl::UnavailableError(
          absl::StrCat("POST ", url, ": ", what, "; gave up after ", attempt + 1, " attempts"));
    }
  }
}

absl::Status SpoolUploader::Upsert(const nlohmann::json& variables, const RetryWait& wait,
                                   const std::atomic<bool>* cancel) {
  const std::string url = absl::StrCat(endpoint_.base_url, "/graphql");
  ASSIGN_OR_RETURN(const std::string body,
                   PostWithRetries(url, UpsertBucketRequestJson(variables),
                                   /*upsert_bucket=*/true, wait, cancel));
  absl::StatusOr<RunPath> run_path = ParseUpsertBucketResponse(body);
  if (!run_path.ok()) {
    return absl::Status(run_path.status().code(),
                        absl::StrCat("POST ", url, ": ", run_path.status().message()));
  }
  run_path_ = *std::move(run_path);
  return absl::OkStatus();
}

absl::Status SpoolUploader::PostFileStream(const FileStreamRequest& request,
                                           const RetryWait& wait,
                                           const std::atomic<bool>* cancel) {
  const std::string url = absl::StrCat(endpoint_.base_url, FileStreamPath(*run_path_));
  ASSIGN_OR_RETURN(const std::string body,
                   PostWithRetries(url, FileStreamRequestJson(request),
                                   /*upsert_bucket=*/false, wait, cancel));
  if (FileStreamResponseSaysStopped(body)) stop_requested_ = true;
  return absl::OkStatus();
}

absl::Status SpoolUploader::SendHeartbeat(const std::atomic<bool>* cancel) {
  if (!run_path_.has_value()) return absl::OkStatus();
  return PostFileStream(
      FileStreamRequest{}, [](absl::Duration, absl::string_view) { return false; }, cancel);
}

absl::Status SpoolUploader::UploadPending(const RetryWait& wait,
                                          const std::atomic<bool>* cancel) {
  ASSIGN_OR_RETURN(const int64_t acked_bytes, ReadAckedBytes(run_directory_));
  // What a session needs at the acknowledged boundary: the writers still
  // open, the exit code so far and the last "run" record's variables.
  AckedPosition position;
  if (acked_position_.has_value() && acked_position_->cursor.byte == acked_bytes) {
    position = *acked_position_;
  }
  acked_position_.reset();  // set again only by a pass that acknowledges everything
  ASSIGN_OR_RETURN(const SpoolContents spool, ReadSpoolFrom(run_directory_, position.cursor));
  const std::vector<SpoolRecord>& records = spool.records;

  const auto fold = [&](const SpoolRecord& record) {
    if (record.type == SpoolRecordType::kRun) {
      ++position.open_writers;
      position.last_run_variables = record.variables;
    } else if (record.type == SpoolRecordType::kComplete) {
      --position.open_writers;
      if (position.session_exit_code == 0) position.session_exit_code = record.exit_code;
    }
  };
  // Without a usable cache this walks the records acknowledged earlier.
  size_t next = 0;
  while (next < records.size() && records[next].end_byte <= acked_bytes) {
    fold(records[next]);
    if (position.open_writers == 0) position.session_exit_code = 0;  // that run completed
    ++next;
  }
  const int64_t boundary = next == 0 ? position.cursor.byte : records[next - 1].end_byte;
  if (acked_bytes != boundary) {
    return absl::DataLossError(absl::StrCat(run_directory_, "/", kAckedFileName, ": acked_bytes ",
                                            acked_bytes, " is not a record boundary of ",
                                            kSpoolFileName, " (", spool.whole_bytes, " bytes)"));
  }
  const auto remember_position = [&] {
    position.cursor = SpoolCursor{spool.whole_bytes, spool.whole_lines, spool.state};
    acked_position_ = position;
  };
  if (next == records.size()) {
    remember_position();
    return absl::OkStatus();
  }

  if (!run_path_.has_value() && records[next].type != SpoolRecordType::kRun) {
    // A restarted uploader: learn the run's path again from its last upsert.
    assert(!position.last_run_variables.is_null());  // ReadSpool rejects records before a "run"
    RETURN_IF_ERROR(Upsert(position.last_run_variables, wait, cancel));
  }

  while (next < records.size()) {
    size_t end = next;
    if (records[next].type == SpoolRecordType::kRun) {
      RETURN_IF_ERROR(Upsert(records[next].variables, wait, cancel));
      fold(records[next]);
      end = next + 1;
    } else {
      FileStreamRequest request;
      int64_t request_bytes = 0;
      while (end < records.size() && records[end].type != SpoolRecordType::kRun &&
             request_bytes < options_.max_request_bytes) {
        const SpoolRecord& record = records[end];
        ++end;
        if (record.type == SpoolRecordType::kHistory) {
          if (request.history_lines.empty()) request.history_offset = record.history_offset;
          request.history_lines.push_back(record.line);
          request_bytes += static_cast<int64_t>(record.line.size());
        } else if (record.type == SpoolRecordType::kSummary) {
          request.summary_line = record.line;
          request_bytes += static_cast<int64_t>(record.line.size());
        } else {  // kComplete
          fold(record);
          if (position.open_writers == 0) {
            // The last writer is done: the run completes with this request.
            request.exit_code = position.session_exit_code;
            position.session_exit_code = 0;
            break;
          }
        }
      }
      const bool empty = request.history_lines.empty() && !request.summary_line.has_value() &&
                         !request.exit_code.has_value();
      if (!empty) RETURN_IF_ERROR(PostFileStream(request, wait, cancel));
    }
    RETURN_IF_ERROR(WriteAckedBytes(run_directory_, records[end - 1].end_byte));
    next = end;
  }
  remember_position();
  return absl::OkStatus();
}

}  // namespace edgecompress::metrics
