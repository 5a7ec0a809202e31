#include "training/ops/batch_norm.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <tuple>

#include "gtest/gtest.h"

namespace edgecompress::training {
namespace {

struct Result {
  torch::Tensor out, grad_x, grad_residual, grad_weight, grad_bias, running_mean, running_var,
      batches;
};

// One training step of a BatchNorm2d (weights and running statistics from
// seed 3) on `input`, followed by the epilogue, either fused or as torch's
// separate ops; backward with a fixed upstream gradient.
Result Step(bool fused, const torch::Tensor& input, bool residual, bool relu) {
  torch::manual_seed(3);
  const int64_t channels = input.size(1);
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(channels).momentum(0.2));
  {
    torch::NoGradGuard no_grad;
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
    bn->running_mean.uniform_(-1, 1);
    bn->running_var.uniform_(0.5, 2);
  }
  bn->train();
  torch::Tensor x = input.detach().clone(input.suggest_memory_format()).requires_grad_(true);
  torch::Tensor r;
  if (residual) {
    r = torch::randn(input.sizes()).contiguous(input.suggest_memory_format()).requires_grad_(true);
  }
  torch::Tensor out;
  if (fused) {
    out = BatchNorm2dForward(*bn, x, {.residual = r, .relu = relu});
  } else {
    out = bn->forward(x);
    if (residual) out = out + r;
    if (relu) out = torch::relu(out);
  }
  const torch::Tensor grad_out = torch::randn(out.sizes());
  out.backward(grad_out);
  return {out.detach(), x.grad(), residual ? r.grad() : torch::Tensor(), bn->weight.grad(),
          bn->bias.grad(), bn->running_mean, bn->running_var, bn->num_batches_tracked};
}

void ExpectClose(const torch::Tensor& ours, const torch::Tensor& theirs, const char* what) {
  ASSERT_EQ(ours.sizes(), theirs.sizes()) << what;
  const double scale = theirs.abs().max().item<double>() + 1e-6;
  EXPECT_LT((ours - theirs).abs().max().item<double>() / scale, 2e-5) << what;
}

class BatchNormTest : public ::testing::TestWithParam<std::tuple<bool, bool, double>> {};

TEST_P(BatchNormTest, EqualsTorchInTraining) {
  const auto [residual, relu, offset] = GetParam();
  torch::manual_seed(11);
  // A large offset checks that the variance does not cancel away.
  const torch::Tensor x = (torch::randn({8, 16, 9, 7}) * 2 + offset)
                              .contiguous(torch::MemoryFormat::ChannelsLast);
  const Result ours = Step(true, x, residual, relu);
  const Result theirs = Step(false, x, residual, relu);
  EXPECT_TRUE(ours.out.is_contiguous(torch::MemoryFormat::ChannelsLast));
  ExpectClose(ours.out, theirs.out, "out");
  ExpectClose(ours.grad_x, theirs.grad_x, "grad x");
  if (residual) ExpectClose(ours.grad_residual, theirs.grad_residual, "grad residual");
  ExpectClose(ours.grad_weight, theirs.grad_weight, "grad weight");
  ExpectClose(ours.grad_bias, theirs.grad_bias, "grad bias");
  ExpectClose(ours.running_mean, theirs.running_mean, "running mean");
  ExpectClose(ours.running_var, theirs.running_var, "running var");
  EXPECT_TRUE(torch::equal(ours.batches, theirs.batches));
}

INSTANTIATE_TEST_SUITE_P(Epilogues, BatchNormTest,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool(),
                                            ::testing::Values(0.0, 50.0)));

TEST(BatchNormDeterminismTest, SameBitsOnOneAndTwoThreads) {
  torch::manual_seed(5);
  const torch::Tensor x =
      torch::randn({16, 32, 16, 16}).contiguous(torch::MemoryFormat::ChannelsLast);
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const Result one = Step(true, x, true, true);
  at::set_num_threads(2);
  const Result two = Step(true, x, true, true);
  at::set_num_threads(threads);
  EXPECT_TRUE(torch::equal(one.out, two.out));
  EXPECT_TRUE(torch::equal(one.grad_x, two.grad_x));
  EXPECT_TRUE(torch::equal(one.grad_weight, two.grad_weight));
}

TEST(BatchNormFallbackTest, NchwAndEvalRunTorch) {
  torch::manual_seed(2);
  const torch::Tensor x = torch::randn({4, 8, 5, 5});  // NCHW: not fused
  const Result ours = Step(true, x, true, true);
  const Result theirs = Step(false, x, true, true);
  EXPECT_TRUE(torch::equal(ours.out, theirs.out));
  EXPECT_TRUE(torch::equal(ours.grad_x, theirs.grad_x));

  torch::nn::BatchNorm2d bn(8);
  bn->eval();
  const torch::Tensor cl = x.contiguous(torch::MemoryFormat::ChannelsLast);
  EXPECT_TRUE(torch::allclose(BatchNorm2dForward(*bn, cl, {.relu = true}),
                              torch::relu(bn->forward(cl))));
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 0);
}

}  // namespace
}  // namespace edgecompress::training
