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

}  // namespace

void SpmmAvx512(const SpmmProblem& problem, size_t begin, size_t end, float* scratch) {
  const uint32_t* columns = problem.weights->columns.data();
  const float* values = problem.weights->values.data();
  const __m512 vmin = _mm512_set1_ps(problem.output_min);
  const __m512 vmax = _mm512_set1_ps(problem.output_max);
  x86::SpmmTiles(problem, begin, end, scratch,
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
