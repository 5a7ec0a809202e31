#include "quantization/int8_qat_callback.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/types.h>

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

// Every value of `t` is an integer multiple of `scale` (per row when `scale`
// is a column).
bool OnGrid(const torch::Tensor& t, const torch::Tensor& scale) {
  const torch::Tensor q = t / scale;
  return torch::allclose(q, torch::round(q), /*rtol=*/0, /*atol=*/1e-3);
}

// Weights: per output channel on the symmetric grid max|w| / 127; the
// optimizer updates the full-precision shadows with the whole gradient.
TEST(Int8QatCallbackTest, WeightsArePerChannelInt8AndTrainThroughShadows) {
  torch::manual_seed(5);
  TwoLayers model;
  absl::StatusOr<std::unique_ptr<Int8QatCallback>> qat =
      Int8QatCallback::Create(model, {"fc1"}, {.start_epoch = 1});
  ASSERT_THAT(qat, IsOk());
  const torch::Tensor full = model.fc1->weight.detach().clone();
  ASSERT_THAT((*qat)->OnEpochBegin(0, 10), IsOk());
  EXPECT_TRUE(torch::equal(model.fc1->weight, full));
  ASSERT_THAT((*qat)->OnEpochBegin(1, 10), IsOk());
  const torch::Tensor scale = std::get<0>(full.abs().max(1, /*keepdim=*/true)) / 127.0;
  EXPECT_TRUE(OnGrid(model.fc1->weight.detach(), scale));
  EXPECT_FALSE(torch::equal(model.fc1->weight, full));
  EXPECT_LE((model.fc1->weight - full).abs().max().item<float>(),
            scale.max().item<float>() / 2 + 1e-7);

  torch::optim::SGD optimizer(model.parameters(), torch::optim::SGDOptions(0.1));
  optimizer.zero_grad();
  model.fc2->forward(torch::relu(model.fc1->forward(torch::ones({1, 4})))).sum().backward();
  const torch::Tensor gradient = model.fc1->weight.grad().clone();
  ASSERT_THAT((*qat)->OnAfterBackward({}), IsOk());
  EXPECT_TRUE(torch::equal(model.fc1->weight, full));
  optimizer.step();
  EXPECT_TRUE(torch::allclose(model.fc1->weight, full - 0.1 * gradient));
  ASSERT_THAT((*qat)->OnStepEnd({}), IsOk());
  const torch::Tensor updated = full - 0.1 * gradient;
  EXPECT_TRUE(OnGrid(model.fc1->weight.detach(),
                     std::get<0>(updated.abs().max(1, true)) / 127.0));
}

// Activations: observed in training mode only, fake-quantized on the
// asymmetric int8 grid of the observed range, gradient zero outside it.
TEST(Int8QatCallbackTest, InputsAreObservedInTrainingAndFakeQuantized) {
  TwoLayers model;
  absl::StatusOr<std::unique_ptr<Int8QatCallback>> qat = Int8QatCallback::Create(
      model, {"fc1", "fc2"},
      {.start_epoch = 0, .observer = {.method = CalibrationMethod::kMinMax}});
  ASSERT_THAT(qat, IsOk());
  const torch::Tensor x = torch::linspace(-1.0, 3.0, 40);
  EXPECT_TRUE(torch::equal((*qat)->OnLayerInput("fc1", x), x));  // not started
  ASSERT_THAT((*qat)->OnEpochBegin(0, 10), IsOk());

  model.train();
  const torch::Tensor y = (*qat)->OnLayerInput("fc1", x);
  const float scale = 4.0f / 255.0f;
  EXPECT_TRUE(OnGrid(y, torch::tensor(scale)));
  EXPECT_LE((y - x).abs().max().item<float>(), scale / 2 + 1e-6);
  ASSERT_EQ((*qat)->activation_ranges().size(), 1u);  // fc2 has seen nothing
  EXPECT_FLOAT_EQ((*qat)->activation_ranges().at("fc1").max, 3.0f);
  EXPECT_TRUE(torch::equal((*qat)->OnLayerInput("fc2", torch::ones({2})), torch::ones({2})));

  model.eval();  // the range stands: 5 is clipped to about 3, its gradient is 0
  const torch::Tensor wide = torch::tensor({-0.5f, 5.0f}).requires_grad_();
  const torch::Tensor clipped = (*qat)->OnLayerInput("fc1", wide);
  EXPECT_NEAR(clipped[1].item<float>(), 3.0f, scale);
  EXPECT_FLOAT_EQ((*qat)->activation_ranges().at("fc1").max, 3.0f);
  clipped.sum().backward();
  EXPECT_TRUE(torch::equal(wide.grad(), torch::tensor({1.0f, 0.0f})));
}

TEST(Int8QatCallbackTest, RejectsBadLayersAndOptions) {
  TwoLayers model;
  EXPECT_THAT(Int8QatCallback::Create(model, {"fc9"}, {}).status().message(),
              HasSubstr("no parameter 'fc9.weight'"));
  EXPECT_EQ(Int8QatCallback::Create(model, {"fc1"}, {.start_epoch = -1}).status().code(),
            absl::StatusCode::kInvalidArgument);
  Int8QatOptions bad;
  bad.observer.averaging_constant = 2.0;
  EXPECT_EQ(Int8QatCallback::Create(model, {"fc1"}, bad).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgecompress::quantization
