// SpmmAvx2: the algorithm of spmm.h with AVX2 + FMA intrinsics. This file
// alone is compiled with -mavx2 -mfma (inference/sparse/BUILD), so nothing
// here may run before BestSpmmKernel() has checked the CPU.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "inference/sparse/spmm.h"
#include "inference/sparse/spmm_x86_common.h"

namespace edgecompress::inference::sparse {
namespace {

using x86::SparseDot;
using x86::Transpose;

constexpr size_t kTile = kSpmmTilePixels;
static_assert(kTile == 64, "the inner loop keeps 8 vectors of 8 pixels");

}  // namespace

void SpmmAvx2(const SpmmProblem& problem, size_t begin, size_t end, float* scratch) {
  const CsrMatrix& w = *problem.weights;
  const size_t rows = w.rows, cols = w.cols;
  const size_t first_row = problem.first_row;
  const size_t end_row = problem.end_row == 0 ? rows : problem.end_row;
  float* xt = scratch;                 // [cols][kTile]
  float* yt = scratch + cols * kTile;  // [end_row - first_row][kTile]
  const __m256 vmin = _mm256_set1_ps(problem.output_min);
  const __m256 vmax = _mm256_set1_ps(problem.output_max);
  const uint32_t* row_begin = w.row_begin.data();
  const uint32_t* columns = w.columns.data();
  const float* values = w.values.data();
  for (size_t p0 = begin; p0 < end; p0 += kTile) {
    const size_t n = std::min(kTile, end - p0);
    const float* x = problem.x + p0 * cols;
    float* y = problem.y + p0 * rows;
    if (n < kSpmmMinVectorPixels) {
      // Too few pixels to fill a vector (a fully connected layer at batch 1).
      for (size_t j = 0; j < n; ++j) {
        const float* xj = x + j * cols;
        for (size_t o = first_row; o < end_row; ++o) {
          y[j * rows + o] = std::min(
              std::max(SparseDot(w, o, xj, problem.bias), problem.output_min), problem.output_max);
        }
      }
      continue;
    }
    if (n < kTile) {
      // Pixels past the end are zeros (they are computed and never stored).
      for (size_t k = 0; k < cols; ++k) std::fill(xt + k * kTile + n, xt + (k + 1) * kTile, 0.0f);
    }
    Transpose(x, cols, n, cols, xt, kTile);
    for (size_t o = first_row; o < end_row; ++o) {
      // Eight independent accumulators (64 pixels): an FMA's latency (4
      // cycles) times two FMA ports needs 8 sums in flight to keep them busy.
      const __m256 b = _mm256_set1_ps(problem.bias != nullptr ? problem.bias[o] : 0.0f);
      __m256 a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
      for (uint32_t i = row_begin[o]; i < row_begin[o + 1]; ++i) {
        const __m256 v = _mm256_broadcast_ss(values + i);
        const float* c = xt + static_cast<size_t>(columns[i]) * kTile;
        a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 0), a0);
        a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 8), a1);
        a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 16), a2);
        a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 24), a3);
        a4 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 32), a4);
        a5 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 40), a5);
        a6 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 48), a6);
        a7 = _mm256_fmadd_ps(v, _mm256_loadu_ps(c + 56), a7);
      }
      float* out = yt + (o - first_row) * kTile;
      _mm256_storeu_ps(out + 0, _mm256_min_ps(_mm256_max_ps(a0, vmin), vmax));
      _mm256_storeu_ps(out + 8, _mm256_min_ps(_mm256_max_ps(a1, vmin), vmax));
      _mm256_storeu_ps(out + 16, _mm256_min_ps(_mm256_max_ps(a2, vmin), vmax));
      _mm256_storeu_ps(out + 24, _mm256_min_ps(_mm256_max_ps(a3, vmin), vmax));
      _mm256_storeu_ps(out + 32, _mm256_min_ps(_mm256_max_ps(a4, vmin), vmax));
      _mm256_storeu_ps(out + 40, _mm256_min_ps(_mm256_max_ps(a5, vmin), vmax));
      _mm256_storeu_ps(out + 48, _mm256_min_ps(_mm256_max_ps(a6, vmin), vmax));
      _mm256_storeu_ps(out + 56, _mm256_min_ps(_mm256_max_ps(a7, vmin), vmax));
    }
    Transpose(yt, kTile, end_row - first_row, n, y + first_row, rows);
  }
}

}  // namespace edgecompress::inference::sparse
