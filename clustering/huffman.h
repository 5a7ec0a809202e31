// Huffman code lengths (Huffman, "A Method for the Construction of
// Minimum-Redundancy Codes", Proc. IRE 40(9), 1952): the third stage of Deep
// Compression, which codes the cluster indices and the sparse index gaps of a
// layer with a prefix code built from their counts (Han et al., ICLR 2016,
// Sec. 4: 20-30% fewer bits than fixed-width codes).
//
// Only lengths are computed: a canonical Huffman code (DEFLATE's, RFC 1951
// Sec. 3.2.2) is fully determined by them, so a decoder needs the alphabet's
// used extent and one length per symbol up to it (the "table", counted by
// HuffmanTableBits) and the payload is sum_i count_i * length_i bits.
//
// Conventions: symbols with count 0 get length 0 (no code). A lone used
// symbol gets length 1, as DEFLATE does, so that every coded symbol costs a
// bit. Ties between equal weights are broken by creation order (leaves by
// symbol, then merged nodes), so lengths are a function of the counts.
// Lengths are not limited to 15 as DEFLATE's are: a layer's alphabet is
// small (k + 1 cluster symbols, 2^b gap symbols), and only sizes are
// computed here, never codes in a fixed-width register.
//
// Cost: O(s log s) for s symbols.
#ifndef EDGECOMPRESS_CLUSTERING_HUFFMAN_H_
#define EDGECOMPRESS_CLUSTERING_HUFFMAN_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace clustering {

// One length per symbol. kInvalidArgument for a negative count.
absl::StatusOr<std::vector<int>> HuffmanCodeLengths(absl::Span<const int64_t> counts);

// sum counts[i] * HuffmanCodeLengths(counts)[i]: the payload in bits.
absl::StatusOr<int64_t> HuffmanCodedBits(absl::Span<const int64_t> counts);

// The canonical code's table, as DEFLATE stores its alphabets before their
// own compression: the number of symbols up to the last used one (16 bits,
// like HLIT/HDIST), then a 5-bit length for each of them. Symbols past the
// last used one cost nothing, which matters for 8-bit gap alphabets whose
// large gaps never occur. kInvalidArgument for a negative count.
absl::StatusOr<int64_t> HuffmanTableBits(absl::Span<const int64_t> counts);

}  // namespace clustering
}  // namespace edgecompress

#endif  // EDGECOMPRESS_CLUSTERING_HUFFMAN_H_
