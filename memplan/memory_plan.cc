#include "memplan/memory_plan.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"

namespace edgecompress::memplan {

absl::StatusOr<SchedulePlan> PlanSchedule(const Graph& graph, std::string name,
                                          std::string method, std::vector<int> order,
                                          absl::Span<const ArenaPlanner* const> planners) {
  if (planners.empty()) return absl::InvalidArgumentError("no arena planner given");
  SchedulePlan plan;
  plan.name = std::move(name);
  plan.method = std::move(method);
  ASSIGN_OR_RETURN(plan.memory, ComputeScheduleMemory(graph, order));
  plan.order = std::move(order);
  std::vector<BufferRequest> buffers;
  buffers.reserve(graph.tensors().size());
  for (int t = 0; t < graph.num_tensors(); ++t) {
    buffers.push_back({graph.tensors()[t].size_bytes, plan.memory.lifetimes[t].first_step,
                       plan.memory.lifetimes[t].last_step});
  }
  plan.lower_bound_bytes = LowerBoundBytes(buffers);
  for (const ArenaPlanner* planner : planners) {
    ArenaPlan arena;
    arena.planner = std::string(planner->name());
    arena.offsets = planner->PlanOffsets(buffers);
    // Verified here rather than trusted: the plan is what inference/ will use.
    if (const auto overlap = FindOverlap(buffers, arena.offsets)) {
      return absl::InternalError(absl::StrCat(
          arena.planner, " placed '", graph.tensors()[overlap->first].name, "' and '",
          graph.tensors()[overlap->second].name, "' in overlapping bytes while both are live"));
    }
    arena.arena_bytes = ArenaBytes(buffers, arena.offsets);
    if (plan.arenas.empty() || arena.arena_bytes < plan.arenas[plan.best_arena].arena_bytes) {
      plan.best_arena = static_cast<int>(plan.arenas.size());
    }
    plan.arenas.push_back(std::move(arena));
  }
  return plan;
}

}  // namespace edgecompress::memplan
