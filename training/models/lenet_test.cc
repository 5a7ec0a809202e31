#include "training/models/lenet.h"

#include <torch/torch.h>

#include <vector>

#include "gtest/gtest.h"

namespace edgecompress::training {
namespace {

// 156 + 2,416 + 48,120 + 10,164 + 850, derived in lenet.h.
TEST(LeNet5Test, HasTheClassicParameterCount) {
  LeNet5 model;
  EXPECT_EQ(CountParameters(model), 61706);
}

TEST(LeNet5Test, MapsImagesToClassScores) {
  torch::manual_seed(0);
  LeNet5 model(/*num_classes=*/7);
  const torch::Tensor logits = model.forward(torch::randn({3, 1, 28, 28}));
  EXPECT_EQ(logits.sizes(), (torch::IntArrayRef{3, 7}));
  EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
}

// The description and the module agree on every parameter's name and size.
TEST(LeNet5Test, DescriptionMatchesTheModule) {
  LeNet5 model;
  const LayerGraph graph = model.Describe();
  absl::StatusOr<std::vector<LayerMacs>> per_layer = MacsPerLayer(graph);
  ASSERT_TRUE(per_layer.ok()) << per_layer.status();
  const auto parameters = model.named_parameters();
  int64_t described = 0;
  for (const LayerMacs& layer : *per_layer) {
    const torch::Tensor* weight = parameters.find(layer.name + ".weight");
    ASSERT_NE(weight, nullptr) << layer.name;
    EXPECT_EQ(weight->numel(), layer.weights) << layer.name;
    described += layer.weights + parameters[layer.name + ".bias"].numel();
  }
  EXPECT_EQ(described, CountParameters(model));
}

}  // namespace
}  // namespace edgecompress::training
