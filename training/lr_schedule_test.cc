#include "training/lr_schedule.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::DoubleNear;

// From eq. 5 with lr_max 0.1, lr_min 0.001, T = 100:
//   t = 25: 0.001 + 0.099 * (1 + cos(pi/4)) / 2 = 0.001 + 0.099 * 0.8535534 = 0.0855018
//   t = 50: 0.001 + 0.099 / 2 = 0.0505
TEST(CosineLrScheduleTest, FollowsSgdrEquationFive) {
  absl::StatusOr<CosineLrSchedule> schedule = CosineLrSchedule::Create(
      {.max_learning_rate = 0.1, .min_learning_rate = 0.001, .total_steps = 100});
  ASSERT_THAT(schedule, IsOk());
  constexpr struct {
    int64_t step;
    double learning_rate;
  } kCases[] = {{-5, 0.1}, {0, 0.1}, {25, 0.08550178}, {50, 0.0505}, {100, 0.001}, {500, 0.001}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.step);
    EXPECT_THAT(schedule->LearningRate(c.step), DoubleNear(c.learning_rate, 1e-7));
  }
  double previous = schedule->LearningRate(0);
  for (int64_t step = 1; step <= 100; ++step) {
    EXPECT_LE(schedule->LearningRate(step), previous);
    previous = schedule->LearningRate(step);
  }
}

TEST(CosineLrScheduleTest, RejectsBadOptions) {
  constexpr CosineLrOptions kBad[] = {
      {.max_learning_rate = 0.0},
      {.max_learning_rate = 0.1, .min_learning_rate = 0.2},
      {.max_learning_rate = 0.1, .min_learning_rate = -0.1},
      {.max_learning_rate = 0.1, .total_steps = 0},
  };
  for (const CosineLrOptions& options : kBad) {
    EXPECT_THAT(CosineLrSchedule::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

}  // namespace
}  // namespace edgecompress::training
