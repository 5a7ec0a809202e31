#include "pruning/torch.h"

#include <torch/torch.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruning/magnitude.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet.h"

namespace edgecompress::pruning {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kPrunable = {"conv2.weight", "fc1.weight", "fc2.weight"};

TEST(MaskedParametersTest, PerLayerMagnitudePruningIsExact) {
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  ASSERT_THAT(masked->PruneByMagnitude(0.9, /*global=*/false), IsOk());
  for (const ParameterSparsity& p : masked->Sparsity()) {
    SCOPED_TRACE(p.name);
    EXPECT_EQ(p.zeros, PrunedCount(p.size, 0.9));
  }
}

// Global: one threshold, so layers end at different sparsities but the total
// is exact: floor(0.9 * (2,400 + 48,000 + 10,080)) = 54,432 zeros.
TEST(MaskedParametersTest, GlobalMagnitudePruningCountsOverAllLayers) {
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  ASSERT_THAT(masked->PruneByMagnitude(0.9, /*global=*/true), IsOk());
  int64_t zeros = 0;
  for (const ParameterSparsity& p : masked->Sparsity()) zeros += p.zeros;
  EXPECT_EQ(zeros, 54432);
}

// The style guide's training test: pruned weights stay exactly zero through
// SGD steps with momentum and weight decay when the masks are enforced, and
// come back when they are not.
TEST(MaskedParametersTest, PrunedWeightsStayZeroThroughMomentumSteps) {
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  ASSERT_THAT(masked->PruneByMagnitude(0.8, /*global=*/false), IsOk());
  const int64_t zeros_before = masked->Sparsity()[1].zeros;
  torch::optim::SGD sgd(model.parameters(),
                        torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
  const torch::Tensor images = torch::randn({16, 1, 28, 28});
  const torch::Tensor labels = torch::randint(0, 10, {16});
  const auto step = [&](bool enforce) {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model.forward(images), labels).backward();
    if (enforce) masked->ApplyToGradients();
    sgd.step();
    if (enforce) masked->ApplyToWeights();
  };
  for (int i = 0; i < 5; ++i) step(/*enforce=*/true);
  EXPECT_EQ(masked->Sparsity()[1].zeros, zeros_before);
  step(/*enforce=*/false);  // momentum revives pruned weights
  EXPECT_LT(masked->Sparsity()[1].zeros, zeros_before);
}

TEST(MaskedParametersTest, SetAndClearMasks) {
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked =
      MaskedParameters::Create(model, std::vector<std::string>{"fc3.weight"});
  ASSERT_THAT(masked, IsOk());
  std::vector<uint8_t> mask(840, 1);
  mask[0] = mask[5] = 0;
  ASSERT_THAT(masked->SetMask("fc3.weight", mask), IsOk());
  EXPECT_EQ(masked->Sparsity()[0].zeros, 2);
  EXPECT_THAT(masked->SetMask("fc3.weight", std::vector<uint8_t>(3)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 entries")));
  EXPECT_THAT(masked->SetMask("fc1.weight", mask), StatusIs(absl::StatusCode::kNotFound));
}

// AC/DC's momentum reset: after it, the next SGD step of a masked
// parameter is a plain gradient step (the buffer restarts as the gradient),
// while the other parameters keep their momentum.
TEST(MaskedParametersTest, ResetOptimizerStateRestartsMomentumOfSelectedOnly) {
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked =
      MaskedParameters::Create(model, std::vector<std::string>{"fc2.weight"});
  ASSERT_THAT(masked, IsOk());
  torch::optim::SGD sgd(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const torch::Tensor images = torch::randn({8, 1, 28, 28});
  const torch::Tensor labels = torch::randint(0, 10, {8});
  const auto step = [&] {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model.forward(images), labels).backward();
    sgd.step();
  };
  step();
  step();
  const size_t states = sgd.state().size();
  masked->ResetOptimizerState(sgd);
  EXPECT_EQ(sgd.state().size(), states - 1);

  const torch::Tensor fc2 = model.named_parameters()["fc2.weight"];
  const torch::Tensor fc1 = model.named_parameters()["fc1.weight"];
  const torch::Tensor fc2_before = fc2.detach().clone(), fc1_before = fc1.detach().clone();
  step();
  const torch::Tensor fc2_step = fc2.detach() - fc2_before;
  EXPECT_TRUE(torch::allclose(fc2_step, -0.1 * fc2.grad(), 1e-6, 1e-7));
  EXPECT_FALSE(torch::allclose(fc1.detach() - fc1_before, -0.1 * fc1.grad(), 1e-6, 1e-7));
}

TEST(MaskedParametersTest, UnknownParameterIsNotFound) {
  training::LeNet5 model;
  EXPECT_THAT(MaskedParameters::Create(model, std::vector<std::string>{"conv9.weight"}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("conv9.weight")));
}

}  // namespace
}  // namespace edgecompress::pruning
