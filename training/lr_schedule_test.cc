#include "training/lr_schedule.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::DoubleNear;

LrSchedule Make(const LrScheduleOptions& options) {
  absl::StatusOr<LrSchedule> schedule = LrSchedule::Create(options);
  EXPECT_THAT(schedule, IsOk());
  return *schedule;
}

struct Case {
  double epoch;
  double learning_rate;
};

void ExpectRates(const LrSchedule& schedule, std::initializer_list<Case> cases) {
  for (const Case& c : cases) {
    SCOPED_TRACE(testing::Message() << "epoch " << c.epoch);
    EXPECT_THAT(schedule.LearningRate(c.epoch), DoubleNear(c.learning_rate, 1e-9));
  }
}

// The ResNet-50/CIFAR-100 study: 0.1 over 70 epochs, x0.1 at 43 and 60.
TEST(LrScheduleTest, MultiStepAsTheResNet50Study) {
  ExpectRates(Make({.kind = LrScheduleKind::kMultiStep, .base_learning_rate = 0.1,
                    .milestones = {43, 60}, .gamma = 0.1}),
              {{0, 0.1}, {42.99, 0.1}, {43, 0.01}, {59.5, 0.01}, {60, 0.001}, {69.9, 0.001}});
}

// Exponential from epoch 2 with gamma 0.5: 1, 1, 1, 0.5, 0.25 at epochs 0..4.
TEST(LrScheduleTest, ExponentialFromAStartEpoch) {
  ExpectRates(Make({.kind = LrScheduleKind::kExponential, .base_learning_rate = 1.0,
                    .gamma = 0.5, .start_epoch = 2}),
              {{0, 1.0}, {2.7, 1.0}, {3, 0.5}, {4.2, 0.25}});
}

// SGDR eq. 5 with max 0.1, min 0.001, T = 100 epochs: at 25,
// 0.001 + 0.099 * (1 + cos(pi/4)) / 2 = 0.001 + 0.099 * 0.85355339 = 0.0855017857.
TEST(LrScheduleTest, CosineFollowsSgdrEquationFive) {
  const LrSchedule schedule = Make({.kind = LrScheduleKind::kCosine, .base_learning_rate = 0.1,
                                    .min_learning_rate = 0.001, .total_epochs = 100});
  ExpectRates(schedule, {{0, 0.1}, {25, 0.0855017857}, {50, 0.0505}, {100, 0.001}, {500, 0.001}});
  double previous = schedule.LearningRate(0);
  for (double e = 0.25; e <= 100; e += 0.25) {
    EXPECT_LE(schedule.LearningRate(e), previous);
    previous = schedule.LearningRate(e);
  }
}

// Warm-up over 2 epochs scales the schedule linearly: 0 at 0, half at 1.
TEST(LrScheduleTest, LinearWarmUp) {
  ExpectRates(Make({.base_learning_rate = 0.4, .warmup_epochs = 2}),
              {{0, 0.0}, {0.5, 0.1}, {1, 0.2}, {2, 0.4}, {10, 0.4}});
}

TEST(LrScheduleTest, ParsesKindNames) {
  EXPECT_THAT(ParseLrScheduleKind("multi_step"), IsOkAndHolds(LrScheduleKind::kMultiStep));
  EXPECT_THAT(ParseLrScheduleKind("step"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    ::testing::HasSubstr("'step'")));
}

TEST(LrScheduleTest, RejectsBadOptions) {
  const LrScheduleOptions kBad[] = {
      {.base_learning_rate = 0},
      {.base_learning_rate = 0.1, .warmup_epochs = -1},
      {.kind = LrScheduleKind::kMultiStep, .milestones = {5, 5}},
      {.kind = LrScheduleKind::kMultiStep, .milestones = {5}, .gamma = 1.5},
      {.kind = LrScheduleKind::kExponential, .start_epoch = -1},
      {.kind = LrScheduleKind::kCosine, .total_epochs = 0},
      {.kind = LrScheduleKind::kCosine, .base_learning_rate = 0.1, .min_learning_rate = 0.2},
  };
  for (const LrScheduleOptions& options : kBad) {
    EXPECT_THAT(LrSchedule::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace edgecompress::training
