#include "inference/sparse/spmm.h"

#include <cmath>
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::inference::sparse {
namespace {

using ::edgecompress::IsOk;
using ::edgecompress::StatusIs;

// Every kernel this CPU can run: the portable one, AVX2 where the best is
// AVX2 or AVX-512, and AVX-512.
std::vector<SpmmKernel> KernelsOnThisCpu() {
  std::vector<SpmmKernel> kernels = {&SpmmPortable};
#if defined(__x86_64__)
  if (BestSpmmKernel() != &SpmmPortable) kernels.push_back(&SpmmAvx2);
  if (BestSpmmKernel() == &SpmmAvx512) kernels.push_back(&SpmmAvx512);
#endif
  return kernels;
}

// A [rows, cols] matrix with about `sparsity` of its entries exactly zero.
std::vector<float> RandomSparse(size_t rows, size_t cols, double sparsity, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_real_distribution<double> keep(0.0, 1.0);
  std::vector<float> dense(rows * cols);
  for (float& w : dense) w = keep(rng) < sparsity ? 0.0f : value(rng);
  return dense;
}

TEST(CsrFromDenseTest, KeepsNonzerosInRowOrder) {
  // [[0, 2, 0], [0, 0, 0], [3, 0, 4]]
  const std::vector<float> dense = {0, 2, 0, 0, 0, 0, 3, 0, 4};
  absl::StatusOr<CsrMatrix> csr = CsrFromDense(dense, 3, 3);
  ASSERT_THAT(csr.status(), IsOk());
  EXPECT_EQ(csr->row_begin, (std::vector<uint32_t>{0, 1, 1, 3}));
  EXPECT_EQ(csr->columns, (std::vector<uint32_t>{1, 0, 2}));
  EXPECT_EQ(csr->values, (std::vector<float>{2, 3, 4}));
  EXPECT_DOUBLE_EQ(csr->sparsity(), 6.0 / 9.0);
}

TEST(CsrFromDenseTest, IndexesEachRowsNonzerosPerColumnPanel) {
  // Two rows over three panels (columns 0-127, 128-255, 256-299): row 0 has
  // nonzeros at columns 5, 127, 128 and 299; row 1 only at column 200.
  const size_t cols = 300;
  std::vector<float> dense(2 * cols, 0.0f);
  for (size_t k : {5, 127, 128, 299}) dense[k] = 1.0f;
  dense[cols + 200] = 1.0f;
  absl::StatusOr<CsrMatrix> csr = CsrFromDense(dense, 2, cols);
  ASSERT_THAT(csr.status(), IsOk());
  ASSERT_EQ(csr->panels(), 3u);
  // panel_begin[q * rows + o] for q = 0..3.
  EXPECT_EQ(csr->panel_begin, (std::vector<uint32_t>{0, 4, 2, 4, 3, 5, 4, 5}));
}

TEST(CsrFromDenseTest, RejectsBadShapes) {
  const std::vector<float> dense(6, 1.0f);
  EXPECT_THAT(CsrFromDense(dense, 4, 2).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CsrFromDense(dense, 0, 6).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CsrFromDense(dense, 1u << 20, 1u << 13).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(SpmmTest, BestKernelIsNamed) {
  const char* name = SpmmKernelName(BestSpmmKernel());
  EXPECT_TRUE(std::string(name) == "avx512f" || std::string(name) == "avx2_fma" ||
              std::string(name) == "portable")
      << name;
}

struct Case {
  size_t rows, cols, pixels;
  double sparsity;
  bool bias;
  float output_min, output_max;
};

// Edges: pixel counts below, at and around the 4-pixel vector threshold and
// the 64-pixel tile; channel counts that are and are not multiples of 8
// (the AVX2 transposes' blocks) and of the 128-column panel; sparsities 0
// to 1 (all-zero rows).
constexpr Case kCases[] = {
    {8, 8, 1, 0.0, true, -INFINITY, INFINITY},
    {16, 24, 3, 0.5, true, 0.0f, 6.0f},
    {16, 24, 4, 0.5, false, -INFINITY, INFINITY},
    {13, 7, 31, 0.4, true, -1.0f, 1.0f},
    {64, 32, 32, 0.9, true, 0.0f, 6.0f},
    {64, 32, 33, 0.9, true, 0.0f, INFINITY},
    {40, 72, 100, 0.6, true, -INFINITY, INFINITY},
    {128, 64, 49, 0.99, true, 0.0f, 6.0f},
    {32, 16, 70, 1.0, true, -INFINITY, INFINITY},
    {1000, 256, 2, 0.9, true, -INFINITY, INFINITY},
    // Many tiles, and more output channels than a tile has pixels.
    {12, 8, 2500, 0.6, true, 0.0f, 6.0f},
    {150, 72, 200, 0.8, true, -INFINITY, INFINITY},
    // Two and three column panels, the last one partial.
    {24, 129, 64, 0.5, true, -INFINITY, INFINITY},
    {70, 300, 130, 0.85, true, 0.0f, 6.0f},
    {16, 256, 20, 0.0, false, -1.0f, 1.0f},
};

TEST(SpmmTest, MatchesDenseReference) {
  // --gtest_random_seed=N replays a failure.
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << c.rows << "x" << c.cols << " pixels " << c.pixels
                                      << " sparsity " << c.sparsity);
    const std::vector<float> dense = RandomSparse(c.rows, c.cols, c.sparsity, rng);
    absl::StatusOr<CsrMatrix> csr = CsrFromDense(dense, c.rows, c.cols);
    ASSERT_THAT(csr.status(), IsOk());
    std::vector<float> bias(c.rows), x(c.pixels * c.cols);
    for (float& b : bias) b = value(rng);
    for (float& v : x) v = value(rng);
    // Reference in double, clamped in float as the kernels are.
    std::vector<float> expected(c.pixels * c.rows);
    std::vector<double> magnitude(c.pixels * c.rows);
    for (size_t p = 0; p < c.pixels; ++p) {
      for (size_t o = 0; o < c.rows; ++o) {
        double acc = c.bias ? bias[o] : 0.0, abs_sum = std::abs(acc);
        for (size_t k = 0; k < c.cols; ++k) {
          acc += static_cast<double>(dense[o * c.cols + k]) * x[p * c.cols + k];
          abs_sum += std::abs(static_cast<double>(dense[o * c.cols + k]) * x[p * c.cols + k]);
        }
        expected[p * c.rows + o] =
            std::min(std::max(static_cast<float>(acc), c.output_min), c.output_max);
        magnitude[p * c.rows + o] = abs_sum;
      }
    }
    for (SpmmKernel kernel : KernelsOnThisCpu()) {
      SCOPED_TRACE(SpmmKernelName(kernel));
      std::vector<float> y(c.pixels * c.rows, NAN),
          scratch(SpmmScratchFloats(c.rows, c.cols) + 1);
      SpmmProblem problem{
          &*csr,   c.bias ? bias.data() : nullptr, c.output_min, c.output_max, x.data(), y.data(),
          c.pixels};
      // Two calls over a split range, as the thread pool makes them.
      const size_t split = c.pixels / 2;
      kernel(problem, 0, split, scratch.data());
      kernel(problem, split, c.pixels, scratch.data());
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], expected[i], 1e-5 * (1.0 + magnitude[i])) << "at " << i;
      }
      // Split by output channels instead, as threads do for few pixels; and
      // scratch that is not 64-byte aligned, which kernels must accept.
      std::fill(y.begin(), y.end(), NAN);
      SpmmProblem part = problem;
      part.first_row = 0;
      part.end_row = c.rows / 3 + 1;
      kernel(part, 0, c.pixels, scratch.data() + 1);
      part.first_row = part.end_row;
      part.end_row = c.rows;
      kernel(part, 0, c.pixels, scratch.data() + 1);
      for (size_t i = 0; i < y.size(); ++i) {
        ASSERT_NEAR(y[i], expected[i], 1e-5 * (1.0 + magnitude[i])) << "rows split, at " << i;
      }
    }
  }
}

}  // namespace
}  // namespace edgecompress::inference::sparse
