#include "pruning/schedule.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruning/schedule_contract.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::DoubleNear;

CubicSchedule MakeSchedule(const CubicScheduleOptions& options) {
  absl::StatusOr<CubicSchedule> schedule = CubicSchedule::Create(options);
  EXPECT_THAT(schedule, IsOk());
  return *schedule;
}

// TF-MOT pruning_schedule_test.py, testPolynomialDecay_PrunesCorrectly:
// 0.2 -> 0.8 over steps 100..110, s = 0.8 - 0.6 * (1 - (t - 100) / 10)^3:
//   t = 102: 0.8 - 0.6 * 0.8^3 = 0.4928;  t = 105: 0.8 - 0.6 * 0.5^3 = 0.725.
TEST(CubicScheduleTest, MatchesTfModelOptimizationGoldens) {
  const CubicSchedule schedule = MakeSchedule(
      {.initial_sparsity = 0.2, .final_sparsity = 0.8, .begin_step = 100, .end_step = 110});
  constexpr struct {
    int64_t step;
    double sparsity;
  } kCases[] = {{100, 0.2}, {102, 0.4928}, {105, 0.725}, {110, 0.8}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.step);
    EXPECT_THAT(schedule.TargetSparsity(c.step), DoubleNear(c.sparsity, 1e-12));
  }
}

// The ResNet-50 study's recipe: GMP 0.05 -> 0.95 over epochs 0..40. Halfway,
// s(20) = 0.95 - 0.9 * 0.5^3 = 0.8375: most of the pruning is done early.
TEST(CubicScheduleTest, ResNet50StudyHalfway) {
  const CubicSchedule schedule = MakeSchedule(
      {.initial_sparsity = 0.05, .final_sparsity = 0.95, .begin_step = 0, .end_step = 40});
  EXPECT_THAT(schedule.TargetSparsity(20), DoubleNear(0.8375, 1e-12));
}

TEST(CubicScheduleTest, OutsideTheWindow) {
  const CubicSchedule schedule = MakeSchedule(
      {.initial_sparsity = 0.1, .final_sparsity = 0.9, .begin_step = 10, .end_step = 20});
  EXPECT_EQ(schedule.TargetSparsity(0), 0.0);
  EXPECT_EQ(schedule.TargetSparsity(9), 0.0);
  EXPECT_EQ(schedule.TargetSparsity(10), 0.1);
  EXPECT_EQ(schedule.TargetSparsity(20), 0.9);
  EXPECT_EQ(schedule.TargetSparsity(1000), 0.9);
  EXPECT_FALSE(schedule.IsUpdateStep(9));
  EXPECT_FALSE(schedule.IsUpdateStep(21));
}

// Frequency 3 over 0..10: updates at 0, 3, 6, 9 and the inclusive end 10;
// between updates the target holds.
TEST(CubicScheduleTest, FrequencyHoldsBetweenUpdatesAndEndIsInclusive) {
  const CubicSchedule schedule = MakeSchedule(
      {.initial_sparsity = 0.0, .final_sparsity = 0.5, .begin_step = 0, .end_step = 10,
       .frequency = 3});
  for (int64_t step = 0; step <= 10; ++step) {
    SCOPED_TRACE(step);
    const bool expected_update = step % 3 == 0 || step == 10;
    EXPECT_EQ(schedule.IsUpdateStep(step), expected_update);
    if (!expected_update) {
      EXPECT_EQ(schedule.TargetSparsity(step), schedule.TargetSparsity(step - 1));
    }
  }
  // s(9) = 0.5 - 0.5 * 0.1^3 = 0.4995, then exactly 0.5 at the end.
  EXPECT_THAT(schedule.TargetSparsity(9), DoubleNear(0.4995, 1e-12));
  EXPECT_EQ(schedule.TargetSparsity(10), 0.5);
}

TEST(CubicScheduleTest, BeginEqualsEndJumpsToFinal) {
  const CubicSchedule schedule = MakeSchedule(
      {.initial_sparsity = 0.3, .final_sparsity = 0.6, .begin_step = 5, .end_step = 5});
  EXPECT_EQ(schedule.TargetSparsity(4), 0.0);
  EXPECT_EQ(schedule.TargetSparsity(5), 0.6);
  EXPECT_TRUE(schedule.IsUpdateStep(5));
}

