#include "memplan/greedy_by_size_planner.h"

#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

namespace edgecompress::memplan {

std::vector<int64_t> GreedyBySizePlanner::PlanOffsets(
    absl::Span<const BufferRequest> buffers) const {
  std::vector<int> by_size(buffers.size());
  std::iota(by_size.begin(), by_size.end(), 0);
  std::stable_sort(by_size.begin(), by_size.end(), [&](int a, int b) {
    if (buffers[a].size_bytes != buffers[b].size_bytes) {
      return buffers[a].size_bytes > buffers[b].size_bytes;
    }
    return buffers[a].first_step < buffers[b].first_step;
  });
  std::vector<int64_t> offsets(buffers.size(), -1);
  std::vector<int> placed;
  std::vector<std::pair<int64_t, int64_t>> occupied;
  for (int index : by_size) {
    occupied.clear();
    for (int other : placed) {
      if (OverlapInTime(buffers[index], buffers[other])) {
        occupied.emplace_back(offsets[other], offsets[other] + buffers[other].size_bytes);
      }
    }
    offsets[index] = FindGapOffset(occupied, buffers[index].size_bytes, Fit::kFirst);
    placed.push_back(index);
  }
  return offsets;
}

}  // namespace edgecompress::memplan
