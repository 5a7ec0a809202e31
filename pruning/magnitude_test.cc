#include "pruning/magnitude.h"

#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::ElementsAre;

int64_t CountZeros(const std::vector<uint8_t>& mask) {
  int64_t zeros = 0;
  for (uint8_t m : mask) zeros += m == 0;
  return zeros;
}

TEST(MagnitudeMaskTest, PrunesSmallestMagnitudesIgnoringSign) {
  const std::vector<float> weights = {0.5f, -0.1f, 2.0f, -3.0f, 0.2f};
  std::vector<uint8_t> mask(weights.size());
  // floor(0.4 * 5) = 2: -0.1 and 0.2 go.
  ASSERT_THAT(MagnitudeMask(weights, 0.4, absl::MakeSpan(mask)), IsOk());
  EXPECT_THAT(mask, ElementsAre(1, 0, 1, 1, 0));
}

TEST(MagnitudeMaskTest, TiesGoToTheLowestIndex) {
  const std::vector<float> weights(10, 0.7f);
  std::vector<uint8_t> mask(weights.size());
  ASSERT_THAT(MagnitudeMask(weights, 0.3, absl::MakeSpan(mask)), IsOk());
  EXPECT_THAT(mask, ElementsAre(0, 0, 0, 1, 1, 1, 1, 1, 1, 1));
}

// sparseml test_mask_creator.py sweeps these edges; the count is exact even
// for an all-equal tensor where a threshold would prune everything or nothing.
TEST(MagnitudeMaskTest, ExactCountAcrossEdgeSparsities) {
  constexpr double kSparsities[] = {0.0, 0.4, 0.6, 0.9, 0.99, 1.0};
  constexpr int64_t kSizes[] = {1, 7, 100, 1003};
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  std::normal_distribution<float> normal;
  for (int64_t size : kSizes) {
    for (bool all_equal : {false, true}) {
      std::vector<float> weights(size, 0.25f);
      if (!all_equal) {
        for (float& w : weights) w = normal(rng);
      }
      for (double sparsity : kSparsities) {
        SCOPED_TRACE(testing::Message() << "size " << size << " sparsity " << sparsity
                                        << " all_equal " << all_equal);
        std::vector<uint8_t> mask(size);
        ASSERT_THAT(MagnitudeMask(weights, sparsity, absl::MakeSpan(mask)), IsOk());
        EXPECT_EQ(CountZeros(mask), PrunedCount(size, sparsity));
      }
    }
  }
}

// Every kept weight is at least as large as every pruned one, and masks are
// nested: what 0.5 prunes, 0.8 prunes too.
TEST(MagnitudeMaskTest, KeepsLargestAndNestsAsSparsityGrows) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> weights(513);
  for (float& w : weights) w = uniform(rng);
  std::vector<uint8_t> half(weights.size()), most(weights.size());
  ASSERT_THAT(MagnitudeMask(weights, 0.5, absl::MakeSpan(half)), IsOk());
  ASSERT_THAT(MagnitudeMask(weights, 0.8, absl::MakeSpan(most)), IsOk());
  float largest_pruned = 0.0f, smallest_kept = 2.0f;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (half[i] == 0) {
      EXPECT_EQ(most[i], 0) << "index " << i;
      largest_pruned = std::max(largest_pruned, std::fabs(weights[i]));
    } else {
      smallest_kept = std::min(smallest_kept, std::fabs(weights[i]));
    }
  }
  EXPECT_LE(largest_pruned, smallest_kept);
}

TEST(MagnitudeMaskTest, NanIsKept) {
  const std::vector<float> weights = {NAN, 0.1f, 0.2f};
  std::vector<uint8_t> mask(weights.size());
  ASSERT_THAT(MagnitudeMask(weights, 0.67, absl::MakeSpan(mask)), IsOk());
  EXPECT_THAT(mask, ElementsAre(1, 0, 0));
}

TEST(MagnitudeMaskTest, RejectsBadArguments) {
  const std::vector<float> weights = {1.0f, 2.0f};
  std::vector<uint8_t> mask(2), short_mask(1);
  EXPECT_THAT(MagnitudeMask(weights, -0.1, absl::MakeSpan(mask)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MagnitudeMask(weights, 1.5, absl::MakeSpan(mask)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MagnitudeMask(weights, NAN, absl::MakeSpan(mask)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(MagnitudeMask(weights, 0.5, absl::MakeSpan(short_mask)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::pruning
