// TFLite's greedy-by-size arena planner (tflite-micro
// tensorflow/lite/micro/memory_planner/greedy_memory_planner.h):
//   1. Sort buffers by size, largest first (ties: earlier first_step, then
//      request order).
//   2. Place each at the lowest offset where it fits between the buffers
//      already placed that are live at a common step, or above the highest
//      of them (first fit).
// Large buffers go first so small ones fill the gaps between them. Not
// optimal (the problem is NP-complete), never below LowerBoundBytes, never
// overlapping. O(buffers^2 log buffers).
#ifndef EDGECOMPRESS_MEMPLAN_GREEDY_BY_SIZE_PLANNER_H_
#define EDGECOMPRESS_MEMPLAN_GREEDY_BY_SIZE_PLANNER_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "memplan/arena_planner.h"

namespace edgecompress::memplan {

class GreedyBySizePlanner : public ArenaPlanner {
 public:
  absl::string_view name() const override { return "greedy_by_size"; }
  std::vector<int64_t> PlanOffsets(absl::Span<const BufferRequest> buffers) const override;
};

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_GREEDY_BY_SIZE_PLANNER_H_
