// Sparse x dense matrix products for 1x1 convolutions and fully connected
// layers on x86, where Debian's XNNPACK (ae108ef) never takes its own NCHW
// sparse path: y[p, o] = clamp(bias[o] + sum_k W[o, k] * x[p, k]).
//
// Layout: activations stay NHWC, as the rest of our XNNPACK graph holds them
// (x is [pixels, cols] row-major, pixels = N * H * W; y is [pixels, rows]).
// XNNPACK's SpMM (src/f32-spmm/, Elsen et al., "Fast Sparse ConvNets", 2020)
// is NCHW, out[Cout x HW] = W[Cout x Cin] * X[Cin x HW], so that one weight
// broadcast multiplies a contiguous vector of pixels; for that it runs the
// whole network body in NCHW. We get the same inner loop without changing
// the layout of the dense parts: the kernel transposes a tile of
// kSpmmTilePixels pixels into scratch (the tile's "NCHW" [cols, 64] block,
// in L1/L2), runs the NCHW SpMM on it, and writes the tile back as NHWC.
// The transposes cost O(cols + rows) per pixel against (1 - sparsity) *
// rows * cols multiply-adds: not negligible at 90% on MobileNet's 256-1024
// channel pointwise layers, where perf put them at about a third of the
// AVX-512 kernel's time with 8x8 blocks (hence its 16x16 ones).
//
// Steps per tile of up to 64 pixels (pixels past the end are zeros):
//   1. xt[k][j] = x[p0 + j, k]                       (transpose; 8x8 AVX blocks)
//   2. for each output channel o:
//        acc[0..63] = bias[o]
//        for each nonzero (k, w) of row o: acc += w * xt[k][0..63]
//        acc = clamp(acc); yt[o][0..63] = acc
//   3. y[p0 + j, o] = yt[o][j]                       (transpose back)
// The x86 kernels run steps 1-2 one panel of kSpmmPanelColumns input
// channels at a time, keeping the partial sums in yt between panels, so
// that the transposed panel they read at random stays in L1.
// A tile of fewer than kSpmmMinVectorPixels pixels (a fully connected layer
// at batch 1) skips the transposes: one sparse dot product per output.
//
// Weights are CSR (compressed sparse rows), unstructured: any zero pattern
// that magnitude pruning leaves. Cost per pixel: nnz multiply-adds, so time
// falls linearly with density, unlike a dense GEMM whose time is fixed.
//
// Kernels: SpmmPortable (plain C++, vectorised by the compiler at -O3), and
// on x86-64 SpmmAvx2 (AVX2 + FMA intrinsics, -mavx2 -mfma on spmm_avx2.cc
// alone) and SpmmAvx512 (the multiply-adds on 16-float vectors, -mavx512f on
// spmm_avx512.cc alone). BestSpmmKernel() picks at run time with cpuinfo,
// so binaries still run on CPUs without AVX2. Results of the two differ only
// by floating-point rounding (FMA); both match a dense reference within 1e-4
// relative to the size of the terms (spmm_test.cc).
#ifndef EDGECOMPRESS_INFERENCE_SPARSE_SPMM_H_
#define EDGECOMPRESS_INFERENCE_SPARSE_SPMM_H_

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::inference::sparse {

inline constexpr size_t kSpmmTilePixels = 64;
inline constexpr size_t kSpmmMinVectorPixels = 4;
// The x86 kernels transpose and multiply one panel of this many input
// channels at a time: the panel's 128 x 64 floats (32 KiB) stay in L1 while
// every output channel's nonzeros in it are applied. A whole transposed tile
// of a 512- or 1024-channel layer (128-256 KiB) lives in L2, and the random
// columns a pruned row reads then cost an L2 access per 64-byte vector;
// panels made the AVX-512 kernel 1.3-2x faster on MobileNet's 512- and
// 1024-channel layers (spmm_benchmark).
inline constexpr size_t kSpmmPanelColumns = 128;

// A [rows, cols] matrix in compressed sparse row form: row o's nonzeros are
// values[row_begin[o] .. row_begin[o + 1]) at columns columns[...], in
// ascending column order. Exact zeros of the dense matrix are dropped.
struct CsrMatrix {
  size_t rows = 0, cols = 0;
  std::vector<uint32_t> row_begin;  // rows + 1 entries
  std::vector<uint32_t> columns;
  std::vector<float> values;
  // panel_begin[q * rows + o] for q in [0, panels()]: the index of row o's
  // first nonzero in a column >= q * kSpmmPanelColumns, so that row o's
  // nonzeros in panel q are [panel_begin[q * rows + o],
  // panel_begin[(q + 1) * rows + o]).
  std::vector<uint32_t> panel_begin;

  size_t panels() const { return (cols + kSpmmPanelColumns - 1) / kSpmmPanelColumns; }
  size_t nonzeros() const { return values.size(); }
  // Fraction of zero entries, in [0, 1].
  double sparsity() const;
};

// kInvalidArgument when dense.size() != rows * cols, a dimension is 0 or
// the matrix has 2^32 entries or more.
absl::StatusOr<CsrMatrix> CsrFromDense(absl::Span<const float> dense, size_t rows, size_t cols);

// One product. Pointers are borrowed for the call; x and y do not overlap.
struct SpmmProblem {
  const CsrMatrix* weights = nullptr;
  const float* bias = nullptr;  // weights->rows floats, or null for none
  float output_min = -INFINITY, output_max = INFINITY;
  const float* x = nullptr;  // [pixels, weights->cols]
  float* y = nullptr;        // [pixels, weights->rows]
  size_t pixels = 0;
  // Only output channels [first_row, end_row) are computed and written
  // (end_row 0: all), so that threads can split a layer with few pixels
  // by channels; each then transposes the same input tiles.
  size_t first_row = 0, end_row = 0;
};

// Floats of scratch a kernel needs per call (one per thread) on a [rows,
// cols] matrix. Kernels align it to 64 bytes themselves
// (spmm_x86_common.h), so any float* will do.
size_t SpmmScratchFloats(size_t rows, size_t cols);

// Computes pixels [begin, end) of `problem` using `scratch`
// (SpmmScratchFloats floats, no alignment needed). Never fails.
using SpmmKernel = void (*)(const SpmmProblem& problem, size_t begin, size_t end, float* scratch);

void SpmmPortable(const SpmmProblem& problem, size_t begin, size_t end, float* scratch);
#if defined(__x86_64__)
// Requires AVX2 and FMA (BestSpmmKernel checks).
void SpmmAvx2(const SpmmProblem& problem, size_t begin, size_t end, float* scratch);
// Requires AVX-512F, AVX2 and FMA.
void SpmmAvx512(const SpmmProblem& problem, size_t begin, size_t end, float* scratch);
#endif

// The fastest kernel the CPU runs (cpuinfo): SpmmAvx512, SpmmAvx2, else
// SpmmPortable.
SpmmKernel BestSpmmKernel();
const char* SpmmKernelName(SpmmKernel kernel);  // "avx512f", "avx2_fma", "portable"

}  // namespace edgecompress::inference::sparse

#endif  // EDGECOMPRESS_INFERENCE_SPARSE_SPMM_H_
