#include "metrics/wire.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::metrics {
namespace {

// Only what ParseUpsertBucketResponse reads (section 2.1 allows a minimal
// selection).
constexpr char kUpsertBucketMutation[] =
    "mutation UpsertBucket($id: String, $name: String, $project: String, "
    "$entity: String, $groupName: String, $description: String, "
    "$displayName: String, $notes: String, $commit: String, $config: JSONString, "
    "$host: String, $debug: Boolean, $program: String, $repo: String, "
    "$jobType: String, $state: String, $sweep: String, $tags: [String!], "
    "$summaryMetrics: JSONString) { upsertBucket(input: {id: $id, name: $name, "
    "groupName: $groupName, modelName: $project, entityName: $entity, "
    "description: $description, displayName: $displayName, notes: $notes, "
    "config: $config, commit: $commit, host: $host, debug: $debug, "
    "jobProgram: $program, jobRepo: $repo, jobType: $jobType, state: $state, "
    "sweep: $sweep, tags: $tags, summaryMetrics: $summaryMetrics}) { "
    "bucket { id name displayName sweepName historyLineCount "
    "project { id name entity { id name } } } inserted } }";

std::string UrlEscape(absl::string_view segment) {
  std::string escaped;
  for (const char c : segment) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      escaped.push_back(c);
    } else {
      absl::StrAppendFormat(&escaped, "%%%02X", static_cast<unsigned char>(c));
    }
  }
  return escaped;
}

// Keys are user text: nlohmann escapes them as JSON strings.
std::string JsonKey(absl::string_view key) { return nlohmann::json(std::string(key)).dump(); }

void AppendValues(const training::MetricValues& values, std::string* out) {
  for (const auto& [name, value] : values) {
    absl::StrAppend(out, JsonKey(name), ":", JsonNumber(value), ",");
  }
}

}  // namespace

std::string UpsertBucketRequestJson(const nlohmann::json& variables) {
  return nlohmann::json{{"query", kUpsertBucketMutation},
                        {"variables", variables},
                        {"operationName", "UpsertBucket"}}
      .dump();
}

absl::StatusOr<RunPath> ParseUpsertBucketResponse(absl::string_view body) {
  const nlohmann::json response = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (response.is_discarded() || !response.is_object()) {
    return absl::UnavailableError("UpsertBucket: response is not a JSON object");
  }
  if (response.contains("errors") || response.contains("error")) {
    const nlohmann::json& errors = response.contains("errors") ? response["errors"] : response["error"];
    // Section 2: a 200 carrying errors is a failure that is not retried.
    return absl::FailedPreconditionError(
        absl::StrCat("UpsertBucket: server error: ", errors.dump()));
  }
  const nlohmann::json::json_pointer bucket_pointer("/data/upsertBucket/bucket");
  if (!response.contains(bucket_pointer) || !response[bucket_pointer].is_object()) {
    return absl::DataLossError("UpsertBucket: response has no data.upsertBucket.bucket");
  }
  const nlohmann::json& bucket = response[bucket_pointer];
  const auto string_at = [&](const char* pointer) -> std::optional<std::string> {
    const nlohmann::json::json_pointer at(pointer);
    if (!bucket.contains(at) || !bucket[at].is_string()) return std::nullopt;
    return bucket[at].get<std::string>();
  };
  const std::optional<std::string> run_id = string_at("/name");
  const std::optional<std::string> project = string_at("/project/name");
  const std::optional<std::string> entity = string_at("/project/entity/name");
  if (!run_id || !project || !entity) {
    return absl::DataLossError(
        "UpsertBucket: response lacks bucket.name, bucket.project.name or "
        "bucket.project.entity.name");
  }
  RunPath path{*entity, *project, *run_id, 0};
  if (bucket.contains("historyLineCount") && bucket["historyLineCount"].is_number_integer()) {
    path.history_line_count = bucket["historyLineCount"].get<int64_t>();
  }
  return path;
}

std::string FileStreamPath(const RunPath& run) {
  return absl::StrCat("/files/", UrlEscape(run.entity), "/", UrlEscape(run.project), "/",
                      UrlEscape(run.run_id), "/file_stream");
}

std::string FileStreamRequestJson(const FileStreamRequest& request) {
  // Lines travel as JSON strings holding the row text, so NaN tokens inside a
  // row never break the request body.
  nlohmann::json body = nlohmann::json::object();
  if (!request.history_lines.empty()) {
    body["files"]["wandb-history.jsonl"] = {{"offset", request.history_offset},
                                            {"content", request.history_lines}};
  }
  if (request.summary_line.has_value()) {
    body["files"]["wandb-summary.json"] = {{"offset", 0},
                                           {"content", {*request.summary_line}}};
  }
  if (request.exit_code.has_value()) {
    body["complete"] = true;
    body["exitcode"] = *request.exit_code;
  }
  return body.dump();
}

bool FileStreamResponseSaysStopped(absl::string_view body) {
  const nlohmann::json response = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  return response.is_object() && response.contains("stopped") && response["stopped"].is_boolean() &&
         response["stopped"].get<bool>();
}

bool IsRetryableStatus(int http_status, bool upsert_bucket) {
  switch (http_status) {
    case 409:
      return upsert_bucket;
    case 400:
    case 401:
    case 403:
    case 404:
    case 410:
    case 413:
    case 422:
    case 501:
      return false;
    default:
      return http_status == 0 || http_status >= 400;
  }
}

absl::Duration RetryDelay(int attempt, absl::Duration base, absl::Duration cap,
                          double uniform01) {
  // Past 2^30 the product is far beyond any cap; clamping keeps it finite.
  const double doubling = std::ldexp(1.0, attempt < 30 ? attempt : 30);
  const absl::Duration delay = base * (doubling * (1.0 + 0.25 * uniform01));
  return delay < cap ? delay : cap;
}

std::optional<absl::Duration> ParseRetryAfter(absl::string_view value, absl::Time now) {
  value = absl::StripAsciiWhitespace(value);
  double seconds = 0;
  if (absl::SimpleAtod(value, &seconds)) {
    if (!(seconds >= 0) || !std::isfinite(seconds)) return std::nullopt;
    return absl::Seconds(seconds);
  }
  absl::Time date;
  std::string error;
  if (absl::ParseTime("%a, %d %b %Y %H:%M:%S GMT", value, absl::UTCTimeZone(), &date, &error)) {
    return date > now ? date - now : absl::ZeroDuration();
  }
  return std::nullopt;
}

std::string JsonNumber(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return nlohmann::json(value).dump();
}

std::string HistoryRowJson(const training::MetricValues& values, int64_t step,
                           double runtime_seconds, double timestamp_seconds) {
  std::string row = "{";
  AppendValues(values, &row);
  absl::StrAppend(&row, "\"_step\":", step, ",\"_runtime\":", JsonNumber(runtime_seconds),
                  ",\"_timestamp\":", JsonNumber(timestamp_seconds), "}");
  return row;
}

std::string SummaryJson(const training::MetricValues& values, int64_t step,
                        double runtime_seconds, double timestamp_seconds) {
  std::string summary = "{";
  AppendValues(values, &summary);
  absl::StrAppend(&summary, "\"_step\":", step, ",\"_runtime\":", JsonNumber(runtime_seconds),
                  ",\"_timestamp\":", JsonNumber(timestamp_seconds),
                  ",\"_wandb\":{\"runtime\":", static_cast<int64_t>(runtime_seconds), "}}");
  return summary;
}

}  // namespace edgecompress::metrics
