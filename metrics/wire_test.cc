#include "metrics/wire.h"

#include <cmath>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::metrics {
namespace {

using ::testing::HasSubstr;

TEST(RetryDelayTest, DoublesFromTheBaseWithAtMostAQuarterJitterAndStopsAtTheCap) {
  // Protocol section 4: 2 s * 2^attempt * (1 + U[0, 0.25)), capped at 60 s.
  const absl::Duration base = absl::Seconds(2), cap = absl::Seconds(60);
  EXPECT_EQ(RetryDelay(0, base, cap, 0.0), absl::Seconds(2));
  EXPECT_EQ(RetryDelay(1, base, cap, 0.0), absl::Seconds(4));
  EXPECT_EQ(RetryDelay(3, base, cap, 1.0), absl::Seconds(20));  // 2 * 8 * 1.25
  EXPECT_EQ(RetryDelay(4, base, cap, 0.5), absl::Seconds(36));  // 2 * 16 * 1.125
  EXPECT_EQ(RetryDelay(5, base, cap, 0.0), cap);                // 64 s > 60 s
  EXPECT_EQ(RetryDelay(10085, base, cap, 0.99), cap);          // the reference's last retry
  for (int attempt = 0; attempt < 8; ++attempt) {
    SCOPED_TRACE(attempt);
    EXPECT_LE(RetryDelay(attempt, base, cap, 0.0), RetryDelay(attempt, base, cap, 0.999));
    EXPECT_LE(RetryDelay(attempt, base, cap, 0.999), RetryDelay(attempt + 1, base, cap, 0.0) * 1.25);
  }
}

TEST(IsRetryableStatusTest, FollowsTheReferenceRetryPolicy) {
  struct Case {
    int status;
    bool file_stream_retries;
    bool upsert_retries;
  };
  // core/internal/clients/retry_policy.go, as section 4 lists it.
  constexpr Case kCases[] = {
      {0, true, true},     {400, false, false}, {401, false, false}, {403, false, false},
      {404, false, false}, {408, true, true},   {409, false, true},  {410, false, false},
      {413, false, false}, {422, false, false}, {429, true, true},   {500, true, true},
      {501, false, false}, {502, true, true},   {503, true, true},   {504, true, true},
      {600, true, true},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.status);
    EXPECT_EQ(IsRetryableStatus(c.status, /*upsert_bucket=*/false), c.file_stream_retries);
    EXPECT_EQ(IsRetryableStatus(c.status, /*upsert_bucket=*/true), c.upsert_retries);
  }
}

