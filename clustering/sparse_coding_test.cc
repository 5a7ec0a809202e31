#include "clustering/sparse_coding.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace clustering {
namespace {

using ::testing::HasSubstr;

// Deep Compression Fig. 2's positions 1, 4, 15 with 3-bit gaps (see the
// header for the convention): distances 2, 3, 8 (filler at 12), 3.
TEST(RelativeIndexTest, DeepCompressionFigure2) {
  absl::StatusOr<RelativeIndex> index = EncodeRelativeIndex(std::vector<int64_t>{1, 4, 15}, 3);
  ASSERT_THAT(index, IsOk());
  EXPECT_EQ(index->gaps, (std::vector<uint32_t>{1, 2, 7, 2}));
  EXPECT_EQ(index->filler, (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(index->num_fillers, 1);
  // Position 0 and a distance of exactly 2^b need no filler.
  index = EncodeRelativeIndex(std::vector<int64_t>{0, 8}, 3);
  EXPECT_EQ(index->gaps, (std::vector<uint32_t>{0, 7}));
  EXPECT_EQ(index->num_fillers, 0);
  EXPECT_THAT(EncodeRelativeIndex(std::vector<int64_t>{3, 3}, 3).status().message(),
              HasSubstr("not after 3"));
  EXPECT_EQ(EncodeRelativeIndex(std::vector<int64_t>{}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// 12 weights, non-zeros at 0, 1, 11, 2-bit gaps (distances up to 4), k = 2,
// clusters 0, 1, 1. By hand:
//   entries: d = 1, 1, then 10 > 4: fillers at 5 and 9, then d = 2;
//   gap symbols (d - 1): 0, 0, 3, 3, 1 -> counts {2, 1, 0, 2} -> Huffman
//     lengths {2, 2, 0, 1} -> 2*2 + 1*2 + 2*1 = 8 bits;
//   cluster symbols 0, 1, 2 (filler), 2, 1 -> counts {1, 2, 2} -> lengths
//     {2, 2, 1} -> 2 + 4 + 2 = 8 bits;
//   codebook 2 * 32 = 64; tables (16 + 5 * 4) + (16 + 5 * 3) = 67 (both
//   alphabets are used up to their last symbol); total 147 bits;
//   fixed width: 5 entries * (2 + 2) + 64 = 84; dense 32 * 12 = 384.
TEST(SparseCodedSizeTest, ByHand) {
  std::vector<float> weights(12, 0.0f);
  weights[0] = 0.5f;
  weights[1] = -0.25f;
  weights[11] = 0.75f;
  const std::vector<uint16_t> clusters = {0, 1, 1};
  absl::StatusOr<LayerCodedSize> size = SparseCodedSize(weights, clusters, 2, {.index_bits = 2});
  ASSERT_THAT(size, IsOk());
  EXPECT_EQ(size->weights, 12);
  EXPECT_EQ(size->nonzeros, 3);
  EXPECT_EQ(size->fillers, 2);
  EXPECT_EQ(size->index_bits, 8);
  EXPECT_EQ(size->cluster_bits, 8);
  EXPECT_EQ(size->codebook_bits, 64);
  EXPECT_EQ(size->table_bits, 67);
  EXPECT_EQ(size->total_bits, 147);
  EXPECT_EQ(size->fixed_width_bits, 84);
  EXPECT_EQ(size->dense_bits, 384);
}

TEST(SparseCodedSizeTest, RejectsMismatches) {
  const std::vector<float> weights = {0.0f, 1.0f, 2.0f};
  EXPECT_THAT(SparseCodedSize(weights, std::vector<uint16_t>{0}, 2).status().message(),
              HasSubstr("2 non-zero weights but 1 cluster"));
  EXPECT_THAT(SparseCodedSize(weights, std::vector<uint16_t>{0, 2}, 2).status().message(),
              HasSubstr("cluster index 2"));
  EXPECT_EQ(SparseCodedSize(weights, std::vector<uint16_t>{0, 0}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace clustering
}  // namespace edgecompress
