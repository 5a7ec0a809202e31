#include "intrinsic_dim/bit_allocation.h"

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace intrinsic_dim {
namespace {

absl::Status CheckBits(const char* what, int bits) {
  if (bits < 1 || bits > 32) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is ", bits, "; must be in [1, 32]"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<LayerPrecision>> AllocateBits(absl::Span<const double> dimensions,
                                                         const BitAllocationOptions& options) {
  if (dimensions.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        dimensions.size(), " layer(s); bit allocation needs at least a first and a last layer"));
  }
  if (!(options.delta >= 0.0)) {
    return absl::InvalidArgumentError(absl::StrCat("delta is ", options.delta, "; must be >= 0"));
  }
  for (const auto& [what, bits] : {std::pair{"significant_bits", options.significant_bits},
                                   std::pair{"insignificant_bits", options.insignificant_bits},
                                   std::pair{"boundary_bits", options.boundary_bits}}) {
    if (absl::Status status = CheckBits(what, bits); !status.ok()) return status;
  }
  for (size_t l = 0; l < dimensions.size(); ++l) {
    if (!std::isfinite(dimensions[l]) || dimensions[l] < 0.0) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", l, " has intrinsic dimension ", dimensions[l]));
    }
  }
  std::vector<LayerPrecision> layers(dimensions.size());
  for (size_t l = 0; l < dimensions.size(); ++l) {
    LayerPrecision& layer = layers[l];
    if (l > 0) layer.criterion = std::fabs(dimensions[l] - dimensions[l - 1]);
    const bool boundary = l == 0 || l + 1 == dimensions.size();
    layer.significant = !boundary && *layer.criterion > options.delta;
    layer.bits = boundary             ? options.boundary_bits
                 : layer.significant ? options.significant_bits
                                     : options.insignificant_bits;
  }
  return layers;
}

absl::StatusOr<double> MemoryReduction(absl::Span<const LayerSize> layers) {
  // Bit counts of real models overflow no int64 (2^63 bits is 1 EiB).
  int64_t parameters = 0, bits = 0;
  for (size_t l = 0; l < layers.size(); ++l) {
    if (layers[l].parameters < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", l, " has ", layers[l].parameters, " parameters"));
    }
    if (absl::Status status = CheckBits("bits", layers[l].bits); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("layer ", l, ": ", status.message()));
    }
    parameters += layers[l].parameters;
    bits += layers[l].parameters * layers[l].bits;
  }
  if (parameters == 0) return absl::InvalidArgumentError("no parameters: the ratio is undefined");
  return 32.0 * static_cast<double>(parameters) / static_cast<double>(bits);
}

}  // namespace intrinsic_dim
}  // namespace edgecompress
