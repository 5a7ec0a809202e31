#include "clustering/sparse_coding.h"

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "clustering/huffman.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace clustering {

absl::StatusOr<RelativeIndex> EncodeRelativeIndex(absl::Span<const int64_t> positions,
                                                  int index_bits) {
  if (index_bits < 1 || index_bits > 24) {
    return absl::InvalidArgumentError(
        absl::StrCat("index_bits is ", index_bits, "; must be in [1, 24]"));
  }
  const int64_t max_gap = int64_t{1} << index_bits;
  RelativeIndex index;
  int64_t previous = -1;
  for (size_t i = 0; i < positions.size(); ++i) {
    if (positions[i] <= previous) {
      return absl::InvalidArgumentError(
          absl::StrCat("position ", i, " (", positions[i], ") is negative or not after ",
                       previous));
    }
    while (positions[i] - previous > max_gap) {
      previous += max_gap;
      index.gaps.push_back(static_cast<uint32_t>(max_gap - 1));
      index.filler.push_back(true);
      ++index.num_fillers;
    }
    index.gaps.push_back(static_cast<uint32_t>(positions[i] - previous - 1));
    index.filler.push_back(false);
    previous = positions[i];
  }
  return index;
}

absl::StatusOr<LayerCodedSize> SparseCodedSize(absl::Span<const float> weights,
                                               absl::Span<const uint16_t> clusters,
                                               int32_t num_clusters,
                                               const SparseCodingOptions& options) {
  if (num_clusters < 1) {
    return absl::InvalidArgumentError(absl::StrCat("num_clusters is ", num_clusters));
  }
  if (options.centroid_bits < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("centroid_bits is ", options.centroid_bits, "; must be >= 1"));
  }
  std::vector<int64_t> positions;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] != 0.0f) positions.push_back(static_cast<int64_t>(i));
  }
  if (positions.size() != clusters.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the layer has ", positions.size(),
                                                   " non-zero weights but ", clusters.size(),
                                                   " cluster indices"));
  }
  ASSIGN_OR_RETURN(const RelativeIndex index, EncodeRelativeIndex(positions, options.index_bits));

  std::vector<int64_t> gap_counts(size_t{1} << options.index_bits, 0);
  std::vector<int64_t> cluster_counts(static_cast<size_t>(num_clusters) + 1, 0);
  size_t next_nonzero = 0;
  for (size_t e = 0; e < index.gaps.size(); ++e) {
    ++gap_counts[index.gaps[e]];
    if (index.filler[e]) {
      ++cluster_counts[num_clusters];  // the filler symbol
      continue;
    }
    const uint16_t cluster = clusters[next_nonzero++];
    if (cluster >= num_clusters) {
      return absl::InvalidArgumentError(absl::StrCat("cluster index ", cluster, " of non-zero ",
                                                     next_nonzero - 1, " is not below ",
                                                     num_clusters));
    }
    ++cluster_counts[cluster];
  }

  LayerCodedSize size;
  size.weights = static_cast<int64_t>(weights.size());
  size.nonzeros = static_cast<int64_t>(positions.size());
  size.fillers = index.num_fillers;
  size.dense_bits = 32 * size.weights;
  ASSIGN_OR_RETURN(size.index_bits, HuffmanCodedBits(gap_counts));
  ASSIGN_OR_RETURN(size.cluster_bits, HuffmanCodedBits(cluster_counts));
  size.codebook_bits = int64_t{num_clusters} * options.centroid_bits;
  ASSIGN_OR_RETURN(const int64_t gap_table_bits, HuffmanTableBits(gap_counts));
  ASSIGN_OR_RETURN(const int64_t cluster_table_bits, HuffmanTableBits(cluster_counts));
  size.table_bits = gap_table_bits + cluster_table_bits;
  size.total_bits = size.index_bits + size.cluster_bits + size.codebook_bits + size.table_bits;
  int cluster_symbol_bits = 0;
  while ((int64_t{1} << cluster_symbol_bits) < num_clusters + 1) ++cluster_symbol_bits;
  size.fixed_width_bits =
      static_cast<int64_t>(index.gaps.size()) * (options.index_bits + cluster_symbol_bits) +
      size.codebook_bits;
  return size;
}

}  // namespace clustering
}  // namespace edgecompress
