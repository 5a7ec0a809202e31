// SpmmAvx2: the algorithm of spmm.h with AVX2 + FMA intrinsics. This file
// alone is compiled with -mavx2 -mfma (inference/sparse/BUILD), so nothing
// here may run before BestSpmmKernel() has checked the CPU.
#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "inference/sparse/spmm.h"

namespace edgecompress::inference::sparse {
namespace {

constexpr size_t kTile = kSpmmTilePixels;
static_assert(kTile == 64, "the inner loop keeps 8 vectors of 8 pixels");

// dst[c * dst_stride + r] = src[r * src_stride + c] for r, c in [0, 8).
inline void Transpose8x8(const float* src, size_t src_stride, float* dst, size_t dst_stride) {
  const __m256 r0 = _mm256_loadu_ps(src + 0 * src_stride);
  const __m256 r1 = _mm256_loadu_ps(src + 1 * src_stride);
  const __m256 r2 = _mm256_loadu_ps(src + 2 * src_stride);
  const __m256 r3 = _mm256_loadu_ps(src + 3 * src_stride);
  const __m256 r4 = _mm256_loadu_ps(src + 4 * src_stride);
  const __m256 r5 = _mm256_loadu_ps(src + 5 * src_stride);
  const __m256 r6 = _mm256_loadu_ps(src + 6 * src_stride);
  const __m256 r7 = _mm256_loadu_ps(src + 7 * src_stride);
  const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
  const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
  const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
  const __m256 s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
  _mm256_storeu_ps(dst + 0 * dst_stride, _mm256_permute2f128_ps(s0, s4, 0x20));
  _mm256_storeu_ps(dst + 1 * dst_stride, _mm256_permute2f128_ps(s1, s5, 0x20));
  _mm256_storeu_ps(dst + 2 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x20));
  _mm256_storeu_ps(dst + 3 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x20));
  _mm256_storeu_ps(dst + 4 * dst_stride, _mm256_permute2f128_ps(s0, s4, 0x31));
  _mm256_storeu_ps(dst + 5 * dst_stride, _mm256_permute2f128_ps(s1, s5, 0x31));
  _mm256_storeu_ps(dst + 6 * dst_stride, _mm256_permute2f128_ps(s2, s6, 0x31));
  _mm256_storeu_ps(dst + 7 * dst_stride, _mm256_permute2f128_ps(s3, s7, 0x31));
}

// dst[c * dst_stride + r] = src[r * src_stride + c] for r < n_rows, c < n_cols:
// 8x8 blocks where both are whole, scalar at the edges.
void Transpose(const float* src, size_t src_stride, size_t n_rows, size_t n_cols, float* dst,
               size_t dst_stride) {
  const size_t rows8 = n_rows / 8 * 8, cols8 = n_cols / 8 * 8;
  for (size_t r = 0; r < rows8; r += 8) {
    for (size_t c = 0; c < cols8; c += 8) {
      Transpose8x8(src + r * src_stride + c, src_stride, dst + c * dst_stride + r, dst_stride);
    }
    for (size_t c = cols8; c < n_cols; ++c) {
      for (size_t i = r; i < r + 8; ++i) dst[c * dst_stride + i] = src[i * src_stride + c];
    }
  }
  for (size_t r = rows8; r < n_rows; ++r) {
    for (size_t c = 0; c < n_cols; ++c) dst[c * dst_stride + r] = src[r * src_stride + c];
  }
}

// bias[o] + row o of `w` times `x`, in four partial sums so that the adds
// do not wait on each other's latency.
inline float SparseDot(const CsrMatrix& w, size_t o, const float* x, const float* bias) {
  const uint32_t* columns = w.columns.data();
  const float* values = w.values.data();
  float s0 = bias != nullptr ? bias[o] : 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  uint32_t i = w.row_begin[o];
  const uint32_t end = w.row_begin[o + 1];
  for (; i + 4 <= end; i += 4) {
    s0 += values[i] * x[columns[i]];
    s1 += values[i + 1] * x[columns[i + 1]];
    s2 += values[i + 2] * x[columns[i + 2]];
    s3 += values[i + 3] * x[columns[i + 3]];
  }
  for (; i < end; ++i) s0 += values[i] * x[columns[i]];
  return (s0 + s1) + (s2 + s3);
}

}  // namespace

void SpmmAvx2(const SpmmProblem& problem, size_t begin, size_t end, float* scratch) {
  const CsrMatrix& w = *problem.weights;
  const size_t rows = w.rows, cols = w.cols;
  float* xt = scratch;                 // [cols][kTile]
  float* yt = scratch + cols * kTile;  // [rows][kTile]
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
        for (size_t o = 0; o < rows; ++o) {
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
    for (size_t o = 0; o < rows; ++o) {
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
      float* out = yt + o * kTile;
      _mm256_storeu_ps(out + 0, _mm256_min_ps(_mm256_max_ps(a0, vmin), vmax));
      _mm256_storeu_ps(out + 8, _mm256_min_ps(_mm256_max_ps(a1, vmin), vmax));
      _mm256_storeu_ps(out + 16, _mm256_min_ps(_mm256_max_ps(a2, vmin), vmax));
      _mm256_storeu_ps(out + 24, _mm256_min_ps(_mm256_max_ps(a3, vmin), vmax));
      _mm256_storeu_ps(out + 32, _mm256_min_ps(_mm256_max_ps(a4, vmin), vmax));
      _mm256_storeu_ps(out + 40, _mm256_min_ps(_mm256_max_ps(a5, vmin), vmax));
      _mm256_storeu_ps(out + 48, _mm256_min_ps(_mm256_max_ps(a6, vmin), vmax));
      _mm256_storeu_ps(out + 56, _mm256_min_ps(_mm256_max_ps(a7, vmin), vmax));
    }
    Transpose(yt, kTile, rows, n, y, rows);
  }
}

}  // namespace edgecompress::inference::sparse
