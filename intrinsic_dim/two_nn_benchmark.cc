// TwoNN on N points of dimension D (row-major floats), the shape of a layer's
// activations over a calibration set. The target for N = 2000, D = 4096 is
// under 1 s on 2 cores.
//
//   bazel run //intrinsic_dim:two_nn_benchmark -- --benchmark_min_time=1
#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "intrinsic_dim/two_nn.h"

namespace edgecompress {
namespace intrinsic_dim {
namespace {

// Points on a random 16-dimensional linear subspace plus isotropic noise, so
// the estimate is meaningful and nearest neighbours are not all ties.
std::vector<float> MakePoints(int64_t num_points, int64_t dimension) {
  constexpr int kLatent = 16;
  std::mt19937 rng(42);  // fixed: every run times the same data
  std::normal_distribution<float> normal;
  std::vector<float> basis(kLatent * dimension);
  for (float& x : basis) x = normal(rng);
  std::vector<float> points(num_points * dimension);
  std::vector<float> latent(kLatent);
  for (int64_t p = 0; p < num_points; ++p) {
    for (float& z : latent) z = normal(rng);
    for (int64_t k = 0; k < dimension; ++k) {
      float x = 0.01f * normal(rng);
      for (int l = 0; l < kLatent; ++l) x += latent[l] * basis[l * dimension + k];
      points[p * dimension + k] = x;
    }
  }
  return points;
}

void BM_EstimateTwoNN(benchmark::State& state) {
  const int64_t num_points = state.range(0), dimension = state.range(1);
  const std::vector<float> points = MakePoints(num_points, dimension);
  double dimension_estimate = 0.0;
  for (auto _ : state) {
    absl::StatusOr<TwoNNEstimate> estimate = EstimateTwoNN(points, num_points, dimension);
    if (!estimate.ok()) {
      state.SkipWithError(estimate.status().ToString().c_str());
      return;
    }
    // Not benchmark::DoNotOptimize(dimension_estimate): its "+m,r" asm in
    // benchmark 1.7.1 left garbage in the double under GCC 12 -O2 here. The
    // call is opaque (another translation unit, allocates), so it stays.
    dimension_estimate = estimate->mle_dimension;
  }
  state.counters["mle_dimension"] = dimension_estimate;
  // Multiply-adds in the upper half of the Gram matrix, as FLOP/s.
  state.counters["flops"] =
      benchmark::Counter(static_cast<double>(num_points) * num_points * dimension,
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_EstimateTwoNN)->Args({2000, 64})->Args({2000, 4096})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace intrinsic_dim
}  // namespace edgecompress
