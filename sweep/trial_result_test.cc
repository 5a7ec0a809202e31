#include "sweep/trial_result.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path) << text;
  return path;
}

TEST(ReadTrialMetricsTest, DottedPathsThenParameters) {
  const std::string path = Write("r.json", R"({"after": {"test_top1": 88.5}, "test_top1": 88.5})");
  const MetricSpec metrics[] = {{"after.test_top1", Goal::kMaximize}, {"epochs", Goal::kMinimize}};
  EXPECT_THAT(ReadTrialMetrics(path, metrics, {{"epochs", "15"}}),
              IsOkAndHolds(ElementsAre(Pair("after.test_top1", 88.5), Pair("epochs", 15))));
  EXPECT_THAT(ReadTrialMetrics(path, metrics, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'epochs'")));
  EXPECT_THAT(ReadTrialMetrics(Write("bad.json", "{\"after\": "), metrics, {}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad.json")));
  EXPECT_THAT(ReadTrialMetrics(path + ".missing", metrics, {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("wrote no result")));
}

TEST(MetricHistoryTest, TrainPruneEpochLinesAndKeyValueLines) {
  // train_prune's epoch lines on a non-terminal (README "The main job").
  const char kLog[] =
      "epoch 1/2 lr 2.5e-02 loss 0.5109 train top-1 80.99% test top-1 86.83% 7.5 s 8015 img/s\n"
      "epoch 2/2 lr 1.4e-07 loss 0.3901 train top-1 86.10% test top-1 88.02% 7.4 s 8100 img/s\n"
      "test top-1 88.02% (before 10.53%), sparsity 0.0000\n";
  EXPECT_THAT(MetricHistory(kLog, "after.test_top1"), ElementsAre(86.83, 88.02));
  EXPECT_THAT(MetricHistory("step 1 loss=2.5\nstep 2 loss=1.25 acc=3\n", "loss"), ElementsAre(2.5, 1.25));
  EXPECT_THAT(MetricHistory(kLog, "loss"), ElementsAre());
}

}  // namespace
}  // namespace edgecompress::sweep
