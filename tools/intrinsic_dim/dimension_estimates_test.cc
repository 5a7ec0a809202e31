#include "tools/intrinsic_dim/dimension_estimates.h"

#include <cmath>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::intrinsic_dim_tool {
namespace {

using ::testing::HasSubstr;

// 300 samples of a [N, 2, 2, 2] activation whose two channels are equal at
// every pixel and whose 8 values per sample are otherwise independent:
// TwoNN sees 4-dimensional samples (channel 1 copies channel 0, so 4 free
// values of 8), PCA sees 1200 channel vectors (c, c) of dimension 2 with one
// direction of variance.
TEST(DimensionEstimatesTest, ConvMapsUseFlattenedSamplesAndChannelVectors) {
  std::mt19937 rng(11);
  std::normal_distribution<float> normal;
  std::vector<float> values;
  for (int n = 0; n < 300; ++n) {
    float pixels[4];
    for (float& p : pixels) p = normal(rng);
    for (int c = 0; c < 2; ++c) values.insert(values.end(), pixels, pixels + 4);
  }
  const std::vector<size_t> shape = {300, 2, 2, 2};
  absl::StatusOr<DimensionEstimates> e = EstimateDimensions(values, shape);
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->n_points, 300);
  EXPECT_EQ(e->dimension, 8);
  EXPECT_EQ(e->pca, 1);
  EXPECT_EQ(e->pca_points, 1200);
  // Gaussian in 4 dimensions, N = 300: the MLE's spread is about 4 / sqrt(300).
  EXPECT_NEAR(e->twonn_ml, 4.0, 0.8);
  EXPECT_EQ(e->duplicates, 0);
}

TEST(DimensionEstimatesTest, DuplicatesAreAnErrorUnlessSkipped) {
  const std::vector<float> values = {0, 1, 2, 3, 0, 1, 5, 1, 7, 4, 1, 9};
  const std::vector<size_t> shape = {6, 2};
  EXPECT_THAT(EstimateDimensions(values, shape).status().message(),
              HasSubstr("point 0 has a duplicate"));
  absl::StatusOr<DimensionEstimates> e =
      EstimateDimensions(values, shape, {.skip_duplicates = true});
  ASSERT_THAT(e, IsOk());
  EXPECT_EQ(e->duplicates, 2);
}

TEST(DimensionEstimatesTest, RejectsBadShapes) {
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  EXPECT_THAT(EstimateDimensions(values, std::vector<size_t>{6}).status().message(),
              HasSubstr("rank 1"));
  EXPECT_THAT(EstimateDimensions(values, std::vector<size_t>{4, 2}).status().message(),
              HasSubstr("do not fill shape [4, 2]"));
  EXPECT_EQ(EstimateDimensions(values, std::vector<size_t>{2, 3}).status().code(),
            absl::StatusCode::kInvalidArgument);  // fewer than 3 points
  const std::vector<float> nan = {0, 1, 2, NAN, 4, 5};
  EXPECT_THAT(EstimateDimensions(nan, std::vector<size_t>{3, 2}).status().message(),
              HasSubstr("points[1][1] is nan"));
}

}  // namespace
}  // namespace edgecompress::intrinsic_dim_tool
