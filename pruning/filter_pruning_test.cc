#include "pruning/filter_pruning.h"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Four filters of 2 inputs, 1x1, by hand:
//   filter 0 {1, -3}: mean |w| 2;  filter 1 {0.5, 0.5}: 0.5;
//   filter 2 {-2, 0}: 1;           filter 3 {4, -4}: 4.
const std::vector<float> kWeights = {1, -3, 0.5, 0.5, -2, 0, 4, -4};

TEST(FilterPruningTest, ScoresAreMeanAbsoluteWeights) {
  EXPECT_THAT(FilterL1Scores(kWeights, 4),
              IsOkAndHolds(ElementsAre(DoubleEq(2), DoubleEq(0.5), DoubleEq(1), DoubleEq(4))));
}

// m = floor(f * 4): 0.5 and 0.7 remove 2 (filters 1 and 2), 0.75 removes 3,
// 0.2 removes none.
TEST(FilterPruningTest, RemovesTheLowestScoringFiltersByHand) {
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, 0.5), IsOkAndHolds(ElementsAre(0, 3)));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, 0.7), IsOkAndHolds(ElementsAre(0, 3)));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, 0.75), IsOkAndHolds(ElementsAre(3)));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, 0.2), IsOkAndHolds(ElementsAre(0, 1, 2, 3)));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, 0.0), IsOkAndHolds(ElementsAre(0, 1, 2, 3)));
}

TEST(FilterPruningTest, TiesGoToTheLowestIndex) {
  const std::vector<float> equal(5 * 9, -0.3f);
  EXPECT_THAT(KeptFiltersByL1(equal, 5, 0.4), IsOkAndHolds(ElementsAre(2, 3, 4)));
}

TEST(FilterPruningTest, NanFilterIsKept) {
  std::vector<float> weights = {NAN, 0.0f, 1.0f, 1.0f, 2.0f, 2.0f};
  EXPECT_THAT(KeptFiltersByL1(weights, 3, 0.67), IsOkAndHolds(ElementsAre(0)));
}

// The ResNet-56 study's Distiller schedule (seed 001, appendix A.2) on
// 3x3 convs: layer1 convs have 16 filters at 0.7 -> floor(11.2) = 11 go, 5
// stay; layer2 32 at 0.6 -> 19 go, 13 stay; layer3.1 64 at 0.2 -> 12 go, 52
// stay; the other layer3 convs 64 at 0.4 -> 25 go, 39 stay.
TEST(FilterPruningTest, ResNet56StudyCounts) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  std::normal_distribution<float> normal;
  constexpr struct {
    int64_t filters, in_channels;
    double fraction;
    size_t kept;
  } kCases[] = {{16, 16, 0.7, 5}, {32, 32, 0.6, 13}, {64, 64, 0.2, 52}, {64, 64, 0.4, 39}};
  for (const auto& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.filters << " filters at " << c.fraction);
    std::vector<float> weights(c.filters * c.in_channels * 9);
    for (float& w : weights) w = normal(rng);
    absl::StatusOr<std::vector<int64_t>> kept = KeptFiltersByL1(weights, c.filters, c.fraction);
    ASSERT_THAT(kept, IsOk());
    EXPECT_EQ(kept->size(), c.kept);
    // Every kept filter scores at least as high as every removed one.
    absl::StatusOr<std::vector<double>> scores = FilterL1Scores(weights, c.filters);
    ASSERT_THAT(scores, IsOk());
    const std::vector<uint8_t> is_kept = FilterMask(*kept, c.filters, 1);
    double lowest_kept = 1e9, highest_removed = -1.0;
    for (int64_t f = 0; f < c.filters; ++f) {
      if (is_kept[f]) {
        lowest_kept = std::min(lowest_kept, (*scores)[f]);
      } else {
        highest_removed = std::max(highest_removed, (*scores)[f]);
      }
    }
    EXPECT_LE(highest_removed, lowest_kept);
  }
}

// Kept sets nest as the fraction grows, and at least one filter survives.
TEST(FilterPruningTest, NestedAcrossEdgeFractions) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> weights(10 * 8);
  for (float& w : weights) w = uniform(rng);
  std::vector<int64_t> previous = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  for (double fraction : {0.0, 0.4, 0.6, 0.9, 0.99, 0.9999999999}) {
    SCOPED_TRACE(fraction);
    absl::StatusOr<std::vector<int64_t>> kept = KeptFiltersByL1(weights, 10, fraction);
    ASSERT_THAT(kept, IsOk());
    const int64_t removed = static_cast<int64_t>(fraction * 10 + 1e-9);
    EXPECT_EQ(static_cast<int64_t>(kept->size()), std::max<int64_t>(1, 10 - removed));
    for (int64_t f : *kept) {
      EXPECT_NE(std::find(previous.begin(), previous.end(), f), previous.end()) << f;
    }
    previous = *kept;
  }
}

TEST(FilterPruningTest, FilterMaskZeroesRemovedFilters) {
  EXPECT_THAT(FilterMask(std::vector<int64_t>{0, 2}, 3, 2), ElementsAre(1, 1, 0, 0, 1, 1));
  EXPECT_THAT(FilterMask(std::vector<int64_t>{}, 2, 1), ElementsAre(0, 0));
}

TEST(FilterPruningTest, RejectsBadArguments) {
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, 1.0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[0, 1)")));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 4, -0.5), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 3, 0.5),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("8 weights")));
  EXPECT_THAT(KeptFiltersByL1(kWeights, 0, 0.5), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(FilterL1Scores({}, 1), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::pruning
