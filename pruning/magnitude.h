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
// Global masks rank several layers together (Han et al.; SparseML's
// global_sparsity, TF-MOT pruning a whole model): one threshold over the |w|
// of all included layers, so each layer ends at its own sparsity and the
// total is exact: floor(sparsity * total) zeros over all layers, where total
// is the sum of their sizes. Ties are broken by (layer order, index): the
// earlier layer in the caller's order, then the lower index, is pruned
// first, as if the layers were laid end to end. MaskedParameters in torch.h
// (global = true) follows the same rule.
//
// Cost: O(n) expected (nth_element over (|w|, index) keys) and n * 8 bytes of
// scratch, n the number of weights (over all layers for a global mask).
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

// One ranking over all `weights` together (conventions above): zeroes
// exactly floor(sparsity * total) entries of `masks`, masks[i] belonging to
// weights[i]. Keeps no pointer to either after it returns. Errors
// (kInvalidArgument): sparsity outside [0, 1], different numbers of weight
// and mask spans, a mask whose size differs from its layer's (naming the
// layer's index), a layer of 2^32 weights or more.
absl::Status GlobalMagnitudeMask(absl::Span<const absl::Span<const float>> weights,
                                 double sparsity, absl::Span<const absl::Span<uint8_t>> masks);

// The number of entries MagnitudeMask zeroes: floor(sparsity * size).
int64_t PrunedCount(int64_t size, double sparsity);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_MAGNITUDE_H_
