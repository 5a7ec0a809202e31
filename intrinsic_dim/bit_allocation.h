// Mixed precision from intrinsic dimension: which layers get 2 bits and which
// 1 bit (the thesis, seeds/004, Sec. 3.3.2 and Table 4.6).
//
// A network maps its input through manifolds of changing intrinsic dimension
// (ID); a layer that changes the ID of its data a lot does work that low
// precision would destroy. With ID_l the TwoNN (or PCA) dimension of layer
// l's output on one batch, layer l is significant when
//
//   |ID_l - ID_(l-1)| > delta          (delta = 20 in the thesis)
//
// (absolute: a layer that lowers the ID also counts, unlike the PCA-based
// Hybrid-Net rule of Chakraborty et al. 2020, which looks at increases only).
// Significant layers get significant_bits (2), the others insignificant_bits
// (1, binary); the first and the last layer stay at boundary_bits (32), as the
// thesis keeps them in full precision.
//
// The memory reduction of a precision assignment is the thesis's empirical
// ratio over every parameter (weights and biases) of the layers:
//
//   reduction = 32 * sum_l P_l / sum_l (P_l * b_l)
//
// e.g. QuantNet (Table 4.1) with conv2, linear1, linear2 binary and conv1,
// linear3 in fp32 gives 32 * 545,889 / (32 * 913 + 544,976) = 30.42.
#ifndef EDGECOMPRESS_INTRINSIC_DIM_BIT_ALLOCATION_H_
#define EDGECOMPRESS_INTRINSIC_DIM_BIT_ALLOCATION_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace intrinsic_dim {

struct BitAllocationOptions {
  double delta = 20.0;         // significance threshold on |ID_l - ID_(l-1)|, >= 0
  int significant_bits = 2;    // in [1, 32]
  int insignificant_bits = 1;  // in [1, 32]
  int boundary_bits = 32;      // first and last layer, in [1, 32]
};

struct LayerPrecision {
  std::optional<double> criterion;  // |ID_l - ID_(l-1)|; none for the first layer
  bool significant = false;         // criterion > delta (never for the first or last layer)
  int bits = 32;
};

// One entry per layer, in order, from the IDs of the layers' outputs.
// kInvalidArgument for fewer than 2 layers, an ID that is not finite or is
// negative, a negative delta, or bit widths outside [1, 32].
absl::StatusOr<std::vector<LayerPrecision>> AllocateBits(absl::Span<const double> dimensions,
                                                         const BitAllocationOptions& options = {});

struct LayerSize {
  int64_t parameters = 0;  // >= 0
  int bits = 32;           // in [1, 32]
};

// 32 * sum P / sum (P * b). kInvalidArgument for no parameters in all, a
// negative count or a bit width outside [1, 32].
absl::StatusOr<double> MemoryReduction(absl::Span<const LayerSize> layers);

}  // namespace intrinsic_dim
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INTRINSIC_DIM_BIT_ALLOCATION_H_
