#include "sweep/hyperband.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgecompress::sweep {
namespace {

using ::testing::ElementsAre;

TEST(HyperbandTest, BandsOfBothForms) {
  // W&B docs: min_iter 3, eta 3 -> 3, 9, 27, 81, ...
  EXPECT_THAT(HyperbandBands({.min_iter = 3, .eta = 3}, 100), ElementsAre(3, 9, 27, 81));
  // max_iter 5, eta 2, s 2 -> 5/2 = 2, 5/4 = 1, ascending.
  EXPECT_THAT(HyperbandBands({.max_iter = 5, .eta = 2, .s = 2}, 100), ElementsAre(1, 2));
}

// The example in the docstring of wandb/sweeps hyperband_stop_runs (losses,
// minimised; max_iter 5, eta 2, s 2 -> bands 1, 2). Thresholds: band 1 over
// {9, 10, 8, 7, 6} sorted, index floor(5 / 2) = 2 -> 8; band 2 over {8, 7, 6},
// index 1 -> 7. b (10 at band 1) and c (8 at band 2) are worse: stopped;
// d (7 at band 2) ties the threshold and runs on; a and e are finished.
TEST(HyperbandTest, WandbDocstringExample) {
  const TrialHistory histories[] = {
      {0, false, {10, 9}},
      {1, true, {10, 10}},
      {2, true, {10, 8, 8}},
      {3, true, {10, 7, 7}},
      {4, false, {10, 6, 6}},
  };
  EXPECT_THAT(HyperbandTrialsToStop({.max_iter = 5, .eta = 2, .s = 2}, Goal::kMinimize, histories),
              ElementsAre(1, 2));
}

TEST(HyperbandTest, MaximisedMetricAndNoBandPassedYet) {
  const TrialHistory histories[] = {
      {0, false, {50, 80, 90}},
      {1, false, {40, 70, 85}},
      {2, true, {10, 20}},  // behind at band 1
      {3, true, {60}},      // has not reached band 1
  };
  EXPECT_THAT(HyperbandTrialsToStop({.min_iter = 1, .eta = 2}, Goal::kMaximize, histories),
              ElementsAre(2));
}

}  // namespace
}  // namespace edgecompress::sweep
