// Pieces shared by the x86 SpMM kernels (spmm_avx2.cc, spmm_avx512.cc):
// AVX2 transposes and the few-pixel sparse dot product. Header-only and
// inline, for files compiled with at least -mavx2 -mfma; nothing else may
// include it.
#ifndef EDGECOMPRESS_INFERENCE_SPARSE_SPMM_X86_COMMON_H_
#define EDGECOMPRESS_INFERENCE_SPARSE_SPMM_X86_COMMON_H_

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "inference/sparse/spmm.h"

namespace edgecompress::inference::sparse::x86 {

// `scratch` rounded up to a 64-byte boundary (SpmmScratchFloats leaves 16
// floats of slack). The transposed tile is read in whole cache lines; with
// malloc's 16-byte alignment every 64-byte load straddled two lines, which
// cost the AVX-512 kernel 1.4-1.8x.
inline float* AlignScratch(float* scratch) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(scratch);
  return reinterpret_cast<float*>((address + 63) & ~uintptr_t{63});
}

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
inline void Transpose(const float* src, size_t src_stride, size_t n_rows, size_t n_cols, float* dst,
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

// The loops both x86 kernels share: 64-pixel tiles, the few-pixel path, and
// per tile the column panels (spmm.h), each transposed into xt and applied
// to every output channel's partial sums in yt (bias on the first panel,
// clamp on the last), then yt transposed back. `transpose` has the
// signature of Transpose below (the AVX-512 kernel passes a faster one);
// `update` is the kernel's inner loop:
//   update(xt, i, end, bias, first_panel, last_panel, out)
// sets out[0..63] (64-byte aligned) to (first_panel ? bias : out) + the sum
// over nonzeros [i, end) of values[i] * xt[columns[i]][0..63], clamped when
// last_panel.
template <typename TransposeFn, typename RowUpdate>
inline void SpmmTiles(const SpmmProblem& problem, size_t begin, size_t end, float* scratch,
                      TransposeFn transpose, RowUpdate update) {
  constexpr size_t kTile = kSpmmTilePixels;
  const CsrMatrix& w = *problem.weights;
  const size_t rows = w.rows, cols = w.cols, panels = w.panels();
  const size_t first_row = problem.first_row;
  const size_t end_row = problem.end_row == 0 ? rows : problem.end_row;
  float* xt = AlignScratch(scratch);  // [cols][kTile]
  float* yt = xt + cols * kTile;      // [end_row - first_row][kTile]
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
    for (size_t q = 0; q < panels; ++q) {
      const size_t k0 = q * kSpmmPanelColumns;
      const size_t k1 = std::min(cols, k0 + kSpmmPanelColumns);
      if (n < kTile) {
        // Pixels past the end are zeros (they are computed and never stored).
        for (size_t k = k0; k < k1; ++k) std::fill(xt + k * kTile + n, xt + (k + 1) * kTile, 0.0f);
      }
      transpose(x + k0, cols, n, k1 - k0, xt + k0 * kTile, kTile);
      const uint32_t* panel_begin = w.panel_begin.data() + q * rows;
      const uint32_t* panel_end = panel_begin + rows;
      for (size_t o = first_row; o < end_row; ++o) {
        update(xt, panel_begin[o], panel_end[o], problem.bias != nullptr ? problem.bias[o] : 0.0f,
               q == 0, q + 1 == panels, yt + (o - first_row) * kTile);
      }
    }
    transpose(yt, kTile, end_row - first_row, n, y + first_row, rows);
  }
}

}  // namespace edgecompress::inference::sparse::x86

#endif  // EDGECOMPRESS_INFERENCE_SPARSE_SPMM_X86_COMMON_H_
