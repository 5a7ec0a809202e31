// L1-ranked filter pruning: which filters of a convolution to keep.
//
// Li, Kadav, Durdanovic, Samet, Graf, "Pruning Filters for Efficient
// ConvNets" (ICLR 2017), as Distiller's L1RankedStructureParameterPruner
// (group_type: Filters) implements it:
//   1. score each filter (output channel) by the mean |w| of its
//      in_channels / groups * k * k weights (Li et al. sum them; within one
//      tensor the ranking is the same);
//   2. remove the m = floor(fraction * filters) lowest-scoring filters,
//      per tensor (Distiller: int(fraction_to_prune * num_filters));
//   3. keep the rest, whose indices this returns.
// Removing a filter removes its feature map, so the next layer loses the
// matching input channels; thinning.h does that to a whole model, or
// FilterMask zeroes the filters in place.
//
// Conventions:
//   - Weights are [filters, in_channels / groups, k, k] in row-major order,
//     as PyTorch stores a Conv2d weight: filter f is the contiguous block
//     [f * per_filter, (f + 1) * per_filter).
//   - Ties in the score go to the lowest index (it is removed first), so the
//     result is unique; Distiller's argsort leaves ties unspecified.
//   - A filter whose score is NaN ranks as the largest and is kept, as in
//     magnitude.h.
//   - `fraction` is in [0, 1): at least one filter always survives.
//
// Cost: O(n) to score, O(f log f) to rank f filters.
#ifndef EDGECOMPRESS_PRUNING_FILTER_PRUNING_H_
#define EDGECOMPRESS_PRUNING_FILTER_PRUNING_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::pruning {

// kInvalidArgument unless 0 <= fraction < 1 (the check KeptFiltersByL1 and
// recipes make).
absl::Status CheckFilterFraction(double fraction);

// Mean |w| of each of `filters` filters. kInvalidArgument for filters < 1 or
// a weight count that is not a positive multiple of `filters`.
absl::StatusOr<std::vector<double>> FilterL1Scores(absl::Span<const float> weights,
                                                   int64_t filters);

// The indices of the filters to keep, ascending: all but the
// floor(fraction * filters) lowest scores. Errors as FilterL1Scores and
// CheckFilterFraction.
absl::StatusOr<std::vector<int64_t>> KeptFiltersByL1(absl::Span<const float> weights,
                                                     int64_t filters, double fraction);

// A weight mask ([filters * weights_per_filter], 1 keeps) that zeroes every
// filter not in `kept`; what Distiller applies when it prunes without
// thinning. Indices outside [0, filters) are ignored.
std::vector<uint8_t> FilterMask(absl::Span<const int64_t> kept, int64_t filters,
                                int64_t weights_per_filter);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_FILTER_PRUNING_H_
