#include "intrinsic_dim/two_nn.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace intrinsic_dim {
namespace {

using ::testing::DoubleNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

// Four points on a line at 0, 1, 3, 7 (distances by hand):
//   0: r1 = 1, r2 = 3 -> mu = 3      1: r1 = 1, r2 = 2 -> mu = 2
//   3: r1 = 2, r2 = 3 -> mu = 1.5    7: r1 = 4, r2 = 6 -> mu = 1.5
// MLE: (4 - 1) / ln(3 * 2 * 1.5 * 1.5) = 3 / ln 13.5 = 1.1526537.
// Fit: sorted mu = 1.5, 1.5, 2, 3; floor(4 * 0.9) = 3 kept, F = 1/4, 2/4, 3/4:
//   x = ln 1.5, ln 1.5, ln 2;  y = ln 4/3, ln 2, ln 4;  sum xy / sum xx = 1.6788217.
constexpr double kLineMle = 1.152653740005036;
constexpr double kLineFit = 1.6788216825910451;

TEST(TwoNNTest, PointsOnALineGolden) {
  const std::vector<float> points = {0.0f, 1.0f, 3.0f, 7.0f};
  absl::StatusOr<NeighborDistances> distances = TwoNearestNeighborDistances(points, 4, 1);
  ASSERT_THAT(distances, IsOk());
  EXPECT_EQ(distances->first, (std::vector<double>{1, 1, 2, 4}));
  EXPECT_EQ(distances->second, (std::vector<double>{3, 2, 3, 6}));

  absl::StatusOr<TwoNNEstimate> estimate = EstimateTwoNN(points, 4, 1);
  ASSERT_THAT(estimate, IsOk());
  EXPECT_NEAR(estimate->mle_dimension, kLineMle, 1e-12);
  EXPECT_NEAR(estimate->fit_dimension, kLineFit, 1e-12);
  EXPECT_EQ(estimate->num_used, 4);
  EXPECT_EQ(estimate->num_duplicates, 0);
  EXPECT_EQ(estimate->num_fitted, 3);
}

// The same line in 3-D, along (2, 3, 6) / 7 and shifted: the same numbers up
// to float rounding of the coordinates.
TEST(TwoNNTest, RotatedLineGivesTheSameEstimate) {
  std::vector<float> points;
  for (float t : {0.0f, 1.0f, 3.0f, 7.0f}) {
    points.push_back(10.0f + t * 2.0f / 7.0f);
    points.push_back(-5.0f + t * 3.0f / 7.0f);
    points.push_back(20.0f + t * 6.0f / 7.0f);
  }
  absl::StatusOr<TwoNNEstimate> estimate = EstimateTwoNN(points, 4, 3);
  ASSERT_THAT(estimate, IsOk());
  EXPECT_NEAR(estimate->mle_dimension, kLineMle, 1e-4);
  EXPECT_NEAR(estimate->fit_dimension, kLineFit, 1e-4);
}

// Duplicates: 0 appears twice. Both copies have r1 = 0 and are skipped; point
// 1 sees both copies at distance 1, so mu = 1; 3 and 7 keep mu = 1.5.
// MLE: (3 - 1) / (2 ln 1.5) = 2.4663035.
// Fit: sorted mu = 1, 1.5, 1.5; floor(3 * 0.9) = 2 kept, F = 1/3, 2/3:
//   x = 0, ln 1.5;  y = ln 1.5, ln 3;  slope = ln 3 / ln 1.5 = 2.7095113.
TEST(TwoNNTest, SkipsDuplicatesAndCountsThem) {
  const std::vector<float> points = {0.0f, 1.0f, 0.0f, 3.0f, 7.0f};
  absl::StatusOr<TwoNNEstimate> estimate = EstimateTwoNN(points, 5, 1);
  ASSERT_THAT(estimate, IsOk());
  EXPECT_EQ(estimate->num_duplicates, 2);
  EXPECT_EQ(estimate->num_used, 3);
  EXPECT_EQ(estimate->num_fitted, 2);
  EXPECT_NEAR(estimate->mle_dimension, 2.4663034623764317, 1e-12);
  EXPECT_NEAR(estimate->fit_dimension, 2.709511291351455, 1e-12);
  EXPECT_TRUE(std::isfinite(estimate->mle_dimension));
}

// Points on a d-dimensional linear subspace of D = 64: isotropic Gaussian
// coordinates in a random orthonormal basis, shifted off the origin. Both
// estimates must be within 15% of d. Over seeds 1..30 the d = 10 MLE ranged
// over [9.18, 10.05] (the MLE's standard deviation is about d / sqrt(N) =
// 2.2% of d). Gaussian rather than uniform coordinates: uniform points in the
// cube [0, 1]^d gave a mean of 8.6 for d = 10 (4.65 for d = 5) over the same
// seeds, because points near the cube's faces see too few neighbours; TwoNN
// assumes local uniformity around every point, which a hard boundary breaks.
TEST(TwoNNTest, RecoversTheDimensionOfALinearSubspace) {
  const int seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE(absl::StrCat("--gtest_random_seed=", seed));
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  constexpr int kPoints = 2000, kAmbient = 64;
  for (int d : {2, 5, 10}) {
    SCOPED_TRACE(absl::StrCat("d=", d));
    Eigen::MatrixXd gaussian(kAmbient, d);
    for (int i = 0; i < gaussian.size(); ++i) gaussian.data()[i] = normal(rng);
    const Eigen::MatrixXd basis =
        gaussian.householderQr().householderQ() * Eigen::MatrixXd::Identity(kAmbient, d);
    Eigen::VectorXd offset(kAmbient);
    for (int i = 0; i < kAmbient; ++i) offset[i] = 3.0 * normal(rng);

    std::vector<float> points(kPoints * kAmbient);
    Eigen::VectorXd latent(d);
    for (int p = 0; p < kPoints; ++p) {
      for (int i = 0; i < d; ++i) latent[i] = normal(rng);
      const Eigen::VectorXd x = basis * latent + offset;
      for (int i = 0; i < kAmbient; ++i) points[p * kAmbient + i] = static_cast<float>(x[i]);
    }
    absl::StatusOr<TwoNNEstimate> estimate = EstimateTwoNN(points, kPoints, kAmbient);
    ASSERT_THAT(estimate, IsOk());
    EXPECT_EQ(estimate->num_duplicates, 0);
    EXPECT_EQ(estimate->num_used, kPoints);
    EXPECT_EQ(estimate->num_fitted, kPoints * 9 / 10);
    EXPECT_NEAR(estimate->mle_dimension, d, 0.15 * d);
    EXPECT_NEAR(estimate->fit_dimension, d, 0.15 * d);
  }
}

// Optimized vs reference: brute-force distances in double on random shapes,
// some larger than one 256-point tile, with duplicated and near-duplicate rows.
TEST(TwoNNTest, NeighborDistancesMatchBruteForce) {
  const int seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE(absl::StrCat("--gtest_random_seed=", seed));
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  struct Shape {
    int64_t num_points, dimension;
  };
  for (const Shape shape :
       {Shape{3, 1}, Shape{5, 2}, Shape{40, 7}, Shape{257, 3}, Shape{300, 33}, Shape{600, 16}}) {
    const int64_t n = shape.num_points, dim = shape.dimension;
    SCOPED_TRACE(absl::StrCat("n=", n, " dimension=", dim));
    std::vector<float> points(n * dim);
    for (float& x : points) x = normal(rng);
    if (n >= 40) {
      // Row 1 duplicates row 0; row 2 is a near-duplicate of row 3.
      std::copy(points.begin(), points.begin() + dim, points.begin() + dim);
      for (int64_t k = 0; k < dim; ++k) points[2 * dim + k] = points[3 * dim + k] + 1e-3f;
    }
    absl::StatusOr<NeighborDistances> distances = TwoNearestNeighborDistances(points, n, dim);
    ASSERT_THAT(distances, IsOk());

    std::vector<double> first(n), second(n);
    for (int64_t i = 0; i < n; ++i) {
      double best = std::numeric_limits<double>::infinity(), next = best;
      for (int64_t j = 0; j < n; ++j) {
        if (j == i) continue;
        double sum = 0.0;
        for (int64_t k = 0; k < dim; ++k) {
          const double diff = static_cast<double>(points[i * dim + k]) - points[j * dim + k];
          sum += diff * diff;
        }
        const double distance = std::sqrt(sum);
        if (distance < best) {
          next = best;
          best = distance;
        } else if (distance < next) {
          next = distance;
        }
      }
      first[i] = best;
      second[i] = next;
    }
    EXPECT_THAT(distances->first, Pointwise(DoubleNear(1e-9), first));
    EXPECT_THAT(distances->second, Pointwise(DoubleNear(1e-9), second));
    if (n >= 40) {
      EXPECT_EQ(distances->first[0], 0.0);
      EXPECT_EQ(distances->first[1], 0.0);
      EXPECT_GT(distances->first[2], 0.0);
    }
  }
}

TEST(TwoNNTest, RejectsBadPoints) {
  const std::vector<float> points(12, 1.0f);
  EXPECT_THAT(EstimateTwoNN(points, 2, 6),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_points is 2")));
  EXPECT_THAT(EstimateTwoNN(points, 12, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dimension is 0")));
  EXPECT_THAT(EstimateTwoNN(points, 5, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("points has 12 values")));
  std::vector<float> with_nan = points;
  with_nan[7] = std::nanf("");
  EXPECT_THAT(EstimateTwoNN(with_nan, 4, 3),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("points[2][1] is nan")));
  // All four points equal: every r1 is 0.
  EXPECT_THAT(EstimateTwoNN(points, 4, 3),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("only 0 of 4 points have r1 > 0 (4 are duplicates)")));
  // The corners of a square: every point has r1 = r2 = 1.
  EXPECT_THAT(EstimateTwoNN({0, 0, 1, 0, 0, 1, 1, 1}, 4, 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("all 4 ratios")));
  // 20 equally spaced points: 18 ratios of 1 and 2 of 2 (the ends); the MLE
  // exists but the fit keeps only the 18 ones.
  std::vector<float> grid(20);
  for (int i = 0; i < 20; ++i) grid[i] = static_cast<float>(i);
  EXPECT_THAT(EstimateTwoNN(grid, 20, 1),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("the 18 smallest")));
  EXPECT_THAT(EstimateTwoNN({0, 1, 3, 7}, 4, 1, {/*discard_fraction=*/1.0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("discard_fraction is 1")));
  EXPECT_THAT(EstimateTwoNN({0, 1, 3, 7}, 4, 1, {/*discard_fraction=*/0.8}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("leaves no ratio")));
}

TEST(TwoNNTest, RejectsBadDistances) {
  EXPECT_THAT(EstimateTwoNNFromDistances({1, 1, 1}, {2, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("first has 3")));
  EXPECT_THAT(EstimateTwoNNFromDistances({1, 2, 1}, {2, 1, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("point 1 has r1 = 2")));
  EXPECT_THAT(EstimateTwoNNFromDistances({-1, 1, 1}, {2, 2, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("point 0")));
  EXPECT_THAT(
      EstimateTwoNNFromDistances({1, 1, std::numeric_limits<double>::infinity()}, {2, 2, 2}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("point 2")));
  // discard_fraction 0 still leaves out the largest ratio (F = 1 there).
  absl::StatusOr<TwoNNEstimate> estimate =
      EstimateTwoNNFromDistances({1, 1, 2, 4}, {3, 2, 3, 6}, {/*discard_fraction=*/0.0});
  ASSERT_THAT(estimate, IsOk());
  EXPECT_EQ(estimate->num_fitted, 3);
  EXPECT_NEAR(estimate->fit_dimension, kLineFit, 1e-12);
}

}  // namespace
}  // namespace intrinsic_dim
}  // namespace edgecompress
