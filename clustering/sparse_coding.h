// The stored size of a pruned, weight-shared layer as Deep Compression counts
// it (Han, Mao and Dally, ICLR 2016, Sec. 2 and 4, Fig. 2):
//
//   1. Relative index: the non-zero weights are stored in order, each with
//      the distance from the previous stored entry (the first from position
//      -1) in `index_bits` bits (the paper: 8 for conv, 5 for fc layers).
//      A distance d is stored as d - 1, so 1..2^b fit. When the next
//      non-zero is further than 2^b, a filler entry (a stored zero) is put
//      2^b after the previous entry, as often as needed. Fig. 2's 3-bit
//      example, positions 1, 4, 15: distances 2, 3, 8 (a filler at 12), 3,
//      stored as 1, 2, 7, 2. (The figure counts the first distance from 0
//      and prints 1, 3, 8, 3, which needs 4 bits for the 8; counting from
//      -1 and storing d - 1 fits 2^b distances in b bits, position 0
//      included.)
//   2. Weight sharing: each stored entry holds a cluster index. Fillers hold
//      the extra symbol k (their value is 0, which the k centroids of the
//      non-zero weights need not contain).
//   3. Huffman coding of both streams: the gap symbols (d - 1, 2^b of them)
//      and the cluster symbols (k + 1) are coded with their own Huffman
//      codes built from this layer's counts.
// Plus the codebook of k centroids at `centroid_bits` each and the two
// canonical Huffman tables (huffman.h). Biases are not part of this count
// (the paper's per-layer tables count weights); callers add them.
//
// Cost: O(n) for n weights, plus O(2^b log 2^b) for the Huffman code.
#ifndef EDGECOMPRESS_CLUSTERING_SPARSE_CODING_H_
#define EDGECOMPRESS_CLUSTERING_SPARSE_CODING_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace clustering {

// The stored entries of a layer whose non-zero weights are at `positions`
// (strictly increasing): one gap (d - 1, in [0, 2^index_bits)) per entry and
// whether the entry is a filler.
struct RelativeIndex {
  std::vector<uint32_t> gaps;
  std::vector<bool> filler;
  int64_t num_fillers = 0;
};

// kInvalidArgument when index_bits is outside [1, 24] or the positions are
// negative or not strictly increasing.
absl::StatusOr<RelativeIndex> EncodeRelativeIndex(absl::Span<const int64_t> positions,
                                                  int index_bits);

struct SparseCodingOptions {
  int index_bits = 5;       // gap width; the paper: 8 conv, 5 fc
  int centroid_bits = 32;   // codebook entries
};

struct LayerCodedSize {
  int64_t weights = 0, nonzeros = 0, fillers = 0;
  int64_t dense_bits = 0;           // 32 * weights
  int64_t fixed_width_bits = 0;     // entries * (index_bits + ceil(log2(k + 1))) + codebook
  int64_t index_bits = 0;           // Huffman-coded gaps
  int64_t cluster_bits = 0;         // Huffman-coded cluster symbols
  int64_t codebook_bits = 0;        // k * centroid_bits
  int64_t table_bits = 0;           // the two canonical Huffman tables
  int64_t total_bits = 0;           // index + cluster + codebook + table
};

// `weights` is the layer (zeros are pruned), `clusters[j]` the cluster of its
// j-th non-zero weight in order, in [0, num_clusters). kInvalidArgument when
// the counts disagree, a cluster is out of range, num_clusters < 1 or the
// options are out of range.
absl::StatusOr<LayerCodedSize> SparseCodedSize(absl::Span<const float> weights,
                                               absl::Span<const uint16_t> clusters,
                                               int32_t num_clusters,
                                               const SparseCodingOptions& options = {});

}  // namespace clustering
}  // namespace edgecompress

#endif  // EDGECOMPRESS_CLUSTERING_SPARSE_CODING_H_
