#include "pruning/constant_schedule.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruning/schedule_contract.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

// A one-shot prune to 0.9 at step 5: dense before, one update, then held.
TEST(ConstantScheduleTest, PrunesOnceAndHolds) {
  absl::StatusOr<ConstantSchedule> schedule =
      ConstantSchedule::Create({.sparsity = 0.9, .begin_step = 5});
  ASSERT_THAT(schedule, IsOk());
  EXPECT_EQ(schedule->TargetSparsity(4), 0.0);
  EXPECT_FALSE(schedule->MasksEnforced(4));
  EXPECT_FALSE(schedule->IsUpdateStep(4));
  EXPECT_EQ(schedule->TargetSparsity(5), 0.9);
  EXPECT_TRUE(schedule->IsUpdateStep(5));
  EXPECT_TRUE(schedule->MasksEnforced(5));
  EXPECT_EQ(schedule->TargetSparsity(1000), 0.9);
  EXPECT_FALSE(schedule->IsUpdateStep(1000));
  EXPECT_TRUE(schedule->MasksEnforced(1000));
}

TEST(ConstantScheduleTest, KeepsTheScheduleContractAcrossEdges) {
  for (double sparsity : {0.0, 0.4, 0.6, 0.9, 0.99}) {
    SCOPED_TRACE(sparsity);
    absl::StatusOr<ConstantSchedule> schedule =
        ConstantSchedule::Create({.sparsity = sparsity, .begin_step = 3});
    ASSERT_THAT(schedule, IsOk());
    ExpectScheduleContract(*schedule, 0, 20);
  }
}

// Epoch 2 at 100 steps per epoch is step 200.
TEST(ConstantScheduleTest, EpochsToSteps) {
  const ConstantScheduleOptions steps = EpochsToSteps({.sparsity = 0.5, .begin_step = 2}, 100);
  EXPECT_EQ(steps.begin_step, 200);
  EXPECT_EQ(steps.sparsity, 0.5);
}

TEST(ConstantScheduleTest, RejectsBadOptions) {
  EXPECT_THAT(ConstantSchedule::Create({.sparsity = 1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("[0, 1)")));
  EXPECT_THAT(ConstantSchedule::Create({.sparsity = -0.1}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ConstantSchedule::Create({.sparsity = 0.5, .begin_step = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("begin")));
}

}  // namespace
}  // namespace edgecompress::pruning
