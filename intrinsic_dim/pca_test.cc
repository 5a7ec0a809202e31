#include "intrinsic_dim/pca.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace intrinsic_dim {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Four points (+-3, 0, 0), (0, +-1, 0), mean 0. Covariance by hand
// (divisor n - 1 = 3): diag(18/3, 2/3, 0) = diag(6, 2/3, 0), so the
// explained ratios are 6 / (20/3) = 0.9, 0.1 and 0.
TEST(PcaTest, ExplainedRatiosByHand) {
  const std::vector<float> points = {3, 0, 0, -3, 0, 0, 0, 1, 0, 0, -1, 0};
  absl::StatusOr<PcaDimension> pca = EstimatePcaDimension(points, 4, 3, 0.95);
  ASSERT_THAT(pca, IsOk());
  EXPECT_THAT(pca->explained_ratio,
              ElementsAre(DoubleNear(0.9, 1e-12), DoubleNear(0.1, 1e-12), DoubleNear(0, 1e-12)));
  EXPECT_EQ(pca->num_components, 2);
  EXPECT_EQ(EstimatePcaDimension(points, 4, 3, 0.85)->num_components, 1);
  // All the variance: the last non-zero component, never the zero one.
  EXPECT_EQ(EstimatePcaDimension(points, 4, 3, 1.0)->num_components, 2);
}

// Points uniform in a 5-D cube, rotated into 64 dimensions: five equal
// variances, so 95% of the variance needs all five components and 75% needs
// four (4/5 = 0.8 >= 0.75, 3/5 < 0.75), up to sampling noise in the
// variances (N = 2000: about 3% each).
TEST(PcaTest, RotatedCubeHasItsDimension) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  const Eigen::MatrixXf rotation =
      Eigen::MatrixXf::NullaryExpr(64, 64, [&] { return uniform(rng); }).householderQr()
          .householderQ();
  auto make = [&](int64_t n) {
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> cube =
        Eigen::MatrixXf::Zero(n, 64);
    for (int64_t i = 0; i < n; ++i) {
      for (int j = 0; j < 5; ++j) cube(i, j) = uniform(rng);
    }
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rotated =
        cube * rotation.transpose();
    return std::vector<float>(rotated.data(), rotated.data() + rotated.size());
  };
  const std::vector<float> many = make(2000);
  EXPECT_EQ(EstimatePcaDimension(many, 2000, 64, 0.95)->num_components, 5);
  EXPECT_EQ(EstimatePcaDimension(many, 2000, 64, 0.75)->num_components, 4);

  // 40 points in 64 dimensions take the 40 x 40 Gram path: its spectrum must
  // be the 64 x 64 covariance's, computed here directly.
  const std::vector<float> few(many.begin(), many.begin() + 40 * 64);
  absl::StatusOr<PcaDimension> gram = EstimatePcaDimension(few, 40, 64, 0.95);
  ASSERT_THAT(gram, IsOk());
  Eigen::MatrixXd x = Eigen::Map<const Eigen::Matrix<float, 40, 64, Eigen::RowMajor>>(few.data())
                          .cast<double>();
  x.rowwise() -= x.colwise().mean();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> direct(x.transpose() * x, Eigen::EigenvaluesOnly);
  Eigen::VectorXd eigenvalues = direct.eigenvalues().reverse().cwiseMax(0.0);
  eigenvalues /= eigenvalues.sum();
  ASSERT_EQ(gram->explained_ratio.size(), 40u);
  for (int i = 0; i < 40; ++i) EXPECT_NEAR(gram->explained_ratio[i], eigenvalues(i), 1e-9) << i;
}

TEST(PcaTest, RejectsBadInput) {
  const std::vector<float> same = {1, 2, 1, 2, 1, 2};
  EXPECT_THAT(EstimatePcaDimension(same, 3, 2).status().message(), HasSubstr("are equal"));
  const std::vector<float> points = {0, 1, 2, NAN};
  EXPECT_THAT(EstimatePcaDimension(points, 2, 2).status().message(),
              HasSubstr("points[1][1] is nan"));
  EXPECT_EQ(EstimatePcaDimension(points, 1, 4).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(EstimatePcaDimension(points, 2, 3).status().code(), absl::StatusCode::kInvalidArgument);
  const std::vector<float> fine = {0, 1, 2, 3};
  EXPECT_THAT(EstimatePcaDimension(fine, 2, 2, 0.0).status().message(), HasSubstr("(0, 1]"));
  EXPECT_THAT(EstimatePcaDimension(fine, 2, 2, 1.5).status().message(), HasSubstr("(0, 1]"));
}

// Batch 2, 3 channels, 1 x 2 pixels: value = 100 b + 10 c + p.
TEST(ChannelVectorsTest, OneRowPerPixel) {
  std::vector<float> nchw;
  for (int b = 0; b < 2; ++b) {
    for (int c = 0; c < 3; ++c) {
      for (int p = 0; p < 2; ++p) nchw.push_back(100 * b + 10 * c + p);
    }
  }
  absl::StatusOr<std::vector<float>> rows = ChannelVectors(nchw, 2, 3, 1, 2);
  ASSERT_THAT(rows, IsOk());
  EXPECT_EQ(*rows, (std::vector<float>{0, 10, 20, 1, 11, 21, 100, 110, 120, 101, 111, 121}));
  EXPECT_EQ(ChannelVectors(nchw, 2, 3, 2, 2).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ChannelVectors(nchw, 0, 3, 1, 2).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace intrinsic_dim
}  // namespace edgecompress
