#include "tools/compress/stored_size.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "intrinsic_dim/bit_allocation.h"
#include "tools/status/status_macros.h"

namespace edgecompress::compress {

absl::StatusOr<StoredSize> ComputeStoredSize(absl::Span<const LayerStorage> layers) {
  StoredSize size;
  std::vector<intrinsic_dim::LayerSize> thesis;
  for (const LayerStorage& layer : layers) {
    if (layer.weights < 0 || layer.biases < 0 || layer.codebook_entries < 0) {
      return absl::InvalidArgumentError(absl::StrCat("layer '", layer.layer, "': negative count"));
    }
    if (layer.bits < 1 || layer.bits > 32) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer '", layer.layer, "': ", layer.bits, " bits; must be in [1, 32]"));
    }
    if (layer.bits == 32 && layer.codebook_entries != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer '", layer.layer, "': a codebook beside 32-bit weights"));
    }
    size.dense_bytes += 4 * (layer.weights + layer.biases);
    size.stored_bytes += (layer.weights * layer.bits + 7) / 8 +
                         4 * (layer.codebook_entries + layer.biases);
    thesis.push_back({layer.weights + layer.biases, layer.bits});
  }
  if (size.stored_bytes == 0) return absl::InvalidArgumentError("no weights to store");
  size.compression = static_cast<double>(size.dense_bytes) / size.stored_bytes;
  ASSIGN_OR_RETURN(size.memory_reduction, intrinsic_dim::MemoryReduction(thesis));
  return size;
}

int IndexBits(int64_t distinct_values) {
  int bits = 1;
  while (bits < 32 && (int64_t{1} << bits) < distinct_values) ++bits;
  return bits;
}

}  // namespace edgecompress::compress
