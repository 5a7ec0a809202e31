#include "tools/compress/stored_size.h"

#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::compress {
namespace {

using ::testing::HasSubstr;

TEST(StoredSizeTest, CountsIndicesCodebooksAndBiases) {
  const std::vector<LayerStorage> layers = {
      {.layer = "conv1", .weights = 150, .biases = 6},  // fp32
      {.layer = "conv2", .weights = 2400, .biases = 16, .bits = 1, .codebook_entries = 1},
      {.layer = "fc1", .weights = 30, .biases = 2, .bits = 4, .codebook_entries = 16},
  };
  absl::StatusOr<StoredSize> size = ComputeStoredSize(layers);
  ASSERT_THAT(size, IsOk());
  EXPECT_EQ(size->dense_bytes, 4 * (156 + 2416 + 32));
  // 624 + (300 + 4 + 64) + (15 + 64 + 8).
  EXPECT_EQ(size->stored_bytes, 624 + 368 + 87);
  EXPECT_DOUBLE_EQ(size->compression, 4.0 * 2604 / 1079);
  EXPECT_DOUBLE_EQ(size->memory_reduction, 32.0 * 2604 / (32 * 156 + 2416 + 4 * 32));
}

// The thesis's QuantNet figure (Table 4.6, 30.42x; Table 4.1's counts, which
// tests/quantnet_memory_reduction_test.cc derives from the model): conv2,
// linear1 and linear2 binary, conv1 and linear3 fp32.
TEST(StoredSizeTest, ThesisMemoryReduction) {
  const std::vector<LayerStorage> layers = {
      {.layer = "conv1", .weights = 864, .biases = 32},
      {.layer = "conv2", .weights = 18432, .biases = 64, .bits = 1, .codebook_entries = 1},
      {.layer = "linear1", .weights = 524288, .biases = 128, .bits = 1, .codebook_entries = 1},
      {.layer = "linear2", .weights = 2048, .biases = 16, .bits = 1, .codebook_entries = 1},
      {.layer = "linear3", .weights = 16, .biases = 1},
  };
  absl::StatusOr<StoredSize> size = ComputeStoredSize(layers);
  ASSERT_THAT(size, IsOk());
  EXPECT_NEAR(size->memory_reduction, 30.42, 0.005);
}

TEST(StoredSizeTest, IndexBits) {
  EXPECT_EQ(IndexBits(1), 1);
  EXPECT_EQ(IndexBits(2), 1);
  EXPECT_EQ(IndexBits(3), 2);
  EXPECT_EQ(IndexBits(4), 2);
  EXPECT_EQ(IndexBits(16), 4);
  EXPECT_EQ(IndexBits(17), 5);
}

TEST(StoredSizeTest, RejectsBadLayers) {
  EXPECT_THAT(ComputeStoredSize({{.layer = "fc", .weights = 4, .bits = 0}}).status().message(),
              HasSubstr("layer 'fc': 0 bits"));
  EXPECT_THAT(
      ComputeStoredSize({{.layer = "fc", .weights = 4, .codebook_entries = 2}}).status().message(),
      HasSubstr("codebook beside 32-bit"));
  EXPECT_THAT(ComputeStoredSize({{.layer = "fc", .weights = -1}}).status().message(),
              HasSubstr("negative"));
  EXPECT_THAT(ComputeStoredSize({}).status().message(), HasSubstr("no weights"));
}

}  // namespace
}  // namespace edgecompress::compress
