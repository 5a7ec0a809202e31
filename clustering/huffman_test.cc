#include "clustering/huffman.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace clustering {
namespace {

using ::testing::HasSubstr;

// Cormen et al., Introduction to Algorithms, Sec. 16.3, Fig. 16.5: counts
// a:45 b:13 c:12 d:16 e:9 f:5 (thousands) give lengths 1, 3, 3, 3, 4, 4 and
// 224 bits per 100 characters.
TEST(HuffmanTest, CormenFigure165) {
  const std::vector<int64_t> counts = {45, 13, 12, 16, 9, 5};
  absl::StatusOr<std::vector<int>> lengths = HuffmanCodeLengths(counts);
  ASSERT_THAT(lengths, IsOk());
  EXPECT_EQ(*lengths, (std::vector<int>{1, 3, 3, 3, 4, 4}));
  EXPECT_EQ(*HuffmanCodedBits(counts), 224);
}

// The table stops at the last used symbol: 16 + 5 * 3 bits here.
TEST(HuffmanTest, TableCoversTheUsedExtent) {
  EXPECT_EQ(*HuffmanTableBits(std::vector<int64_t>{4, 0, 1, 0, 0, 0}), 16 + 5 * 3);
  EXPECT_EQ(*HuffmanTableBits(std::vector<int64_t>{0, 0}), 16);
  EXPECT_EQ(HuffmanTableBits(std::vector<int64_t>{-1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HuffmanTest, EdgeCases) {
  EXPECT_EQ(*HuffmanCodeLengths(std::vector<int64_t>{}), std::vector<int>{});
  EXPECT_EQ(*HuffmanCodeLengths(std::vector<int64_t>{0, 7, 0}), (std::vector<int>{0, 1, 0}));
  EXPECT_EQ(*HuffmanCodedBits(std::vector<int64_t>{0, 7, 0}), 7);
  EXPECT_EQ(*HuffmanCodeLengths(std::vector<int64_t>{3, 3}), (std::vector<int>{1, 1}));
  EXPECT_THAT(HuffmanCodeLengths(std::vector<int64_t>{1, -2}).status().message(),
              HasSubstr("symbol 1 is -2"));
}

// On random counts: the code is complete (Kraft sum exactly 1) and its mean
// length is within Shannon's bounds H <= L < H + 1.
TEST(HuffmanTest, CompleteAndWithinTheEntropyBound) {
  std::mt19937 rng(17);
  std::geometric_distribution<int> geometric(0.02);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<int64_t> counts(2 + trial % 40);
    for (int64_t& c : counts) c = 1 + geometric(rng);
    absl::StatusOr<std::vector<int>> lengths = HuffmanCodeLengths(counts);
    ASSERT_THAT(lengths, IsOk());
    double kraft = 0.0, total = 0.0, entropy = 0.0, bits = 0.0;
    for (int64_t c : counts) total += c;
    for (size_t i = 0; i < counts.size(); ++i) {
      kraft += std::ldexp(1.0, -(*lengths)[i]);
      entropy -= counts[i] / total * std::log2(counts[i] / total);
      bits += counts[i] * (*lengths)[i];
    }
    EXPECT_DOUBLE_EQ(kraft, 1.0) << "trial " << trial;
    EXPECT_GE(bits / total, entropy - 1e-9) << "trial " << trial;
    EXPECT_LT(bits / total, entropy + 1.0) << "trial " << trial;
  }
}

}  // namespace
}  // namespace clustering
}  // namespace edgecompress
