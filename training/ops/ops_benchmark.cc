// Our training ops beside the torch ops they replace, forward + backward on
// the activation shapes of LeNet-5 and ResNet-20 at batch 64:
//
//   bazel run -c opt //training/ops:ops_benchmark -- --threads=1
//
// Each pair runs in the same process, so their ratio is what to read.
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdlib>
#include <cstring>

#include "training/ops/batch_norm.h"
#include "training/ops/max_pool.h"

namespace edgecompress::training {
namespace {

// Args: {channels, side}; the batch is 64, channels-last when state.range(2).
torch::Tensor Input(const benchmark::State& state) {
  torch::Tensor x = torch::randn({64, state.range(0), state.range(1), state.range(1)});
  if (state.range(2)) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  return x.requires_grad_(true);
}

void BM_TorchMaxPool(benchmark::State& state) {
  const torch::Tensor x = Input(state);
  for (auto _ : state) {
    torch::Tensor y = torch::max_pool2d(x, {2, 2}, {2, 2});
    y.backward(torch::ones_like(y));
  }
}

void BM_OurMaxPool(benchmark::State& state) {
  const torch::Tensor x = Input(state);
  for (auto _ : state) {
    torch::Tensor y = MaxPool2dNonOverlapping(x, 2);
    y.backward(torch::ones_like(y));
  }
}

// BatchNorm2d + residual + ReLU in training mode, as a ResNet block ends.
template <bool kFused>
void BM_BatchNormAddRelu(benchmark::State& state) {
  const torch::Tensor x = Input(state);
  const torch::Tensor residual = Input(state);
  torch::nn::BatchNorm2d bn(state.range(0));
  bn->train();
  for (auto _ : state) {
    torch::Tensor y = kFused ? BatchNorm2dForward(*bn, x, {.residual = residual, .relu = true})
                             : torch::relu(bn->forward(x) + residual);
    y.backward(torch::ones_like(y));
  }
}

void PoolShapes(benchmark::internal::Benchmark* b) {
  for (int cl : {0, 1}) b->Args({6, 28, cl})->Args({16, 10, cl});
}
void NormShapes(benchmark::internal::Benchmark* b) {
  b->Args({16, 32, 1})->Args({32, 16, 1})->Args({64, 8, 1});
}

BENCHMARK(BM_TorchMaxPool)->Apply(PoolShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OurMaxPool)->Apply(PoolShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_BatchNormAddRelu, false)->Apply(NormShapes)->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_BatchNormAddRelu, true)->Apply(NormShapes)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace edgecompress::training

// --threads=N (default 1) sets LibTorch's intra-op threads; the rest are
// benchmark flags.
int main(int argc, char** argv) {
  int threads = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) threads = std::atoi(argv[i] + 10);
  }
  at::set_num_threads(threads);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
