#include "tools/status/status_macros.h"

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace {

using ::testing::HasSubstr;

absl::Status FailIfNegative(int value) {
  if (value < 0) return absl::InvalidArgumentError("negative");
  return absl::OkStatus();
}

absl::Status CheckBoth(int a, int b, int* calls) {
  ++*calls;
  RETURN_IF_ERROR(FailIfNegative(a));
  ++*calls;
  RETURN_IF_ERROR(FailIfNegative(b));
  ++*calls;
  return absl::OkStatus();
}

TEST(ReturnIfErrorTest, StopsAtTheFirstError) {
  int calls = 0;
  EXPECT_THAT(CheckBoth(1, 2, &calls), IsOk());
  EXPECT_EQ(calls, 3);
  calls = 0;
  EXPECT_THAT(CheckBoth(1, -2, &calls), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(calls, 2);
}

absl::StatusOr<std::unique_ptr<int>> MakeBoxed(int value) {
  if (value < 0) return absl::OutOfRangeError("value below zero");
  return std::make_unique<int>(value);
}

absl::StatusOr<int> SumOfBoxes(int a, int b) {
  ASSIGN_OR_RETURN(std::unique_ptr<int> first, MakeBoxed(a));  // move-only type
  int second = 0;
  ASSIGN_OR_RETURN(auto boxed, MakeBoxed(b));
  second = *boxed;
  return *first + second;
}

TEST(AssignOrReturnTest, AssignsOrForwardsTheError) {
  EXPECT_EQ(*SumOfBoxes(2, 3), 5);
  EXPECT_THAT(SumOfBoxes(2, 3), IsOkAndHolds(5));
  EXPECT_THAT(SumOfBoxes(2, 3), ::testing::Not(IsOkAndHolds(6)));
  EXPECT_THAT(SumOfBoxes(2, -3), ::testing::Not(IsOkAndHolds(5)));
  EXPECT_THAT(SumOfBoxes(2, -3),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("below zero")));
}

TEST(StatusMatchersTest, DescribeMismatches) {
  EXPECT_THAT(absl::OkStatus(), ::testing::Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(absl::StatusOr<int>(absl::NotFoundError("x")), ::testing::Not(IsOk()));
}

}  // namespace
}  // namespace edgecompress
