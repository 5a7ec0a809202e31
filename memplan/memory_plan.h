// One schedule, planned: its order, tensor lifetimes and live bytes per step
// (lifetimes.h), and an arena plan from each planner given (arena_planner.h),
// each verified: no two tensors live at a common step share a byte.
//
// The lower bound is the schedule's peak (max over steps of live bytes): no
// arena for this order can be smaller. `best_arena` indexes the smallest
// arena (the first planner on ties).
#ifndef EDGECOMPRESS_MEMPLAN_MEMORY_PLAN_H_
#define EDGECOMPRESS_MEMPLAN_MEMORY_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memplan/arena_planner.h"
#include "memplan/graph.h"
#include "memplan/lifetimes.h"

namespace edgecompress::memplan {

struct ArenaPlan {
  std::string planner;           // ArenaPlanner::name()
  std::vector<int64_t> offsets;  // by tensor index, bytes from the arena start
  int64_t arena_bytes = 0;
};

struct SchedulePlan {
  std::string name;        // e.g. "default", "reordered"
  std::string method;      // how the order was found, for the output
  std::vector<int> order;  // operator indices
  ScheduleMemory memory;
  int64_t lower_bound_bytes = 0;
  std::vector<ArenaPlan> arenas;  // one per planner, in the order given
  int best_arena = 0;
};

// kInvalidArgument for an order that is not topological (lifetimes.h);
// kInternal naming both tensors if a planner returned overlapping buffers;
// kInvalidArgument when `planners` is empty.
absl::StatusOr<SchedulePlan> PlanSchedule(const Graph& graph, std::string name,
                                          std::string method, std::vector<int> order,
                                          absl::Span<const ArenaPlanner* const> planners);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_MEMORY_PLAN_H_
