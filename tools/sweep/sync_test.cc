#include "tools/sweep/sync.h"

#include <stdlib.h>

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/metrics_run.h"
#include "metrics/wandb_test_server.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

constexpr char kApiKey[] = "sweep-sync-test-key";

metrics::UploadOptions FastUpload() {
  metrics::UploadOptions upload;
  upload.retry_base = absl::Milliseconds(1);
  upload.retry_cap = absl::Milliseconds(20);
  upload.request_timeout = absl::Seconds(5);
  upload.jitter_seed = 7;
  return upload;
}

// Two trials ran with no endpoint (everything in their run directories),
// one in train_prune's layout and one in bench's; `sweep sync` uploads both
// once, and a second sync sends nothing.
TEST(SweepSyncTest, UploadsEveryTrialsRunOnce) {
  const std::string sweep = absl::StrCat(::testing::TempDir(), "/sweep_sync");
  ASSERT_EQ(system(absl::StrCat("rm -rf ", sweep, " && mkdir -p ", sweep, "/trials/1/out ",
                                sweep, "/trials/2 ", sweep, "/trials/3")
                       .c_str()),
            0);
  const std::string runs[] = {sweep + "/trials/1/out/wandb", sweep + "/trials/2/bench_run"};
  const std::string ids[] = {"trial001", "trial002"};
  for (int r = 0; r < 2; ++r) {
    metrics::MetricsRunOptions options;
    options.run_directory = runs[r];
    options.run_id = ids[r];
    options.project = "sweep";
    options.random_seed = 3;
    options.log_line = [](absl::string_view) {};
    auto run = metrics::OpenMetricsRun(options);
    ASSERT_THAT(run, IsOk());
    for (int step = 0; step < 3 + r; ++step) {
      ASSERT_THAT((*run)->Log(step, {{"loss", 1.0 / (step + 1)}}), IsOk());
    }
    ASSERT_THAT((*run)->Finish(0), IsOk());
  }
  EXPECT_THAT(FindRunDirectories(sweep), ElementsAre(runs[0], runs[1]));

  auto server = metrics::WandbTestServer::Start(kApiKey);
  ASSERT_THAT(server, IsOk());
  metrics::SyncOptions options;
  options.endpoint = {(*server)->base_url(), kApiKey};
  options.upload = FastUpload();
  options.give_up_after = absl::Seconds(20);
  options.log_line = [](absl::string_view) {};
  SweepSyncResult result = SyncSweep(sweep, options);
  EXPECT_EQ(result.runs, 2);
  EXPECT_THAT(result.failures, IsEmpty());
  for (int r = 0; r < 2; ++r) {
    const auto received = (*server)->FindRun(ids[r]);
    ASSERT_TRUE(received.has_value()) << ids[r];
    EXPECT_EQ(received->history.size(), 3u + r);
    EXPECT_EQ(received->exit_code, 0);
  }
  const int requests = (*server)->requests_received();
  result = SyncSweep(sweep, options);
  EXPECT_THAT(result.failures, IsEmpty());
  EXPECT_EQ((*server)->requests_received(), requests);
  EXPECT_THAT((*server)->protocol_errors(), IsEmpty());

  // A trial that ran while the endpoint is down: the sync reports it, one
  // line naming the run directory, and a later sync delivers it.
  (*server)->Stop();
  const std::string late = sweep + "/trials/3/wandb";
  {
    metrics::MetricsRunOptions late_options;
    late_options.run_directory = late;
    late_options.run_id = "trial003";
    late_options.log_line = [](absl::string_view) {};
    auto run = metrics::OpenMetricsRun(late_options);
    ASSERT_THAT(run, IsOk());
    ASSERT_THAT((*run)->Log(0, {{"loss", 0.5}}), IsOk());
    ASSERT_THAT((*run)->Finish(0), IsOk());
  }
  options.give_up_after = absl::Milliseconds(300);
  result = SyncSweep(sweep, options);
  EXPECT_EQ(result.runs, 3);
  ASSERT_EQ(result.failures.size(), 1u);
  EXPECT_THAT(result.failures[0], ::testing::StartsWith(late + ": "));
  ASSERT_THAT((*server)->Restart(), IsOk());
  options.give_up_after = absl::Seconds(20);
  result = SyncSweep(sweep, options);
  EXPECT_THAT(result.failures, IsEmpty());
  ASSERT_TRUE((*server)->FindRun("trial003").has_value());
  EXPECT_EQ((*server)->FindRun("trial003")->history.size(), 1u);
}

TEST(SweepSyncTest, NoTrialsNoRuns) {
  EXPECT_THAT(FindRunDirectories(absl::StrCat(::testing::TempDir(), "/no_such_sweep")), IsEmpty());
}

}  // namespace
}  // namespace edgecompress::tools
