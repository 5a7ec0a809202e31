#include "lowrank/low_rank_callback.h"

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "lowrank/factorization.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::lowrank {
namespace {

using ::testing::HasSubstr;

struct Net : torch::nn::Module {
  Net() {
    conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3)));
    fc = register_module("fc", torch::nn::Linear(6, 4));
  }
  torch::nn::Conv2d conv{nullptr};
  torch::nn::Linear fc{nullptr};
};

// The numerical rank of a row-major matrix: singular values above 1e-5 of
// the largest.
int MatrixRank(absl::Span<const float> matrix, int rows, int cols) {
  absl::StatusOr<std::vector<double>> s = SingularValues(matrix, rows, cols);
  EXPECT_THAT(s.status(), IsOk());
  int rank = 0;
  for (double v : *s) rank += v > 1e-5 * s->front();
  return rank;
}

// Of a weight as the matrix [out, the rest].
int NumericalRank(const torch::Tensor& weight) {
  const int rows = static_cast<int>(weight.size(0));
  return MatrixRank({weight.data_ptr<float>(), static_cast<size_t>(weight.numel())}, rows,
                    static_cast<int>(weight.numel() / rows));
}

// fc at rank 1 and conv ([8, 3 * 3 * 3] = 8 x 27, 216 weights) at 2x: rank 3
// (3 * 35 = 105 <= 108; 4 * 35 = 140 is not). Both stay at their rank after
// an SGD step with momentum, and nothing happens before the start epoch.
TEST(LowRankCallbackTest, KeepsTheRankThroughTraining) {
  torch::manual_seed(1);
  Net net;
  const std::map<std::string, RankRule> rules = {
      {"fc", {RankRule::Kind::kRank, 1}}, {"conv", {RankRule::Kind::kCompression, 2.0}}};
  absl::StatusOr<std::unique_ptr<LowRankCallback>> callback =
      LowRankCallback::Create(net, rules, /*start_epoch=*/1);
  ASSERT_THAT(callback.status(), IsOk());
  LowRankCallback& low_rank = **callback;

  ASSERT_THAT(low_rank.OnEpochBegin(0, 1), IsOk());
  EXPECT_FALSE(low_rank.active());
  EXPECT_EQ(NumericalRank(net.fc->weight), 4);

  ASSERT_THAT(low_rank.OnEpochBegin(1, 1), IsOk());
  ASSERT_TRUE(low_rank.active());
  EXPECT_EQ(NumericalRank(net.fc->weight), 1);
  EXPECT_EQ(NumericalRank(net.conv->weight), 3);
  ASSERT_EQ(low_rank.layers().size(), 2u);
  EXPECT_EQ(low_rank.layers()[0].name, "conv");  // by name
  EXPECT_EQ(low_rank.layers()[0].rank, 3);
  EXPECT_EQ(low_rank.layers()[0].rows, 8);
  EXPECT_EQ(low_rank.layers()[0].cols, 27);
  EXPECT_EQ(low_rank.layers()[1].rank, 1);
  EXPECT_EQ(low_rank.layers()[1].singular_values.size(), 4u);

  torch::optim::SGD optimizer(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  for (int step = 0; step < 3; ++step) {
    optimizer.zero_grad();
    const torch::Tensor x = torch::randn({2, 3, 5, 5});
    const torch::Tensor h = net.conv->forward(x).mean({2, 3});
    (net.fc->forward(h.narrow(1, 0, 6)).pow(2).sum()).backward();
    optimizer.step();
    EXPECT_GT(NumericalRank(net.fc->weight), 1);  // the step left the rank-1 set
    ASSERT_THAT(low_rank.OnStepEnd({}), IsOk());
    EXPECT_EQ(NumericalRank(net.fc->weight), 1);
    EXPECT_EQ(NumericalRank(net.conv->weight), 3);
  }
}

// The rank of a Conv kernel's spatial matrix [(C kh) x (O kw)].
int SpatialRank(const torch::Tensor& weight) {
  const int o = weight.size(0), c = weight.size(1), kh = weight.size(2), kw = weight.size(3);
  const std::vector<float> m = SpatialMatrix(
      {weight.data_ptr<float>(), static_cast<size_t>(weight.numel())}, o, c, kh, kw);
  return MatrixRank(m, c * kh, o * kw);
}

// A spatial rule keeps the conv's spatial matrix ([3 * 3, 8 * 3] = 9 x 24)
// at rank 2 through an SGD step, writing the projection back into the kernel.
TEST(LowRankCallbackTest, KeepsTheSpatialRank) {
  torch::manual_seed(2);
  Net net;
  absl::StatusOr<std::unique_ptr<LowRankCallback>> callback = LowRankCallback::Create(
      net, {{"conv", {.kind = RankRule::Kind::kRank, .value = 2, .spatial = true}}}, 0);
  ASSERT_THAT(callback.status(), IsOk());
  EXPECT_EQ(SpatialRank(net.conv->weight), 9);
  ASSERT_THAT((*callback)->OnEpochBegin(0, 1), IsOk());
  EXPECT_EQ((*callback)->layers()[0].rows, 9);
  EXPECT_EQ((*callback)->layers()[0].cols, 24);
  EXPECT_EQ(SpatialRank(net.conv->weight), 2);
  torch::optim::SGD optimizer(net.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  optimizer.zero_grad();
  net.conv->forward(torch::randn({2, 3, 5, 5})).pow(2).sum().backward();
  optimizer.step();
  EXPECT_GT(SpatialRank(net.conv->weight), 2);
  ASSERT_THAT((*callback)->OnStepEnd({}), IsOk());
  EXPECT_EQ(SpatialRank(net.conv->weight), 2);
  EXPECT_THAT(LowRankCallback::Create(net, {{"fc", {.spatial = true}}}, 0).status().message(),
              HasSubstr("a spatial split is for a Conv"));
}

TEST(LowRankCallbackTest, RejectsMissingLayersAndBadArguments) {
  Net net;
  EXPECT_THAT(LowRankCallback::Create(net, {{"fc9", {}}}, 0).status().message(),
              HasSubstr("no layer 'fc9'"));
  EXPECT_THAT(LowRankCallback::Create(net, {{"fc", {}}}, -1).status().message(),
              HasSubstr("start epoch is -1"));
  // A rank above min(rows, cols) is reported with the layer when chosen.
  absl::StatusOr<std::unique_ptr<LowRankCallback>> callback =
      LowRankCallback::Create(net, {{"fc", {RankRule::Kind::kRank, 5}}}, 0);
  ASSERT_THAT(callback.status(), IsOk());
  EXPECT_THAT((*callback)->OnEpochBegin(0, 1).message(), HasSubstr("fc: rank 5 is outside 1..4"));
}

}  // namespace
}  // namespace edgecompress::lowrank
