#include "memplan/greedy_by_breadth_planner.h"

#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

namespace edgecompress::memplan {

std::vector<int64_t> GreedyByBreadthPlanner::PlanOffsets(
    absl::Span<const BufferRequest> buffers) const {
  int num_steps = 0;
  for (const BufferRequest& buffer : buffers) num_steps = std::max(num_steps, buffer.last_step + 1);
  std::vector<std::vector<int>> live_at(num_steps);
  std::vector<int64_t> breadth(num_steps, 0);
  for (int i = 0; i < static_cast<int>(buffers.size()); ++i) {
    for (int step = buffers[i].first_step; step <= buffers[i].last_step; ++step) {
      live_at[step].push_back(i);
      breadth[step] += buffers[i].size_bytes;
    }
  }
  std::vector<int> steps(num_steps);
  std::iota(steps.begin(), steps.end(), 0);
  std::stable_sort(steps.begin(), steps.end(),
                   [&](int a, int b) { return breadth[a] > breadth[b]; });

  std::vector<int64_t> offsets(buffers.size(), -1);
  std::vector<int> placed;
  std::vector<std::pair<int64_t, int64_t>> occupied;
  for (int step : steps) {
    std::vector<int> unplaced;
    for (int index : live_at[step]) {
      if (offsets[index] < 0) unplaced.push_back(index);
    }
    std::stable_sort(unplaced.begin(), unplaced.end(), [&](int a, int b) {
      return buffers[a].size_bytes > buffers[b].size_bytes;
    });
    for (int index : unplaced) {
      occupied.clear();
      for (int other : placed) {
        if (OverlapInTime(buffers[index], buffers[other])) {
          occupied.emplace_back(offsets[other], offsets[other] + buffers[other].size_bytes);
        }
      }
      offsets[index] = FindGapOffset(occupied, buffers[index].size_bytes, Fit::kBest);
      placed.push_back(index);
    }
  }
  return offsets;
}

}  // namespace edgecompress::memplan
