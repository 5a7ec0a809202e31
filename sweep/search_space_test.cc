#include "sweep/search_space.h"

#include <cmath>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sweep/config.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// The "Configuration Generator" grid of the TUM Data Innovation Lab study
// (Dhahri et al., "How To Train the Best Deep Learning Models for The
// Edge?", shared/seeds/000, sections 4 and 5.5): epochs {10,15,25} x
// pruning_update_frequency {1,3,5} x pruning_epoch_frac {0.925,0.7,0.5} x
// sparsity {0.95,0.99}, "all 54 configuration files".
constexpr char kStudyGrid[] = R"(program: train_prune
method: grid
metric: {name: after.test_top1, goal: maximize}
parameters:
  epochs: {values: [10, 15, 25]}
  pruning_update_frequency: {values: [1, 3, 5]}
  pruning_epoch_frac: {values: [0.925, 0.7, 0.5]}
  sparsity: {values: [0.95, 0.99]}
)";

TEST(GridTest, StudyGridExpandsToExactly54DistinctTrials) {
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(kStudyGrid, "study.yaml");
  ASSERT_THAT(config, IsOk());
  EXPECT_THAT(GridSize(config->parameters), IsOkAndHolds(54));
  absl::StatusOr<std::vector<Assignment>> grid = ExpandGrid(config->parameters);
  ASSERT_THAT(grid, IsOk());
  ASSERT_EQ(grid->size(), 54u);
  std::set<Assignment> distinct(grid->begin(), grid->end());
  EXPECT_EQ(distinct.size(), 54u);
  // Last parameter fastest, as itertools.product.
  EXPECT_THAT((*grid)[0], ElementsAre(Pair("epochs", "10"), Pair("pruning_update_frequency", "1"),
                                      Pair("pruning_epoch_frac", "0.925"), Pair("sparsity", "0.95")));
  EXPECT_THAT((*grid)[1][3], Pair("sparsity", "0.99"));
  EXPECT_THAT((*grid)[53], ElementsAre(Pair("epochs", "25"), Pair("pruning_update_frequency", "5"),
                                       Pair("pruning_epoch_frac", "0.5"), Pair("sparsity", "0.99")));
  // Each value of each parameter appears 54 / |values| times.
  int epochs_25 = 0;
  for (const Assignment& point : *grid) epochs_25 += point[0].second == "25";
  EXPECT_EQ(epochs_25, 18);
}

TEST(GridTest, IntAndQUniformEnumerateTheirRanges) {
  ParameterSpec ints{.name = "n", .distribution = Distribution::kIntUniform, .min = 2, .max = 5};
  ParameterSpec qs{.name = "f", .distribution = Distribution::kQUniform, .min = 0.1, .max = 0.7, .q = 0.2};
  EXPECT_THAT(DiscreteValues(ints), IsOkAndHolds(ElementsAre("2", "3", "4", "5")));
  EXPECT_THAT(DiscreteValues(qs), IsOkAndHolds(ElementsAre("0.1", "0.3", "0.5", "0.7")));
  ParameterSpec uniform{.name = "lr", .distribution = Distribution::kUniform, .min = 0, .max = 1};
  EXPECT_THAT(GridSize({uniform}), StatusIs(absl::StatusCode::kInvalidArgument));
}

std::vector<ParameterSpec> EveryDistribution() {
  return {
      {.name = "c", .distribution = Distribution::kConstant, .values = {"x"}},
      {.name = "k", .distribution = Distribution::kCategorical, .values = {"a", "b", "c"}},
      {.name = "u", .distribution = Distribution::kUniform, .min = 0.9, .max = 0.99},
      {.name = "i", .distribution = Distribution::kIntUniform, .min = 1, .max = 4},
      {.name = "q", .distribution = Distribution::kQUniform, .min = 0.25, .max = 2, .q = 0.25},
      {.name = "l", .distribution = Distribution::kLogUniformValues, .min = 1e-4, .max = 1e-1},
      {.name = "n", .distribution = Distribution::kNormal, .mu = 5, .sigma = 2},
  };
}

TEST(RandomTest, SameSeedSameTrialsOtherSeedOthers) {
  const std::vector<ParameterSpec> space = EveryDistribution();
  for (int trial = 0; trial < 5; ++trial) {
    std::mt19937_64 a = TrialRng(7, trial), b = TrialRng(7, trial), c = TrialRng(8, trial);
    const Assignment first = SampleAssignment(space, a);
    EXPECT_EQ(first, SampleAssignment(space, b));
    EXPECT_NE(first, SampleAssignment(space, c));
  }
}

TEST(RandomTest, SamplesFollowTheirDistributions) {
  const std::vector<ParameterSpec> space = EveryDistribution();
  constexpr int kSamples = 4000;
  int below_geometric_mean = 0, within_one_sigma = 0;
  std::set<std::string> categories, ints;
  double normal_sum = 0;
  for (int trial = 0; trial < kSamples; ++trial) {
    std::mt19937_64 rng = TrialRng(1, trial);
    const Assignment point = SampleAssignment(space, rng);
    auto number = [&](int i) {
      double v = 0;
      EXPECT_TRUE(absl::SimpleAtod(point[i].second, &v)) << point[i].second;
      return v;
    };
    EXPECT_EQ(point[0].second, "x");
    categories.insert(point[1].second);
    EXPECT_GE(number(2), 0.9);
    EXPECT_LT(number(2), 0.99 + 5e-6);  // printed with 6 digits
    ints.insert(point[3].second);
    const double q = number(4);
    EXPECT_NEAR(std::remainder(q, 0.25), 0.0, 1e-9) << q;
    EXPECT_GE(q, 0.25);
    EXPECT_LE(q, 2.0);
    const double l = number(5);
    EXPECT_GE(l, 1e-4 * (1 - 1e-5));
    EXPECT_LE(l, 1e-1 * (1 + 1e-5));
    below_geometric_mean += l < std::sqrt(1e-4 * 1e-1);
    const double n = number(6);
    normal_sum += n;
    within_one_sigma += std::abs(n - 5) < 2;
  }
  EXPECT_THAT(categories, ElementsAre("a", "b", "c"));
  EXPECT_THAT(ints, ElementsAre("1", "2", "3", "4"));
  // Log-uniform: half the mass below the geometric mean of the ends; normal:
  // 68.3% within one sigma. 4000 samples: standard errors 0.8% and 0.7%.
  EXPECT_NEAR(below_geometric_mean / double{kSamples}, 0.5, 0.03);
  EXPECT_NEAR(within_one_sigma / double{kSamples}, 0.683, 0.03);
  EXPECT_NEAR(normal_sum / kSamples, 5.0, 0.1);
}

TEST(UnitCubeEncodingTest, ScalesNumbersAndOneHotsNames) {
  const std::vector<ParameterSpec> space = EveryDistribution();
  UnitCubeEncoding encoding(space);
  EXPECT_EQ(encoding.dimensions(), 3 + 5);  // one-hot k, then u i q l n
  const Assignment point = {{"c", "x"}, {"k", "b"}, {"u", "0.945"}, {"i", "4"},
                            {"q", "0.25"}, {"l", "0.00316228"}, {"n", "5"}};
  absl::StatusOr<std::vector<double>> x = encoding.Encode(point);
  ASSERT_THAT(x, IsOk());
  const double expected[] = {0, 1, 0, 0.5, 1, 0, 0.5, 0.5};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR((*x)[i], expected[i], 1e-6) << i;
  Assignment unknown = point;
  unknown[1].second = "z";
  EXPECT_THAT(encoding.Encode(unknown), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::sweep
