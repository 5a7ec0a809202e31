#include "lowrank/factorization.h"

#include <cmath>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::lowrank {
namespace {

using ::testing::HasSubstr;

std::vector<float> RandomMatrix(int rows, int cols, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(rows) * cols);
  for (float& x : w) x = normal(rng);
  return w;
}

std::vector<float> Multiply(const LowRankFactors& f) {
  std::vector<float> w(static_cast<size_t>(f.rows) * f.cols, 0.0f);
  for (int i = 0; i < f.rows; ++i) {
    for (int k = 0; k < f.rank; ++k) {
      for (int j = 0; j < f.cols; ++j) w[i * f.cols + j] += f.left[i * f.rank + k] * f.right[k * f.cols + j];
    }
  }
  return w;
}

double SquaredDistance(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0.0;
  for (size_t i = 0; i < a.size(); ++i) sum += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
  return sum;
}

// Eckart-Young on a matrix whose SVD is known: diag(5, 4, 3, 2, 1) in a 5 x 7
// frame. The best rank-2 approximation keeps 5 and 4; its squared error is
// 3^2 + 2^2 + 1^2 = 14.
TEST(FactorizationTest, EckartYoungErrorOnAKnownSpectrum) {
  std::vector<float> w(5 * 7, 0.0f);
  for (int i = 0; i < 5; ++i) w[i * 7 + i] = 5.0f - i;
  absl::StatusOr<std::vector<double>> s = SingularValues(w, 5, 7);
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_THAT(*s, ::testing::Pointwise(::testing::DoubleNear(1e-9), {5.0, 4.0, 3.0, 2.0, 1.0}));
  absl::StatusOr<LowRankFactors> f = Factorize(w, 5, 7, 2);
  ASSERT_THAT(f.status(), IsOk());
  EXPECT_EQ(f->left.size(), 5u * 2);
  EXPECT_EQ(f->right.size(), 2u * 7);
  EXPECT_NEAR(SquaredDistance(w, Multiply(*f)), 14.0, 1e-5);
}

// On a random matrix the error is the discarded energy, and the full rank
// reproduces W.
TEST(FactorizationTest, ErrorIsTheDiscardedEnergy) {
  const std::vector<float> w = RandomMatrix(30, 50, 7);
  absl::StatusOr<std::vector<double>> s = SingularValues(w, 30, 50);
  ASSERT_THAT(s.status(), IsOk());
  for (int rank : {1, 5, 17, 30}) {
    absl::StatusOr<LowRankFactors> f = Factorize(w, 30, 50, rank);
    ASSERT_THAT(f.status(), IsOk());
    double discarded = 0.0;
    for (int i = rank; i < 30; ++i) discarded += (*s)[i] * (*s)[i];
    EXPECT_NEAR(SquaredDistance(w, Multiply(*f)), discarded, 1e-3 + 1e-5 * discarded) << rank;
  }
}

// Projection leaves a matrix of exactly that rank (up to float rounding),
// and projecting again changes nothing.
TEST(FactorizationTest, ProjectToRankIsAProjection) {
  std::vector<float> w = RandomMatrix(12, 20, 3);
  ASSERT_THAT(ProjectToRank(absl::MakeSpan(w), 12, 20, 4), IsOk());
  absl::StatusOr<std::vector<double>> s = SingularValues(w, 12, 20);
  ASSERT_THAT(s.status(), IsOk());
  EXPECT_GT((*s)[3], 1.0);
  EXPECT_LT((*s)[4], 1e-5 * (*s)[0]);
  const std::vector<float> once = w;
  ASSERT_THAT(ProjectToRank(absl::MakeSpan(w), 12, 20, 4), IsOk());
  EXPECT_LT(SquaredDistance(once, w), 1e-8);
}

// The tracking projector after SGD-sized moves: exactly rank 5 every time,
// and within 1% of the Eckart-Young optimum of the moved matrix.
TEST(FactorizationTest, RankProjectorTracksAMovingMatrix) {
  std::vector<float> w = RandomMatrix(30, 50, 11);
  absl::StatusOr<RankProjector> projector = RankProjector::Create(absl::MakeSpan(w), 30, 50, 5);
  ASSERT_THAT(projector.status(), IsOk());
  std::mt19937 rng(13);
  std::normal_distribution<float> step(0.0f, 0.01f);
  for (int iteration = 0; iteration < 50; ++iteration) {
    for (float& x : w) x += step(rng);
    absl::StatusOr<std::vector<double>> s = SingularValues(w, 30, 50);
    ASSERT_THAT(s.status(), IsOk());
    double optimum = 0.0;
    for (int i = 5; i < 30; ++i) optimum += (*s)[i] * (*s)[i];
    const std::vector<float> moved = w;
    ASSERT_THAT(projector->Project(absl::MakeSpan(w)), IsOk());
    EXPECT_LE(SquaredDistance(moved, w), 1.01 * optimum) << iteration;
    s = SingularValues(w, 30, 50);
    EXPECT_LT((*s)[5], 1e-5 * (*s)[0]) << iteration;
  }
  EXPECT_THAT(projector->Project(absl::MakeSpan(w).subspan(1)).message(),
              HasSubstr("not a 30 x 50"));
}

