#include "quantization/low_bit_callback.h"

#include <torch/nn/modules/linear.h>
#include <torch/nn/module.h>
#include <torch/optim/sgd.h>

#include <memory>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::quantization {
namespace {

using ::testing::HasSubstr;

struct TwoLayers : torch::nn::Module {
  TwoLayers() {
    fc1 = register_module("fc1", torch::nn::Linear(4, 3));
    fc2 = register_module("fc2", torch::nn::Linear(3, 2));
  }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

int64_t DistinctValues(const torch::Tensor& t) { return std::get<0>(at::_unique(t)).numel(); }

// One SGD step through the callback: the forward sees 1-bit fc1 weights
// (two values: +-alpha around no mean), the optimizer updates the saved
// full-precision weights with the gradient taken at the binary ones, and
// the layer holds binary weights again after the step; fc2 is untouched.
TEST(LowBitCallbackTest, StraightThroughStep) {
  torch::manual_seed(3);
  TwoLayers model;
  const torch::Tensor fc2_before = model.fc2->weight.detach().clone();
  absl::StatusOr<std::unique_ptr<LowBitCallback>> callback =
      LowBitCallback::Create(model, {{"fc1", 1}}, /*start_epoch=*/1);
  ASSERT_THAT(callback, IsOk());
  const torch::Tensor full = model.fc1->weight.detach().clone();

  ASSERT_THAT((*callback)->OnEpochBegin(0, 10), IsOk());  // before start: nothing
  EXPECT_TRUE(torch::equal(model.fc1->weight, full));
  ASSERT_THAT((*callback)->OnEpochBegin(1, 10), IsOk());
  const torch::Tensor binary = model.fc1->weight.detach().clone();
  EXPECT_EQ(DistinctValues(binary), 2);

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  optimizer.zero_grad();
  const torch::Tensor x = torch::ones({1, 4});
  model.fc2->forward(torch::relu(model.fc1->forward(x))).sum().backward();
  const torch::Tensor gradient = model.fc1->weight.grad().clone();
  ASSERT_THAT((*callback)->OnAfterBackward({}), IsOk());
  EXPECT_TRUE(torch::equal(model.fc1->weight, full));  // restored for the update
  optimizer.step();
  // |W - mean| <= 1 everywhere for these small weights: the whole gradient passes.
  EXPECT_TRUE(torch::allclose(model.fc1->weight, full - 0.1 * gradient));
  ASSERT_THAT((*callback)->OnStepEnd({}), IsOk());
  EXPECT_LE(DistinctValues(model.fc1->weight), 2);
  EXPECT_TRUE(torch::allclose(model.fc2->weight, fc2_before - 0.1 * model.fc2->weight.grad()));
  EXPECT_GT((*callback)->layers()[0].alpha, 0.0);
}

// The thesis's activation quantizer: clip to [-1, 1], then sign (zeros stay
// zero) or the weights' 2-bit levels -1, -1/3, 1/3, 1; the gradient passes
// inside the clip only.
TEST(LowBitCallbackTest, QuantizesActivationsWithTheClipsGradient) {
  const torch::Tensor a =
      torch::tensor({-2.0f, -0.9f, -0.2f, 0.0f, 0.1f, 0.5f, 0.7f, 1.5f}).requires_grad_();
  const torch::Tensor one_bit = QuantizeLowBitActivations(a, 1);
  EXPECT_TRUE(torch::equal(one_bit.detach(),
                           torch::tensor({-1.0f, -1.0f, -1.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f})));
  const torch::Tensor two_bit = QuantizeLowBitActivations(a, 2);
  const float third = 1.0f / 3.0f;
  EXPECT_TRUE(torch::allclose(
      two_bit.detach(),
      torch::tensor({-1.0f, -1.0f, -third, third, third, third, 1.0f, 1.0f})));
  two_bit.sum().backward();
  EXPECT_TRUE(torch::equal(a.grad(), torch::tensor({0.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f})));
}

// As a LayerInputHook: only the low-bit layers' inputs, and only once the
// callback has started.
TEST(LowBitCallbackTest, HookQuantizesTheLowBitLayersInputsFromTheStartEpoch) {
  TwoLayers model;
  absl::StatusOr<std::unique_ptr<LowBitCallback>> callback =
      LowBitCallback::Create(model, {{"fc2", 1}}, /*start_epoch=*/2);
  ASSERT_THAT(callback, IsOk());
  const torch::Tensor x = torch::tensor({0.0f, 0.3f, 2.0f});
  EXPECT_TRUE(torch::equal((*callback)->OnLayerInput("fc2", x), x));
  ASSERT_THAT((*callback)->OnEpochBegin(2, 10), IsOk());
  EXPECT_TRUE(torch::equal((*callback)->OnLayerInput("fc2", x), torch::tensor({0.0f, 1.0f, 1.0f})));
  EXPECT_TRUE(torch::equal((*callback)->OnLayerInput("fc1", x), x));
}

TEST(LowBitCallbackTest, RejectsBadLayers) {
  TwoLayers model;
  EXPECT_THAT(LowBitCallback::Create(model, {{"fc9", 1}}, 0).status().message(),
              HasSubstr("no parameter 'fc9.weight'"));
  EXPECT_THAT(LowBitCallback::Create(model, {{"fc1", 9}}, 0).status().message(),
              HasSubstr("9 bits"));
  EXPECT_EQ(LowBitCallback::Create(model, {{"fc1", 1}}, -1).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgecompress::quantization
