#include "clustering/cluster_callback.h"

#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::clustering {
namespace {

using ::testing::HasSubstr;

struct OneLayer : torch::nn::Module {
  OneLayer() { fc = register_module("fc", torch::nn::Linear(3, 2)); }
  torch::nn::Linear fc{nullptr};
};

// fc.weight = [[0.1, 0.12, 0], [0.9, 0.88, 0.5]]: one pruned zero and two
// clear groups for k = 2 on the non-zeros {0.1, 0.12, 0.5, 0.88, 0.9}
// (linear start 0.1 and 0.9: {0.1, 0.12} and {0.5, 0.88, 0.9}, means 0.11
// and 0.76). One SGD step (lr 0.1, momentum 0.9) with input x = (1, 2, 3):
// dL/dW = x for row 0 and 2x for row 1 when L = y0 + 2 y1; the cluster means
// are (1 + 2) / 2 = 1.5 and (2 + 4 + 6) / 3 = 4, so the centroids become
// 0.11 - 0.15 and 0.76 - 0.4, and the zero stays zero.
TEST(ClusterCallbackTest, CentroidsTrainWithTheirMeanGradient) {
  OneLayer model;
  {
    torch::NoGradGuard no_grad;
    model.fc->weight.copy_(torch::tensor({{0.1f, 0.12f, 0.0f}, {0.9f, 0.88f, 0.5f}}));
  }
  const std::vector<std::string> names = {"fc.weight"};
  absl::StatusOr<std::unique_ptr<ClusterCallback>> callback =
      ClusterCallback::Create(model, names, /*num_clusters=*/2, /*start_epoch=*/0);
  ASSERT_THAT(callback, IsOk());
  ASSERT_THAT((*callback)->OnEpochBegin(0, 1), IsOk());
  const torch::Tensor tied = torch::tensor({{0.11f, 0.11f, 0.0f}, {0.76f, 0.76f, 0.76f}});
  EXPECT_TRUE(torch::allclose(model.fc->weight, tied, 1e-6, 1e-6)) << model.fc->weight;

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  optimizer.zero_grad();
  const torch::Tensor y = model.fc->forward(torch::tensor({{1.0f, 2.0f, 3.0f}}));
  (y.select(1, 0) + 2 * y.select(1, 1)).sum().backward();
  ASSERT_THAT((*callback)->OnAfterBackward({}), IsOk());
  EXPECT_TRUE(torch::allclose(model.fc->weight.grad(),
                              torch::tensor({{1.5f, 1.5f, 0.0f}, {4.0f, 4.0f, 4.0f}})));
  optimizer.step();
  ASSERT_THAT((*callback)->OnStepEnd({}), IsOk());
  const torch::Tensor stepped =
      torch::tensor({{0.11f - 0.15f, 0.11f - 0.15f, 0.0f}, {0.76f - 0.4f, 0.76f - 0.4f, 0.76f - 0.4f}});
  EXPECT_TRUE(torch::allclose(model.fc->weight, stepped, 1e-5, 1e-5)) << model.fc->weight;
}

TEST(ClusterCallbackTest, NothingBeforeTheStartEpochAndBadArguments) {
  OneLayer model;
  const torch::Tensor before = model.fc->weight.detach().clone();
  const std::vector<std::string> names = {"fc.weight"};
  auto callback = ClusterCallback::Create(model, names, 2, 3);
  ASSERT_THAT(callback, IsOk());
  ASSERT_THAT((*callback)->OnEpochBegin(2, 1), IsOk());
  EXPECT_FALSE((*callback)->clustered());
  EXPECT_TRUE(torch::equal(model.fc->weight, before));

  const std::vector<std::string> missing = {"fc9.weight"};
  EXPECT_THAT(ClusterCallback::Create(model, missing, 2, 0).status().message(),
              HasSubstr("no parameter 'fc9.weight'"));
  EXPECT_EQ(ClusterCallback::Create(model, names, 0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgecompress::clustering