// LeNet-5's fc1 is 120 x 400 (48,000 weights). At 4x the factors may hold
// 12,000: rank 23 (23 * 520 = 11,960; rank 24 would be 12,480), 4.01x.
TEST(FactorizationTest, CompressionRankForLeNetFc1) {
  absl::StatusOr<int> rank = ChooseRank({RankRule::Kind::kCompression, 4.0}, {}, 120, 400);
  ASSERT_THAT(rank.status(), IsOk());
  EXPECT_EQ(*rank, 23);
  EXPECT_EQ(FactorizedParameters(120, 400, 23), 11960);
  // No rank compresses a tiny matrix 100x: the rule still gives rank 1.
  EXPECT_EQ(*ChooseRank({RankRule::Kind::kCompression, 100.0}, {}, 4, 4), 1);
}

// Singular values 3, 2, 1: energies 9/14 = 0.64, 13/14 = 0.93, 1.
TEST(FactorizationTest, EnergyRank) {
  const std::vector<double> s = {3.0, 2.0, 1.0};
  EXPECT_EQ(*ChooseRank({RankRule::Kind::kEnergy, 0.5}, s, 3, 5), 1);
  EXPECT_EQ(*ChooseRank({RankRule::Kind::kEnergy, 0.9}, s, 3, 5), 2);
  EXPECT_EQ(*ChooseRank({RankRule::Kind::kEnergy, 13.0 / 14.0}, s, 3, 5), 2);
  EXPECT_EQ(*ChooseRank({RankRule::Kind::kEnergy, 0.95}, s, 3, 5), 3);
  EXPECT_EQ(*ChooseRank({RankRule::Kind::kEnergy, 1.0}, s, 3, 5), 3);
}

TEST(FactorizationTest, ParsesRules) {
  absl::StatusOr<RankRule> rule = ParseRankRule("4x");
  ASSERT_THAT(rule.status(), IsOk());
  EXPECT_EQ(rule->kind, RankRule::Kind::kCompression);
  EXPECT_EQ(rule->value, 4.0);
  EXPECT_EQ(RankRuleToString(*rule), "4x");
  EXPECT_EQ(ParseRankRule("rank=8")->kind, RankRule::Kind::kRank);
  EXPECT_EQ(RankRuleToString(*ParseRankRule("rank=8")), "rank=8");
  EXPECT_EQ(ParseRankRule("energy=0.95")->value, 0.95);
  EXPECT_THAT(ParseRankRule("four").status().message(), HasSubstr("'four'"));
  EXPECT_THAT(ParseRankRule("rank=2.5").status().message(), HasSubstr("not an integer"));
  EXPECT_THAT(ParseRankRule("energy=x").status().message(), HasSubstr("not a number"));
}

TEST(FactorizationTest, RejectsBadShapesAndRanks) {
  const std::vector<float> w(12, 1.0f);
  EXPECT_THAT(SingularValues(w, 5, 3).status().message(), HasSubstr("not a 5 x 3"));
  EXPECT_THAT(Factorize(w, 3, 4, 0).status().message(), HasSubstr("rank 0 is outside 1..3"));
  EXPECT_THAT(Factorize(w, 3, 4, 4).status().message(), HasSubstr("rank 4 is outside 1..3"));
  EXPECT_THAT(ChooseRank({RankRule::Kind::kCompression, 1.0}, {}, 3, 4).status().message(),
              HasSubstr("not above 1"));
  EXPECT_THAT(ChooseRank({RankRule::Kind::kEnergy, 0.0}, {1, 1, 1}, 3, 4).status().message(),
              HasSubstr("outside (0, 1]"));
  EXPECT_THAT(ChooseRank({RankRule::Kind::kEnergy, 0.5}, {1, 1}, 3, 4).status().message(),
              HasSubstr("2 singular values"));
}

// M[c kh + y, o kw + x] = W[o, c, y, x] for W [2, 3, 2, 4] numbered by
// position, and back.
TEST(SpatialMatrixTest, PermutesAsTheFormulaSaysAndBack) {
  std::vector<float> kernel(2 * 3 * 2 * 4);
  for (size_t i = 0; i < kernel.size(); ++i) kernel[i] = static_cast<float>(i);
  const std::vector<float> m = SpatialMatrix(kernel, 2, 3, 2, 4);
  const int cols = 2 * 4;
  for (int o = 0; o < 2; ++o) {
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 2; ++y) {
        for (int x = 0; x < 4; ++x) {
          EXPECT_EQ(m[(c * 2 + y) * cols + o * 4 + x], kernel[((o * 3 + c) * 2 + y) * 4 + x]);
        }
      }
    }
  }
  EXPECT_EQ(KernelFromSpatialMatrix(m, 2, 3, 2, 4), kernel);
}

TEST(SpatialMatrixTest, RulesNameTheSplit) {
  absl::StatusOr<RankRule> rule = ParseRankRule("spatial:4x");
  ASSERT_TRUE(rule.ok());
  EXPECT_TRUE(rule->spatial);
  EXPECT_EQ(rule->kind, RankRule::Kind::kCompression);
  EXPECT_EQ(RankRuleToString(*rule), "spatial:4x");
  EXPECT_FALSE(ParseRankRule("rank=3")->spatial);
  EXPECT_FALSE(ParseRankRule("spatial:").ok());
}


}  // namespace
}  // namespace edgecompress::lowrank
