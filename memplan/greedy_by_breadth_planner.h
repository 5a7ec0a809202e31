// Greedy-by-breadth arena planning, from Pisarchyk & Lee, "Efficient Memory
// Management for Deep Neural Net Inference" (arXiv:2001.03288, 2020), the
// offset-calculation variant TFLite's GPU delegate uses:
//   1. The breadth of a step is the sum of sizes of buffers live at it.
//   2. Visit steps from the broadest down (ties: earlier step first); at each,
//      take its buffers not yet placed, largest first (ties: request order).
//   3. Place each in the smallest gap that fits between already-placed
//      buffers live at a common step, or above the highest of them (best fit).
// The broadest step decides the lower bound, so it is packed first, tightly.
// Not optimal, never below LowerBoundBytes, never overlapping.
// O(steps x buffers + buffers^2 log buffers).
#ifndef EDGECOMPRESS_MEMPLAN_GREEDY_BY_BREADTH_PLANNER_H_
#define EDGECOMPRESS_MEMPLAN_GREEDY_BY_BREADTH_PLANNER_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "memplan/arena_planner.h"

namespace edgecompress::memplan {

class GreedyByBreadthPlanner : public ArenaPlanner {
 public:
  absl::string_view name() const override { return "greedy_by_breadth"; }
  std::vector<int64_t> PlanOffsets(absl::Span<const BufferRequest> buffers) const override;
};

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_GREEDY_BY_BREADTH_PLANNER_H_
