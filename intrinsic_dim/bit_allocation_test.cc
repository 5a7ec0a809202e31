#include "intrinsic_dim/bit_allocation.h"

#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace intrinsic_dim {
namespace {

using ::testing::HasSubstr;

// Five layers with IDs 10, 40, 35, 12, 3 (a hunchback, as the thesis's
// Fig. 3.3): criteria -, 30, 5, 23, 9. With delta 20: layer 1 (+30) and
// layer 3 (-23: a drop counts too) are significant; 0 and 4 are the
// boundary; layer 2 is binary.
TEST(BitAllocationTest, AbsoluteDifferenceAgainstDelta) {
  absl::StatusOr<std::vector<LayerPrecision>> layers = AllocateBits({10, 40, 35, 12, 3});
  ASSERT_THAT(layers, IsOk());
  ASSERT_EQ(layers->size(), 5u);
  EXPECT_FALSE((*layers)[0].criterion.has_value());
  std::vector<double> criteria;
  std::vector<int> bits;
  std::vector<bool> significant;
  for (const LayerPrecision& layer : *layers) {
    if (layer.criterion) criteria.push_back(*layer.criterion);
    bits.push_back(layer.bits);
    significant.push_back(layer.significant);
  }
  EXPECT_EQ(criteria, (std::vector<double>{30, 5, 23, 9}));
  EXPECT_EQ(bits, (std::vector<int>{32, 2, 1, 2, 32}));
  EXPECT_EQ(significant, (std::vector<bool>{false, true, false, true, false}));

  // Strictly greater: a criterion equal to delta is not significant.
  layers = AllocateBits({10, 30, 50}, {.delta = 20});
  EXPECT_EQ((*layers)[1].bits, 1);
  // The last layer keeps boundary bits even with a large criterion.
  EXPECT_EQ((*layers)[2].bits, 32);
}

TEST(BitAllocationTest, RejectsBadInput) {
  EXPECT_THAT(AllocateBits({5}).status().message(), HasSubstr("at least a first and a last"));
  EXPECT_THAT(AllocateBits({5, -1}).status().message(), HasSubstr("layer 1"));
  EXPECT_THAT(AllocateBits({5, 6}, {.delta = -1}).status().message(), HasSubstr("delta"));
  EXPECT_THAT(AllocateBits({5, 6}, {.significant_bits = 0}).status().message(),
              HasSubstr("significant_bits is 0"));
}

// 2 layers of 100 parameters at 32 and 1 bits: 32 * 200 / (3200 + 100).
TEST(MemoryReductionTest, RatioOverAllParameters) {
  absl::StatusOr<double> ratio = MemoryReduction({{100, 32}, {100, 1}});
  ASSERT_THAT(ratio, IsOk());
  EXPECT_DOUBLE_EQ(*ratio, 6400.0 / 3300.0);
  EXPECT_DOUBLE_EQ(*MemoryReduction({{7, 32}}), 1.0);
  EXPECT_EQ(MemoryReduction({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(MemoryReduction({{10, 33}}).status().message(), HasSubstr("layer 0"));
  EXPECT_THAT(MemoryReduction({{-1, 8}}).status().message(), HasSubstr("-1 parameters"));
}

}  // namespace
}  // namespace intrinsic_dim
}  // namespace edgecompress
