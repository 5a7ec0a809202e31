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

// Global masks. By hand: |w| over both layers sorted is 0.05 (b[0]), 0.1
// (a[1]), 0.2 (b[2]), 0.3, 0.5, 2, 3; floor(0.5 * 7) = 3 go.
TEST(GlobalMagnitudeMaskTest, OneThresholdOverAllLayers) {
  const std::vector<float> a = {0.5f, -0.1f, 2.0f}, b = {0.05f, 3.0f, -0.2f, 0.3f};
  std::vector<uint8_t> mask_a(a.size()), mask_b(b.size());
  const std::vector<absl::Span<const float>> weights = {a, b};
  const std::vector<absl::Span<uint8_t>> masks = {absl::MakeSpan(mask_a), absl::MakeSpan(mask_b)};
  ASSERT_THAT(GlobalMagnitudeMask(weights, 0.5, masks), IsOk());
  EXPECT_THAT(mask_a, ElementsAre(1, 0, 1));
  EXPECT_THAT(mask_b, ElementsAre(0, 1, 0, 1));
}

// All equal: floor(0.6 * 5) = 3 go, the earlier layer first, then by index.
TEST(GlobalMagnitudeMaskTest, TiesGoByLayerOrderThenIndex) {
  const std::vector<float> a(2, 1.0f), b(3, -1.0f);
  std::vector<uint8_t> mask_a(a.size()), mask_b(b.size());
  const std::vector<absl::Span<const float>> weights = {a, b};
  const std::vector<absl::Span<uint8_t>> masks = {absl::MakeSpan(mask_a), absl::MakeSpan(mask_b)};
  ASSERT_THAT(GlobalMagnitudeMask(weights, 0.6, masks), IsOk());
  EXPECT_THAT(mask_a, ElementsAre(0, 0));
  EXPECT_THAT(mask_b, ElementsAre(0, 1, 1));
}

// The global mask is MagnitudeMask of the layers laid end to end, for random
// layers (one of them empty, one all-equal) at the edge sparsities; so the
// zero count is exact and a layer of small weights ends sparser.
TEST(GlobalMagnitudeMaskTest, EqualsTheMaskOfTheConcatenatedLayers) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> layers = {std::vector<float>(37), {}, std::vector<float>(200),
                                            std::vector<float>(64, 0.01f)};
  for (float& w : layers[0]) w = normal(rng);
  for (float& w : layers[2]) w = 10.0f * normal(rng);
  std::vector<float> all;
  for (const auto& layer : layers) all.insert(all.end(), layer.begin(), layer.end());
  for (double sparsity : {0.0, 0.4, 0.6, 0.9, 0.99, 1.0}) {
    SCOPED_TRACE(sparsity);
    std::vector<std::vector<uint8_t>> masks;
    std::vector<absl::Span<const float>> weights;
    std::vector<absl::Span<uint8_t>> mask_spans;
    for (const auto& layer : layers) masks.emplace_back(layer.size());
    for (size_t i = 0; i < layers.size(); ++i) {
      weights.push_back(layers[i]);
      mask_spans.push_back(absl::MakeSpan(masks[i]));
    }
    ASSERT_THAT(GlobalMagnitudeMask(weights, sparsity, mask_spans), IsOk());
    std::vector<uint8_t> expected(all.size()), got;
    ASSERT_THAT(MagnitudeMask(all, sparsity, absl::MakeSpan(expected)), IsOk());
    for (const auto& mask : masks) got.insert(got.end(), mask.begin(), mask.end());
    EXPECT_EQ(got, expected);
    EXPECT_EQ(CountZeros(got), PrunedCount(all.size(), sparsity));
    if (sparsity == 0.4) {
      // The 0.01 layer goes first, and the x10 layer ends far less sparse
      // than the x1 layer (about 11% against 84%).
      EXPECT_EQ(CountZeros(masks[3]), 64);
      EXPECT_LT(CountZeros(masks[2]) / 200.0, 0.5 * CountZeros(masks[0]) / 37.0);
    }
  }
}

TEST(GlobalMagnitudeMaskTest, RejectsBadArguments) {
  const std::vector<float> a = {1.0f, 2.0f};
  std::vector<uint8_t> mask(2), short_mask(1);
  const std::vector<absl::Span<const float>> weights = {a, a};
  EXPECT_THAT(GlobalMagnitudeMask(weights, 1.5, {absl::MakeSpan(mask), absl::MakeSpan(mask)}),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("[0, 1]")));
  EXPECT_THAT(GlobalMagnitudeMask(weights, 0.5, {absl::MakeSpan(mask)}),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("1 masks for 2")));
  EXPECT_THAT(
      GlobalMagnitudeMask(weights, 0.5, {absl::MakeSpan(mask), absl::MakeSpan(short_mask)}),
      StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("mask 1 has 1 entries")));
}

}  // namespace
}  // namespace edgecompress::pruning
