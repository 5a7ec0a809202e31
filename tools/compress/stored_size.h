// The stored size of a classifier's conv and linear layers when each layer's
// weights are fixed-width indices into a small codebook: the accounting of
// the thesis (seeds/004, Sec. 3.3) and of every stage of tools/compress's
// chain (chain.h).
//
//   32-bit layer  32 bits per weight and per bias (no codebook);
//   b-bit layer   b bits per weight, the codebook at 32 bits per entry (one
//                 entry, alpha, for the thesis's scaled levels; k for k-means
//                 clusters), biases at 32 bits.
//
// Beside the bytes, the thesis's memory-reduction ratio
// 32 sum P / sum P_l b_l (intrinsic_dim/bit_allocation.h), which counts each
// layer's biases at its width and no codebook: the paper's figure, kept
// comparable with its tables, while stored_bytes is what a file would hold.
// Deep Compression's Huffman-coded size of pruned layers is
// weight_sharing.h's; a chain over an unpruned model stores dense indices.
#ifndef EDGECOMPRESS_TOOLS_COMPRESS_STORED_SIZE_H_
#define EDGECOMPRESS_TOOLS_COMPRESS_STORED_SIZE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::compress {

struct LayerStorage {
  std::string layer;
  int64_t weights = 0, biases = 0;  // >= 0
  int bits = 32;                    // per weight, in [1, 32]
  int64_t codebook_entries = 0;     // 32 bits each; must be 0 at 32 bits
};

struct StoredSize {
  int64_t dense_bytes = 0;   // 4 per weight and bias
  int64_t stored_bytes = 0;  // ceil(weights * bits / 8) + 4 * (codebook + biases), per layer
  double compression = 1.0;  // dense_bytes / stored_bytes
  double memory_reduction = 1.0;
};

// kInvalidArgument naming the layer for negative counts, bits outside
// [1, 32], or a codebook beside 32-bit weights; and for no weights in all.
absl::StatusOr<StoredSize> ComputeStoredSize(absl::Span<const LayerStorage> layers);

// The index width for `distinct_values` (>= 1) shared values: ceil(log2),
// at least 1 bit.
int IndexBits(int64_t distinct_values);

}  // namespace edgecompress::compress

#endif  // EDGECOMPRESS_TOOLS_COMPRESS_STORED_SIZE_H_
