#include "clustering/huffman.h"

#include <cstdint>
#include <queue>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace clustering {

absl::StatusOr<std::vector<int>> HuffmanCodeLengths(absl::Span<const int64_t> counts) {
  std::vector<int> lengths(counts.size(), 0);
  // Nodes 0..s-1 are the leaves; merged nodes follow. parent[node] is -1 at
  // the root.
  std::vector<int64_t> parent;
  using Entry = std::tuple<int64_t, int64_t>;  // (count, node): smallest first, then oldest
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("count of symbol ", i, " is ", counts[i]));
    }
    parent.push_back(-1);
    if (counts[i] > 0) queue.emplace(counts[i], static_cast<int64_t>(i));
  }
  if (queue.size() == 1) {
    lengths[std::get<1>(queue.top())] = 1;
    return lengths;
  }
  while (queue.size() > 1) {
    const auto [count_a, a] = queue.top();
    queue.pop();
    const auto [count_b, b] = queue.top();
    queue.pop();
    const int64_t merged = static_cast<int64_t>(parent.size());
    parent.push_back(-1);
    parent[a] = parent[b] = merged;
    queue.emplace(count_a + count_b, merged);
  }
  // A node's depth is its parent's plus one; parents come after children, so
  // one backward pass over the nodes fills every depth.
  std::vector<int> depth(parent.size(), 0);
  for (int64_t node = static_cast<int64_t>(parent.size()) - 1; node >= 0; --node) {
    if (parent[node] >= 0) depth[node] = depth[parent[node]] + 1;
  }
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) lengths[i] = depth[i];
  }
  return lengths;
}

absl::StatusOr<int64_t> HuffmanCodedBits(absl::Span<const int64_t> counts) {
  ASSIGN_OR_RETURN(const std::vector<int> lengths, HuffmanCodeLengths(counts));
  int64_t bits = 0;
  for (size_t i = 0; i < counts.size(); ++i) bits += counts[i] * lengths[i];
  return bits;
}

absl::StatusOr<int64_t> HuffmanTableBits(absl::Span<const int64_t> counts) {
  int64_t extent = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("count of symbol ", i, " is ", counts[i]));
    }
    if (counts[i] > 0) extent = static_cast<int64_t>(i) + 1;
  }
  return 16 + 5 * extent;
}

}  // namespace clustering
}  // namespace edgecompress
