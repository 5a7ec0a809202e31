#include "sweep/gaussian_process.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

TEST(MaternKernelTest, GoldenValues) {
  // k(r) = (1 + sqrt5 r + 5 r^2 / 3) exp(-sqrt5 r): r = 0 -> 1; r = 1 ->
  // (1 + 2.23607 + 1.66667) e^-2.23607 = 4.90273 * 0.106878 = 0.523994.
  MaternHyperparameters hyper{Eigen::VectorXd::Constant(2, 2.0), 1.0, 0.0};
  Eigen::MatrixXd a(1, 2), b(2, 2);
  a << 0, 0;
  b << 0, 0, 2, 0;  // distance 2 over length scale 2: r = 1
  const Eigen::MatrixXd k = MaternKernel(a, b, hyper);
  EXPECT_NEAR(k(0, 0), 1.0, 1e-12);
  EXPECT_NEAR(k(0, 1), 0.523994, 1e-6);
}

TEST(ExpectedImprovementTest, GoldenValues) {
  // At mean == best: EI = sigma * phi(0) = 0.398942 sigma.
  EXPECT_NEAR(ExpectedImprovement(1.0, 2.0, 1.0, 0.0), 2 * 0.398942, 1e-6);
  EXPECT_DOUBLE_EQ(ExpectedImprovement(3.0, 0.0, 1.0, 0.5), 1.5);
  EXPECT_DOUBLE_EQ(ExpectedImprovement(0.0, 0.0, 1.0, 0.0), 0.0);
  // Monotone in the mean and in sigma.
  EXPECT_GT(ExpectedImprovement(1.1, 1.0, 1.0, 0.0), ExpectedImprovement(1.0, 1.0, 1.0, 0.0));
  EXPECT_GT(ExpectedImprovement(1.0, 1.1, 1.0, 0.0), ExpectedImprovement(1.0, 1.0, 1.0, 0.0));
}

TEST(GaussianProcessTest, FitsASmoothFunctionAndIsSureWhereItLooked) {
  std::mt19937_64 rng(testing::UnitTest::GetInstance()->random_seed());
  std::uniform_real_distribution<double> unit(0, 1);
  constexpr int kN = 40;
  Eigen::MatrixXd x(kN, 2);
  Eigen::VectorXd y(kN);
  auto f = [](double a, double b) { return std::sin(6 * a) + 0.5 * b; };
  for (int i = 0; i < kN; ++i) {
    x(i, 0) = unit(rng);
    x(i, 1) = unit(rng);
    y[i] = f(x(i, 0), x(i, 1));
  }
  absl::StatusOr<GaussianProcess> gp = GaussianProcess::Fit(x, y);
  ASSERT_THAT(gp, IsOk());
  // The fit raised the likelihood above the starting point.
  MaternHyperparameters start{Eigen::VectorXd::Constant(2, 0.5), 1.0, 1e-2};
  const Eigen::VectorXd standard = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  EXPECT_GE(gp->log_marginal_likelihood(), LogMarginalLikelihood(x, standard, start));
  // sin(6a) varies faster along a than 0.5 b along b.
  EXPECT_LT(gp->hyperparameters().length_scales[0], gp->hyperparameters().length_scales[1]);
  Eigen::MatrixXd probe(3, 2);
  probe << 0.3, 0.4, 0.7, 0.2, 0.5, 0.9;
  Eigen::VectorXd mean, stddev;
  gp->Predict(probe, &mean, &stddev);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(mean[i], f(probe(i, 0), probe(i, 1)), 0.1) << i;
  gp->Predict(x.topRows(3), &mean, &stddev);
  Eigen::MatrixXd far(1, 2);
  far << 3, 3;
  Eigen::VectorXd far_mean, far_stddev;
  gp->Predict(far, &far_mean, &far_stddev);
  EXPECT_LT(stddev.maxCoeff(), far_stddev[0]);
}

TEST(GaussianProcessTest, BadInputIsInvalidArgument) {
  EXPECT_THAT(GaussianProcess::Fit(Eigen::MatrixXd(0, 2), Eigen::VectorXd(0)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Eigen::MatrixXd x(1, 1);
  x << NAN;
  EXPECT_THAT(GaussianProcess::Fit(x, Eigen::VectorXd::Ones(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::sweep
