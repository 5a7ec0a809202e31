#include "training/ops/max_pool.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <tuple>

#include "gtest/gtest.h"

namespace edgecompress::training {
namespace {

struct Case {
  std::vector<int64_t> shape;
  int64_t kernel;
  bool channels_last;
};

// Forward value and input gradient of `pool` for a fixed upstream gradient.
std::pair<torch::Tensor, torch::Tensor> RunPool(
    const torch::Tensor& input, const torch::Tensor& grad_out,
    const std::function<torch::Tensor(const torch::Tensor&)>& pool) {
  torch::Tensor x = input.detach().clone(input.suggest_memory_format()).requires_grad_(true);
  torch::Tensor y = pool(x);
  y.backward(grad_out);
  return {y.detach(), x.grad()};
}

class MaxPoolTest : public ::testing::TestWithParam<std::tuple<Case, PoolInput>> {};

TEST_P(MaxPoolTest, EqualsTorchForwardAndBackward) {
  const auto [c, input] = GetParam();
  torch::manual_seed(7);
  // Values from a small set make ties frequent (the first maximum must win)
  // and, for kRelu, windows without a positive value common.
  torch::Tensor x = torch::randint(-3, 4, c.shape).to(torch::kFloat);
  if (c.channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto torch_pool = [&](const torch::Tensor& t) {
    return torch::max_pool2d(input == PoolInput::kRelu ? torch::relu(t) : t, {c.kernel, c.kernel},
                             {c.kernel, c.kernel});
  };
  const torch::Tensor grad_out = torch::randn(torch_pool(x).sizes());
  auto [ours, ours_grad] = RunPool(
      x, grad_out,
      [&](const torch::Tensor& t) { return MaxPool2dNonOverlapping(t, c.kernel, input); });
  auto [theirs, theirs_grad] = RunPool(x, grad_out, torch_pool);
  ASSERT_EQ(ours.sizes(), theirs.sizes());
  EXPECT_TRUE(torch::equal(ours, theirs));
  EXPECT_TRUE(torch::equal(ours_grad, theirs_grad));
  EXPECT_EQ(ours.suggest_memory_format(), theirs.suggest_memory_format());
  EXPECT_EQ(ours.strides(), theirs.strides());
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, MaxPoolTest,
    ::testing::Combine(
        ::testing::Values(Case{{3, 6, 28, 28}, 2, false}, Case{{3, 6, 28, 28}, 2, true},
                          // Odd sizes: trailing rows and columns are dropped.
                          Case{{2, 5, 9, 11}, 2, false}, Case{{2, 5, 9, 11}, 2, true},
                          Case{{2, 4, 10, 8}, 3, false}, Case{{2, 4, 10, 8}, 3, true},
                          // No compile-time specialisation for 4; 11 is the largest ours.
                          Case{{1, 3, 13, 17}, 4, false}, Case{{1, 5, 13, 17}, 4, true},
                          Case{{1, 2, 23, 12}, 11, false}, Case{{1, 2, 23, 12}, 11, true},
                          // Torch's own: channels-last from 16 channels on, kernel 12.
                          Case{{2, 16, 10, 10}, 2, true}, Case{{1, 2, 24, 24}, 12, false},
                          Case{{4, 1, 6, 6}, 2, false}),
        ::testing::Values(PoolInput::kAsIs, PoolInput::kRelu)));

TEST(MaxPoolNanTest, NanWinsLikeTorch) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  torch::Tensor x = torch::tensor({1.f, nan, 5.f, 2.f, -1.f, 0.f, 3.f, nan}).reshape({1, 2, 2, 2});
  const torch::Tensor ours = MaxPool2dNonOverlapping(x, 2);
  EXPECT_TRUE(std::isnan(ours[0][0][0][0].item<float>()));
  EXPECT_TRUE(std::isnan(ours[0][1][0][0].item<float>()));
  // relu(NaN) is NaN in torch, so NaN wins over the ReLU's zero too.
  const torch::Tensor relu_first = MaxPool2dNonOverlapping(-x, 2, PoolInput::kRelu);
  EXPECT_TRUE(std::isnan(relu_first[0][0][0][0].item<float>()));
  EXPECT_TRUE(std::isnan(relu_first[0][1][0][0].item<float>()));
}

TEST(MaxPoolFallbackTest, OtherInputsUseTorch) {
  // Double precision and 3-D inputs are not ours; the result must still be torch's.
  const torch::Tensor x = torch::randn({2, 3, 8, 8}, torch::kDouble);
  EXPECT_TRUE(torch::equal(MaxPool2dNonOverlapping(x, 2), torch::max_pool2d(x, {2, 2}, {2, 2})));
  const torch::Tensor y = torch::randn({3, 8, 8});
  EXPECT_TRUE(torch::equal(MaxPool2dNonOverlapping(y, 2), torch::max_pool2d(y, {2, 2}, {2, 2})));
}

}  // namespace
}  // namespace edgecompress::training
