// SpmmAvx2: the algorithm of spmm.h with AVX2 + FMA intrinsics (the tile
// loops and transposes in spmm_x86_common.h). This file alone is compiled
// with -mavx2 -mfma (inference/sparse/BUILD), so nothing here may run
// before BestSpmmKernel() has checked the CPU.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "inference/sparse/spmm.h"
#include "inference/sparse/spmm_x86_common.h"

namespace edgecompress::inference::sparse {
namespace {

constexpr size_t kTile = kSpmmTilePixels;
static_assert(kTile == 64, "the inner loop keeps 8 vectors of 8 pixels");

}  // namespace

void SpmmAvx2(const SpmmProblem& problem, size_t begin, size_t end, float* scratch) {
  const uint32_t* columns = problem.weights->columns.data();
  const float* values = problem.weights->values.data();
  const __m256 vmin = _mm256_set1_ps(problem.output_min);
  const __m256 vmax = _mm256_set1_ps(problem.output_max);
  x86::SpmmTiles(problem, begin, end, scratch, &x86::Transpose,
                 [&](const float* xt, uint32_t i, uint32_t end, float bias, bool first_panel,
                     bool last_panel, float* out) {
                   // Eight independent accumulators (64 pixels): an FMA's
                   // latency (4 cycles) times two FMA ports needs 8 sums in
                   // flight to keep them busy.
                   __m256 a0, a1, a2, a3, a4, a5, a6, a7;
                   if (first_panel) {
                     a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = _mm256_set1_ps(bias);
                   } else {
                     a0 = _mm256_load_ps(out + 0);
                     a1 = _mm256_load_ps(out + 8);
                     a2 = _mm256_load_ps(out + 16);
                     a3 = _mm256_load_ps(out + 24);
                     a4 = _mm256_load_ps(out + 32);
                     a5 = _mm256_load_ps(out + 40);
                     a6 = _mm256_load_ps(out + 48);
                     a7 = _mm256_load_ps(out + 56);
                   }
                   for (; i < end; ++i) {
                     const __m256 v = _mm256_broadcast_ss(values + i);
                     const float* c = xt + static_cast<size_t>(columns[i]) * kTile;
                     a0 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 0), a0);
                     a1 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 8), a1);
                     a2 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 16), a2);
                     a3 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 24), a3);
                     a4 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 32), a4);
                     a5 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 40), a5);
                     a6 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 48), a6);
                     a7 = _mm256_fmadd_ps(v, _mm256_load_ps(c + 56), a7);
                   }
                   if (last_panel) {
                     a0 = _mm256_min_ps(_mm256_max_ps(a0, vmin), vmax);
                     a1 = _mm256_min_ps(_mm256_max_ps(a1, vmin), vmax);
                     a2 = _mm256_min_ps(_mm256_max_ps(a2, vmin), vmax);
                     a3 = _mm256_min_ps(_mm256_max_ps(a3, vmin), vmax);
                     a4 = _mm256_min_ps(_mm256_max_ps(a4, vmin), vmax);
                     a5 = _mm256_min_ps(_mm256_max_ps(a5, vmin), vmax);
                     a6 = _mm256_min_ps(_mm256_max_ps(a6, vmin), vmax);
                     a7 = _mm256_min_ps(_mm256_max_ps(a7, vmin), vmax);
                   }
                   _mm256_store_ps(out + 0, a0);
                   _mm256_store_ps(out + 8, a1);
                   _mm256_store_ps(out + 16, a2);
                   _mm256_store_ps(out + 24, a3);
                   _mm256_store_ps(out + 32, a4);
                   _mm256_store_ps(out + 40, a5);
                   _mm256_store_ps(out + 48, a6);
                   _mm256_store_ps(out + 56, a7);
                 });
}

}  // namespace edgecompress::inference::sparse
