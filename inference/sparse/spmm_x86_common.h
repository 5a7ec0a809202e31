// Pieces shared by the x86 SpMM kernels (spmm_avx2.cc, spmm_avx512.cc):
// AVX2 transposes and the few-pixel sparse dot product. Header-only and
// inline, for files compiled with at least -mavx2 -mfma; nothing else may
// include it.
#ifndef EDGECOMPRESS_INFERENCE_SPARSE_SPMM_X86_COMMON_H_
#define EDGECOMPRESS_INFERENCE_SPARSE_SPMM_X86_COMMON_H_

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "inference/sparse/spmm.h"

namespace edgecompress::inference::sparse::x86 {

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

}  // namespace edgecompress::inference::sparse::x86

#endif  // EDGECOMPRESS_INFERENCE_SPARSE_SPMM_X86_COMMON_H_
