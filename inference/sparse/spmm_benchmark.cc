// spmm_benchmark: our SpMM kernels against XNNPACK's dense 1x1 convolution
// on the pointwise layers of MobileNet-v1 at 224x224 (batch 1), per
// sparsity, measured interleaved (dense, portable, best) in one run so that
// the ratios hold on a loaded machine. One thread.
//
//   bazel run -c opt //inference/sparse:spmm_benchmark
//
// Columns: layer shape, sparsity, median ms of XNNPACK dense, our portable,
// AVX2 and best kernel, dense / best (above 1: sparse wins), and the best
// kernel's useful GFLOP/s (2 * nonzeros * pixels / time).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "inference/sparse/spmm.h"
#include "inference/xnn_graph.h"

namespace edgecompress::inference::sparse {
namespace {

struct Shape {
  size_t pixels, cols, rows;
};
// MobileNet-v1 224: the 13 pointwise layers' distinct shapes and the fc.
constexpr Shape kShapes[] = {{112 * 112, 32, 64}, {56 * 56, 64, 128},  {56 * 56, 128, 128},
                             {28 * 28, 128, 256}, {28 * 28, 256, 256}, {14 * 14, 256, 512},
                             {14 * 14, 512, 512}, {7 * 7, 512, 1024},  {7 * 7, 1024, 1024},
                             {1, 1024, 1000}};

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main() {
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::printf("%-20s %8s %10s %10s %10s %10s %8s %8s\n", "pixels x cin->cout", "sparsity",
              "dense_ms", "portable", "avx2_ms", "best_ms", "speedup", "GFLOP/s");
  const SpmmKernel best = BestSpmmKernel();
  for (const Shape& s : kShapes) {
    std::vector<float> x(s.pixels * s.cols), y(s.pixels * s.rows), bias(s.rows, 0.1f);
    for (float& v : x) v = normal(rng);
    for (double sparsity : {0.0, 0.7, 0.8, 0.9, 0.95}) {
      std::vector<float> w(s.rows * s.cols);
      for (float& v : w)
        v = std::uniform_real_distribution<double>(0, 1)(rng) < sparsity ? 0.0f : normal(rng);
      absl::StatusOr<CsrMatrix> csr = CsrFromDense(w, s.rows, s.cols);
      absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
      if (!csr.ok() || !builder.ok()) return 1;
      Conv2DParams params;
      params.input_channels = s.cols;
      params.output_channels = s.rows;
      params.kernel_height = params.kernel_width = 1;
      absl::StatusOr<ValueId> in = builder->AddInput({1, s.pixels, 1, s.cols});
      absl::StatusOr<ValueId> out = builder->AddConv2D(*in, params, w, bias);
      absl::StatusOr<ValueId> relu = builder->AddClamp(*out, 0.0f, 6.0f);
      if (!builder->MarkOutput(*relu).ok()) return 1;
      absl::StatusOr<Runtime> runtime = builder->Build(1);
      if (!runtime.ok()) return 1;
      std::vector<float> scratch(SpmmScratchFloats(s.rows, s.cols));
      SpmmProblem problem{&*csr, bias.data(), 0.0f, 6.0f, x.data(), y.data(), s.pixels};
      std::vector<double> dense_ms, portable_ms, avx2_ms, best_ms;
      const int reps = s.pixels > 1000 ? 15 : 200;
      for (int rep = -2; rep < reps; ++rep) {
        const double t0 = Now();
        if (!runtime->Run(x, absl::MakeSpan(y)).ok()) return 1;
        const double t1 = Now();
        SpmmPortable(problem, 0, s.pixels, scratch.data());
        const double t2 = Now();
#if defined(__x86_64__)
        if (best != &SpmmPortable) SpmmAvx2(problem, 0, s.pixels, scratch.data());
#endif
        const double t2b = Now();
        best(problem, 0, s.pixels, scratch.data());
        const double t3 = Now();
        if (rep < 0) continue;
        dense_ms.push_back((t1 - t0) * 1e3);
        portable_ms.push_back((t2 - t1) * 1e3);
        avx2_ms.push_back((t2b - t2) * 1e3);
        best_ms.push_back((t3 - t2b) * 1e3);
      }
      const double d = Median(dense_ms), p = Median(portable_ms), a = Median(avx2_ms),
                   b = Median(best_ms);
      char shape[64];
      std::snprintf(shape, sizeof(shape), "%zu x %zu->%zu", s.pixels, s.cols, s.rows);
      std::printf("%-20s %8.2f %10.4f %10.4f %10.4f %10.4f %8.2f %8.1f\n", shape, sparsity, d, p, a,
                  b, d / b, 2.0 * csr->nonzeros() * s.pixels / (b * 1e6));
    }
  }
  std::printf("best kernel: %s\n", SpmmKernelName(best));
  return 0;
}

}  // namespace
}  // namespace edgecompress::inference::sparse

int main() { return edgecompress::inference::sparse::Main(); }
