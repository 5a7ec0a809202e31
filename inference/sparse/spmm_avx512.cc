// SpmmAvx512: the algorithm of spmm.h with AVX-512F intrinsics for the
// multiply-adds (AVX2 transposes and the tile loops, spmm_x86_common.h).
// This file alone is compiled with -mavx512f -mavx2 -mfma
// (inference/sparse/BUILD), so nothing here may run before
// BestSpmmKernel() has checked the CPU.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "inference/sparse/spmm.h"
#include "inference/sparse/spmm_x86_common.h"

namespace edgecompress::inference::sparse {
namespace {

constexpr size_t kTile = kSpmmTilePixels;
static_assert(kTile == 64, "the inner loop keeps 4 vectors of 16 pixels");

// dst[c * dst_stride + r] = src[r * src_stride + c] for r, c in [0, 16):
// 64 shuffles and 32 whole-vector loads and stores per 256 floats, against
// 96 shuffles and 64 half-vector moves for four 8x8 AVX2 blocks. At 90%
// sparsity the tile transposes cost about as much as the multiply-adds.
inline void Transpose16x16(const float* src, size_t src_stride, float* dst, size_t dst_stride) {
  __m512 r[16], t[16], u[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm512_loadu_ps(src + i * src_stride);
  // t[2i], t[2i + 1]: rows 2i and 2i + 1 interleaved, per 128-bit lane.
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  // u[4g + j], lane L: column 4L + j of rows 4g .. 4g + 3.
  for (int g = 0; g < 4; ++g) {
    u[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
    u[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
    u[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
    u[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
  }
  // Column 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j].
  for (int j = 0; j < 4; ++j) {
    const __m512 ab01 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x44);
    const __m512 ab23 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xEE);
    const __m512 cd01 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x44);
    const __m512 cd23 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xEE);
    _mm512_storeu_ps(dst + (0 + j) * dst_stride, _mm512_shuffle_f32x4(ab01, cd01, 0x88));
    _mm512_storeu_ps(dst + (4 + j) * dst_stride, _mm512_shuffle_f32x4(ab01, cd01, 0xDD));
    _mm512_storeu_ps(dst + (8 + j) * dst_stride, _mm512_shuffle_f32x4(ab23, cd23, 0x88));
    _mm512_storeu_ps(dst + (12 + j) * dst_stride, _mm512_shuffle_f32x4(ab23, cd23, 0xDD));
  }
}

// x86::Transpose with 16x16 blocks; the strips at the edges go to it.
void Transpose16(const float* src, size_t src_stride, size_t n_rows, size_t n_cols, float* dst,
                 size_t dst_stride) {
  const size_t rows16 = n_rows / 16 * 16, cols16 = n_cols / 16 * 16;
  for (size_t r = 0; r < rows16; r += 16) {
    for (size_t c = 0; c < cols16; c += 16) {
      Transpose16x16(src + r * src_stride + c, src_stride, dst + c * dst_stride + r, dst_stride);
    }
  }
  x86::Transpose(src + cols16, src_stride, rows16, n_cols - cols16, dst + cols16 * dst_stride,
                 dst_stride);
  x86::Transpose(src + rows16 * src_stride, src_stride, n_rows - rows16, n_cols, dst + rows16,
                 dst_stride);
}

}  // namespace

void SpmmAvx512(const SpmmProblem& problem, size_t begin, size_t end, float* scratch) {
  const uint32_t* columns = problem.weights->columns.data();
  const float* values = problem.weights->values.data();
  const __m512 vmin = _mm512_set1_ps(problem.output_min);
  const __m512 vmax = _mm512_set1_ps(problem.output_max);
  x86::SpmmTiles(problem, begin, end, scratch, &Transpose16,
                 [&](const float* xt, uint32_t i, uint32_t end, float bias, bool first_panel,
                     bool last_panel, float* out) {
                   // Two sets of four 16-float accumulators, for even and odd
                   // nonzeros: an FMA's latency (4 cycles) times two FMA
                   // ports needs eight sums in flight.
                   __m512 a0, a1, a2, a3;
                   if (first_panel) {
                     a0 = a1 = a2 = a3 = _mm512_set1_ps(bias);
                   } else {
                     a0 = _mm512_load_ps(out + 0);
                     a1 = _mm512_load_ps(out + 16);
                     a2 = _mm512_load_ps(out + 32);
                     a3 = _mm512_load_ps(out + 48);
                   }
                   __m512 e0 = _mm512_setzero_ps(), e1 = e0, e2 = e0, e3 = e0;
                   for (; i + 2 <= end; i += 2) {
                     const __m512 v = _mm512_set1_ps(values[i]);
                     const float* c = xt + static_cast<size_t>(columns[i]) * kTile;
                     const __m512 u = _mm512_set1_ps(values[i + 1]);
                     const float* d = xt + static_cast<size_t>(columns[i + 1]) * kTile;
                     a0 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 0), a0);
                     a1 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 16), a1);
                     a2 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 32), a2);
                     a3 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 48), a3);
                     e0 = _mm512_fmadd_ps(u, _mm512_load_ps(d + 0), e0);
                     e1 = _mm512_fmadd_ps(u, _mm512_load_ps(d + 16), e1);
                     e2 = _mm512_fmadd_ps(u, _mm512_load_ps(d + 32), e2);
                     e3 = _mm512_fmadd_ps(u, _mm512_load_ps(d + 48), e3);
                   }
                   if (i < end) {
                     const __m512 v = _mm512_set1_ps(values[i]);
                     const float* c = xt + static_cast<size_t>(columns[i]) * kTile;
                     a0 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 0), a0);
                     a1 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 16), a1);
                     a2 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 32), a2);
                     a3 = _mm512_fmadd_ps(v, _mm512_load_ps(c + 48), a3);
                   }
                   a0 = _mm512_add_ps(a0, e0);
                   a1 = _mm512_add_ps(a1, e1);
                   a2 = _mm512_add_ps(a2, e2);
                   a3 = _mm512_add_ps(a3, e3);
                   if (last_panel) {
                     a0 = _mm512_min_ps(_mm512_max_ps(a0, vmin), vmax);
                     a1 = _mm512_min_ps(_mm512_max_ps(a1, vmin), vmax);
                     a2 = _mm512_min_ps(_mm512_max_ps(a2, vmin), vmax);
                     a3 = _mm512_min_ps(_mm512_max_ps(a3, vmin), vmax);
                   }
                   _mm512_store_ps(out + 0, a0);
                   _mm512_store_ps(out + 16, a1);
                   _mm512_store_ps(out + 32, a2);
                   _mm512_store_ps(out + 48, a3);
                 });
}

}  // namespace edgecompress::inference::sparse
