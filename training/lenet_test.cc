#include "training/lenet.h"

#include <torch/torch.h>

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

}  // namespace
}  // namespace edgecompress::training