TEST(ParseRetryAfterTest, ReadsSecondsAndHttpDates) {
  const absl::Time now = absl::FromUnixSeconds(1767236645);  // 2026-01-01T03:04:05Z
  EXPECT_EQ(ParseRetryAfter("1.5", now), absl::Milliseconds(1500));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("Thu, 01 Jan 2026 03:04:15 GMT", now), absl::Seconds(10));
  EXPECT_EQ(ParseRetryAfter("Wed, 31 Dec 2025 00:00:00 GMT", now), absl::ZeroDuration());
  EXPECT_EQ(ParseRetryAfter("-3", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
}

TEST(HistoryRowJsonTest, WritesValuesThenTheReservedKeysWithWandbNonFiniteTokens) {
  const training::MetricValues values = {{"loss", 0.412},
                                         {"sparsity", 0.5},
                                         {"grad", std::numeric_limits<double>::quiet_NaN()},
                                         {"ratio", -HUGE_VAL}};
  // The protocol's example row, plus the non-finite tokens of simplejsonext.
  EXPECT_EQ(HistoryRowJson(values, 17, 96.3, 1767236645.81),
            "{\"grad\":NaN,\"loss\":0.412,\"ratio\":-Infinity,\"sparsity\":0.5,"
            "\"_step\":17,\"_runtime\":96.3,\"_timestamp\":1767236645.81}");
}

TEST(HistoryRowJsonTest, FiniteRowsAreJsonThatReadsBackExactly) {
  const training::MetricValues values = {{"top1", 0.1 + 0.2}, {"key \"quoted\"/x", 1e-300}};
  const nlohmann::json row = nlohmann::json::parse(HistoryRowJson(values, 0, 0.0, 1.0));
  EXPECT_EQ(row["top1"].get<double>(), 0.1 + 0.2);
  EXPECT_EQ(row["key \"quoted\"/x"].get<double>(), 1e-300);
  EXPECT_EQ(row["_step"].get<int64_t>(), 0);
}

TEST(SummaryJsonTest, AddsWholeRuntimeSecondsUnderWandb) {
  const nlohmann::json summary =
      nlohmann::json::parse(SummaryJson({{"test_top1", 0.8764}}, 9, 96.7, 1767236645.0));
  EXPECT_EQ(summary["test_top1"].get<double>(), 0.8764);
  EXPECT_EQ(summary["_step"].get<int64_t>(), 9);
  EXPECT_EQ(summary["_wandb"]["runtime"].get<int64_t>(), 96);
}

TEST(UpsertBucketTest, RequestCarriesTheVariablesAndResponseGivesTheRunPath) {
  const nlohmann::json variables = {{"name", "q8x2k1ab"}, {"project", "compression"}, {"entity", nullptr}};
  const nlohmann::json request = nlohmann::json::parse(UpsertBucketRequestJson(variables));
  EXPECT_EQ(request["operationName"], "UpsertBucket");
  EXPECT_EQ(request["variables"], variables);
  EXPECT_THAT(request["query"].get<std::string>(), HasSubstr("historyLineCount"));

  // The protocol document's example response (section 2.1).
  const char* response = R"({"data": {"upsertBucket": {"inserted": true, "bucket": {"id": "UnVuOnYxOnE4eDJrMWFi", "name": "q8x2k1ab",
  "displayName": "brisk-lake-12", "description": null, "config": "{}", "sweepName": null,
  "historyLineCount": 3, "project": {"id": "UHJvamVjdDox", "name": "compression",
  "entity": {"id": "RW50aXR5OjE=", "name": "alice"}}}}}})";
  const absl::StatusOr<RunPath> path = ParseUpsertBucketResponse(response);
  ASSERT_THAT(path, IsOk());
  EXPECT_EQ(path->entity, "alice");
  EXPECT_EQ(path->project, "compression");
  EXPECT_EQ(path->run_id, "q8x2k1ab");
  EXPECT_EQ(path->history_line_count, 3);
  EXPECT_EQ(FileStreamPath(*path), "/files/alice/compression/q8x2k1ab/file_stream");
}

TEST(UpsertBucketTest, ErrorsAndMissingFieldsAreReported) {
  EXPECT_THAT(ParseUpsertBucketResponse(R"({"errors": [{"message": "no such entity"}]})"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no such entity")));
  EXPECT_THAT(ParseUpsertBucketResponse("<html>"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(ParseUpsertBucketResponse(R"({"data": {"upsertBucket": {"bucket": {"name": "x"}}}})"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("project")));
}

TEST(FileStreamPathTest, EscapesEachSegment) {
  EXPECT_EQ(FileStreamPath({"a b", "p/q", "r", 0}), "/files/a%20b/p%2Fq/r/file_stream");
}

TEST(FileStreamRequestJsonTest, LeavesOutWhatIsEmptyAndHeartbeatIsEmptyObject) {
  EXPECT_EQ(FileStreamRequestJson({}), "{}");
  FileStreamRequest request;
  request.history_offset = 3;
  request.history_lines = {"{\"a\":NaN,\"_step\":3}"};
  request.summary_line = "{\"a\":1}";
  request.exit_code = 0;
  const nlohmann::json body = nlohmann::json::parse(FileStreamRequestJson(request));
  EXPECT_EQ(body["files"]["wandb-history.jsonl"]["offset"], 3);
  EXPECT_EQ(body["files"]["wandb-history.jsonl"]["content"][0], "{\"a\":NaN,\"_step\":3}");
  EXPECT_EQ(body["files"]["wandb-summary.json"]["offset"], 0);
  EXPECT_EQ(body["complete"], true);
  EXPECT_EQ(body["exitcode"], 0);
}

TEST(FileStreamResponseSaysStoppedTest, OnlyAnExplicitTrueStops) {
  EXPECT_TRUE(FileStreamResponseSaysStopped(R"({"stopped": true})"));
  EXPECT_FALSE(FileStreamResponseSaysStopped(R"({"stopped": false})"));
  EXPECT_FALSE(FileStreamResponseSaysStopped("{}"));
  EXPECT_FALSE(FileStreamResponseSaysStopped("not json"));  // ignored, as the reference does
}

}  // namespace
}  // namespace edgecompress::metrics
