#include "memplan/memory_plan.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memplan/greedy_by_breadth_planner.h"
#include "memplan/greedy_by_size_planner.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// in(16) -> a -> A(64) -> b -> B(32) -> c -> out(8); a also reads nothing else.
Graph Chain() {
  GraphSpec spec;
  spec.tensors = {{"in", 16}, {"A", 64}, {"B", 32}, {"out", 8}};
  spec.operators = {{"a", "", {"in"}, {"A"}}, {"b", "", {"A"}, {"B"}}, {"c", "", {"B"}, {"out"}}};
  spec.inputs = {"in"};
  spec.outputs = {"out"};
  absl::StatusOr<Graph> graph = Graph::Create(spec);
  EXPECT_THAT(graph, IsOk());
  return *graph;
}

// Puts everything at offset 0: what a broken planner would do.
class EverythingAtZeroPlanner : public ArenaPlanner {
 public:
  absl::string_view name() const override { return "everything_at_zero"; }
  std::vector<int64_t> PlanOffsets(absl::Span<const BufferRequest> buffers) const override {
    return std::vector<int64_t>(buffers.size(), 0);
  }
};

TEST(MemoryPlanTest, PlansEveryPlannerAndPicksTheSmallestArena) {
  const Graph graph = Chain();
  const GreedyBySizePlanner by_size;
  const GreedyByBreadthPlanner by_breadth;
  const ArenaPlanner* planners[] = {&by_size, &by_breadth};
  absl::StatusOr<SchedulePlan> plan =
      PlanSchedule(graph, "default", "file order", graph.FileOrder(), planners);
  ASSERT_THAT(plan, IsOk());
  EXPECT_EQ(plan->name, "default");
  EXPECT_THAT(plan->order, ElementsAre(0, 1, 2));
  // Steps: in+A = 80, A+B = 96, B+out = 40.
  EXPECT_THAT(plan->memory.live_bytes, ElementsAre(80, 96, 40));
  EXPECT_EQ(plan->lower_bound_bytes, 96);
  ASSERT_EQ(plan->arenas.size(), 2u);
  EXPECT_EQ(plan->arenas[0].planner, "greedy_by_size");
  EXPECT_EQ(plan->arenas[1].planner, "greedy_by_breadth");
  // A chain packs perfectly: A at 0, in and B above it, out at 0.
  EXPECT_EQ(plan->arenas[0].arena_bytes, 96);
  EXPECT_THAT(plan->arenas[0].offsets, ElementsAre(64, 0, 64, 0));
  EXPECT_EQ(plan->arenas[plan->best_arena].arena_bytes, 96);
}

TEST(MemoryPlanTest, RejectsOverlappingPlansBadOrdersAndNoPlanner) {
  const Graph graph = Chain();
  const EverythingAtZeroPlanner broken;
  const ArenaPlanner* planners[] = {&broken};
  EXPECT_THAT(PlanSchedule(graph, "default", "", graph.FileOrder(), planners),
              StatusIs(absl::StatusCode::kInternal,
                       HasSubstr("everything_at_zero placed 'in' and 'A' in overlapping bytes")));
  const GreedyBySizePlanner by_size;
  const ArenaPlanner* good[] = {&by_size};
  EXPECT_THAT(PlanSchedule(graph, "bad", "", {2, 1, 0}, good),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(PlanSchedule(graph, "none", "", graph.FileOrder(), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no arena planner")));
}

}  // namespace
}  // namespace edgecompress::memplan
