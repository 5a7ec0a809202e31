#include "inference/sparse/spmm.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"

#if defined(__x86_64__)
#include <cpuinfo.h>
#endif

namespace edgecompress::inference::sparse {

double CsrMatrix::sparsity() const {
  const double total = static_cast<double>(rows) * static_cast<double>(cols);
  return total == 0 ? 0.0 : 1.0 - static_cast<double>(nonzeros()) / total;
}

absl::StatusOr<CsrMatrix> CsrFromDense(absl::Span<const float> dense, size_t rows, size_t cols) {
  if (rows == 0 || cols == 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CsrFromDense: a %d x %d matrix is empty", rows, cols));
  }
  if (cols > UINT32_MAX / rows) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CsrFromDense: %d x %d entries do not fit 32-bit indices", rows, cols));
  }
  if (dense.size() != rows * cols) {
    return absl::InvalidArgumentError(
        absl::StrFormat("CsrFromDense: %d values for a %d x %d matrix", dense.size(), rows, cols));
  }
  CsrMatrix csr;
  csr.rows = rows;
  csr.cols = cols;
  csr.row_begin.reserve(rows + 1);
  csr.row_begin.push_back(0);
  for (size_t o = 0; o < rows; ++o) {
    for (size_t k = 0; k < cols; ++k) {
      const float w = dense[o * cols + k];
      if (w == 0.0f) continue;
      csr.columns.push_back(static_cast<uint32_t>(k));
      csr.values.push_back(w);
    }
    csr.row_begin.push_back(static_cast<uint32_t>(csr.values.size()));
  }
  const size_t panels = csr.panels();
  csr.panel_begin.resize((panels + 1) * rows);
  for (size_t o = 0; o < rows; ++o) {
    uint32_t i = csr.row_begin[o];
    for (size_t q = 0; q <= panels; ++q) {
      const size_t first_column = q * kSpmmPanelColumns;
      while (i < csr.row_begin[o + 1] && csr.columns[i] < first_column) ++i;
      csr.panel_begin[q * rows + o] = i;
    }
  }
  return csr;
}

size_t SpmmScratchFloats(size_t rows, size_t cols) {
  // 16 floats of slack: the x86 kernels round the start up to 64 bytes.
  return (rows + cols) * kSpmmTilePixels + 16;
}

void SpmmPortable(const SpmmProblem& problem, size_t begin, size_t end, float* scratch) {
  const CsrMatrix& w = *problem.weights;
  const size_t rows = w.rows, cols = w.cols;
  const size_t first_row = problem.first_row;
  const size_t end_row = problem.end_row == 0 ? rows : problem.end_row;
  constexpr size_t kTile = kSpmmTilePixels;
  float* xt = scratch;                 // [cols][kTile]
  float* yt = scratch + cols * kTile;  // [end_row - first_row][kTile]
  for (size_t p0 = begin; p0 < end; p0 += kTile) {
    const size_t n = std::min(kTile, end - p0);
    const float* x = problem.x + p0 * cols;
    float* y = problem.y + p0 * rows;
    if (n < kSpmmMinVectorPixels) {
      // Too few pixels to fill a vector: plain sparse dot products.
      for (size_t j = 0; j < n; ++j) {
        const float* xj = x + j * cols;
        for (size_t o = first_row; o < end_row; ++o) {
          // Four partial sums: the adds do not wait on each other's latency.
          float s0 = problem.bias != nullptr ? problem.bias[o] : 0.0f, s1 = 0, s2 = 0, s3 = 0;
          uint32_t i = w.row_begin[o];
          const uint32_t end = w.row_begin[o + 1];
          for (; i + 4 <= end; i += 4) {
            s0 += w.values[i] * xj[w.columns[i]];
            s1 += w.values[i + 1] * xj[w.columns[i + 1]];
            s2 += w.values[i + 2] * xj[w.columns[i + 2]];
            s3 += w.values[i + 3] * xj[w.columns[i + 3]];
          }
          for (; i < end; ++i) s0 += w.values[i] * xj[w.columns[i]];
          const float acc = (s0 + s1) + (s2 + s3);
          y[j * rows + o] = std::min(std::max(acc, problem.output_min), problem.output_max);
        }
      }
      continue;
    }
    for (size_t k = 0; k < cols; ++k) {
      for (size_t j = 0; j < n; ++j) xt[k * kTile + j] = x[j * cols + k];
      for (size_t j = n; j < kTile; ++j) xt[k * kTile + j] = 0.0f;
    }
    for (size_t o = first_row; o < end_row; ++o) {
      const float b = problem.bias != nullptr ? problem.bias[o] : 0.0f;
      // 8 pixels at a time: an 8-float accumulator stays in registers (two
      // SSE or NEON vectors), where one of the whole tile would not.
      for (size_t s = 0; s < kTile; s += 8) {
        float acc[8] = {b, b, b, b, b, b, b, b};
        for (uint32_t i = w.row_begin[o]; i < w.row_begin[o + 1]; ++i) {
          const float v = w.values[i];
          const float* column = xt + static_cast<size_t>(w.columns[i]) * kTile + s;
          for (size_t j = 0; j < 8; ++j) acc[j] += v * column[j];
        }
        for (size_t j = 0; j < 8; ++j) {
          yt[(o - first_row) * kTile + s + j] =
              std::min(std::max(acc[j], problem.output_min), problem.output_max);
        }
      }
    }
    for (size_t j = 0; j < n; ++j) {
      for (size_t o = first_row; o < end_row; ++o)
        y[j * rows + o] = yt[(o - first_row) * kTile + j];
    }
  }
}

SpmmKernel BestSpmmKernel() {
#if defined(__x86_64__)
  // cpuinfo_initialize is idempotent and thread-safe (pthread_once inside).
  if (cpuinfo_initialize() && cpuinfo_has_x86_avx2() && cpuinfo_has_x86_fma3()) {
    return cpuinfo_has_x86_avx512f() ? &SpmmAvx512 : &SpmmAvx2;
  }
#endif
  return &SpmmPortable;
}

const char* SpmmKernelName(SpmmKernel kernel) {
#if defined(__x86_64__)
  if (kernel == &SpmmAvx2) return "avx2_fma";
  if (kernel == &SpmmAvx512) return "avx512f";
#endif
  if (kernel == &SpmmPortable) return "portable";
  return "unknown";
}

}  // namespace edgecompress::inference::sparse
