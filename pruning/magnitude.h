// Unstructured magnitude pruning: the mask that removes the smallest weights.
//
// Han et al., "Learning both Weights and Connections" (2015): weights with the
// smallest |w| contribute least and are removed first. The mask is computed
// from scratch every time, so a weight pruned at one sparsity can come back
// at the next update if training made it large (SparseML and TF-MOT do the
// same; masks are still nested for a fixed tensor, see the test).
//
// Conventions:
//   - Exactly floor(sparsity * n) entries are zeroed, never "about" that many:
//     ties at the threshold are broken by index, the lowest index is pruned
//     first. An all-equal tensor therefore loses its first entries.
//   - mask[i] = 0 means pruned, 1 means kept.
//   - NaN weights order as the largest magnitude: they are kept, and training
//     code is expected to notice them long before pruning does.
//
// Cost: O(n) expected (nth_element over (|w|, index) keys) and n * 8 bytes of
// scratch.
#ifndef EDGECOMPRESS_PRUNING_MAGNITUDE_H_
#define EDGECOMPRESS_PRUNING_MAGNITUDE_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace edgecompress::pruning {

// Zeroes exactly floor(sparsity * weights.size()) entries of `mask`; on ties the lowest index goes.
// Errors (kInvalidArgument): sparsity outside [0, 1], mask and weights of
// different sizes.
absl::Status MagnitudeMask(absl::Span<const float> weights, double sparsity,
                           absl::Span<uint8_t> mask);

// The number of entries MagnitudeMask zeroes: floor(sparsity * size).
int64_t PrunedCount(int64_t size, double sparsity);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_MAGNITUDE_H_