// Properties over the edge sparsities: monotone, within [initial, final].
TEST(CubicScheduleTest, MonotoneAndBoundedAcrossEdges) {
  constexpr double kSparsities[] = {0.0, 0.4, 0.6, 0.9, 0.99};
  for (double initial : kSparsities) {
    for (double final_sparsity : kSparsities) {
      if (initial > final_sparsity) continue;
      SCOPED_TRACE(testing::Message() << initial << " -> " << final_sparsity);
      const CubicSchedule schedule =
          MakeSchedule({.initial_sparsity = initial, .final_sparsity = final_sparsity,
                        .begin_step = 3, .end_step = 50, .frequency = 2});
      double previous = schedule.TargetSparsity(3);
      for (int64_t step = 3; step <= 60; ++step) {
        const double s = schedule.TargetSparsity(step);
        EXPECT_GE(s, initial);
        EXPECT_LE(s, final_sparsity);
        EXPECT_GE(s, previous);
        previous = s;
      }
    }
  }
}

TEST(CubicScheduleTest, KeepsTheScheduleContractAndEnforcesFromBegin) {
  const CubicSchedule schedule = MakeSchedule(
      {.initial_sparsity = 0.05, .final_sparsity = 0.95, .begin_step = 4, .end_step = 30,
       .frequency = 3});
  ExpectScheduleContract(schedule, 0, 50);
  EXPECT_FALSE(schedule.MasksEnforced(3));
  EXPECT_TRUE(schedule.MasksEnforced(4));
  EXPECT_TRUE(schedule.MasksEnforced(500));  // the final masks hold through fine-tuning
}

// The ResNet-50 study's epochs 0..40 at 100 steps per epoch: updates on
// epoch boundaries, the same targets there (s(20 epochs) = 0.8375).
TEST(CubicScheduleTest, EpochsToStepsKeepsTheTargetsOnEpochBoundaries) {
  const CubicScheduleOptions epochs = {.initial_sparsity = 0.05, .final_sparsity = 0.95,
                                       .begin_step = 0, .end_step = 40, .frequency = 1};
  const CubicSchedule in_epochs = MakeSchedule(epochs);
  const CubicSchedule in_steps = MakeSchedule(EpochsToSteps(epochs, 100));
  EXPECT_EQ(in_steps.options().end_step, 4000);
  EXPECT_EQ(in_steps.options().frequency, 100);
  for (int64_t epoch = 0; epoch <= 45; ++epoch) {
    SCOPED_TRACE(epoch);
    EXPECT_DOUBLE_EQ(in_steps.TargetSparsity(epoch * 100), in_epochs.TargetSparsity(epoch));
    EXPECT_DOUBLE_EQ(in_steps.TargetSparsity(epoch * 100 + 99), in_epochs.TargetSparsity(epoch));
    EXPECT_EQ(in_steps.IsUpdateStep(epoch * 100), in_epochs.IsUpdateStep(epoch));
    EXPECT_FALSE(in_steps.IsUpdateStep(epoch * 100 + 1));
  }
  EXPECT_THAT(in_steps.TargetSparsity(2000), DoubleNear(0.8375, 1e-12));
}

TEST(CubicScheduleTest, RejectsBadOptions) {
  constexpr CubicScheduleOptions kBad[] = {
      {.initial_sparsity = -0.1, .final_sparsity = 0.5, .end_step = 1},
      {.initial_sparsity = 0.1, .final_sparsity = 1.0, .end_step = 1},
      {.initial_sparsity = 0.6, .final_sparsity = 0.5, .end_step = 1},
      {.initial_sparsity = 0.1, .final_sparsity = 0.5, .begin_step = 5, .end_step = 4},
      {.initial_sparsity = 0.1, .final_sparsity = 0.5, .begin_step = -1, .end_step = 4},
      {.initial_sparsity = 0.1, .final_sparsity = 0.5, .end_step = 4, .frequency = 0},
  };
  for (const CubicScheduleOptions& options : kBad) {
    SCOPED_TRACE(testing::Message() << options.initial_sparsity << " " << options.final_sparsity
                                    << " " << options.begin_step << " " << options.end_step
                                    << " " << options.frequency);
    EXPECT_THAT(CubicSchedule::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace edgecompress::pruning
