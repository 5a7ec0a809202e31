#include "tools/memplan/report.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memplan/greedy_by_size_planner.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::HasSubstr;

// in(16) -> a -> A(64) -> b -> B(32, named with markup) and a -> C(8) -> c -> out(8).
Graph Small() {
  GraphSpec spec;
  spec.tensors = {{"in", 16}, {"A", 64}, {"<B>", 32}, {"out", 8}};
  spec.operators = {{"a", "", {"in"}, {"A"}}, {"b", "", {"A"}, {"<B>"}, true},
                    {"c", "", {"<B>"}, {"out"}}};
  spec.inputs = {"in"};
  spec.outputs = {"out"};
  absl::StatusOr<Graph> graph = Graph::Create(spec);
  EXPECT_THAT(graph, IsOk());
  return *graph;
}

std::vector<SchedulePlan> Plans(const Graph& graph) {
  static const GreedyBySizePlanner by_size;
  const ArenaPlanner* planners[] = {&by_size};
  std::vector<SchedulePlan> plans;
  for (const char* name : {"default", "reordered"}) {
    absl::StatusOr<SchedulePlan> plan =
        PlanSchedule(graph, name, "file order", graph.FileOrder(), planners);
    EXPECT_THAT(plan, IsOk());
    plans.push_back(*plan);
  }
  return plans;
}

TEST(ReportTest, JsonHasTheFieldsInferenceReads) {
  const Graph graph = Small();
  nlohmann::json result;
  AddPlansToJson(graph, Plans(graph), result);
  EXPECT_EQ(result["graph"]["operators"], 3);
  EXPECT_EQ(result["graph"]["activation_bytes"], 16 + 64 + 32 + 8);
  EXPECT_EQ(result["graph"]["in_place_capable"], nlohmann::json::array({"b"}));
  ASSERT_EQ(result["schedules"].size(), 2u);
  const nlohmann::json& schedule = result["schedules"][0];
  EXPECT_EQ(schedule["name"], "default");
  EXPECT_EQ(schedule["order"], nlohmann::json::array({"a", "b", "c"}));
  // Steps: in+A = 80, A+B = 96, B+out = 40.
  EXPECT_EQ(schedule["peak_bytes"], 96);
  EXPECT_EQ(schedule["lower_bound_bytes"], 96);
  EXPECT_EQ(schedule["arena_bytes"], 96);
  EXPECT_EQ(schedule["reduction_percent"], 0.0);
  EXPECT_EQ(schedule["planner"], "greedy_by_size");
  ASSERT_EQ(schedule["tensors"].size(), 4u);
  EXPECT_EQ(schedule["tensors"][1]["name"], "A");
  EXPECT_EQ(schedule["tensors"][1]["size"], 64);
  EXPECT_EQ(schedule["tensors"][1]["offset"], 0);
  EXPECT_EQ(schedule["tensors"][2]["offset"], 64);
}

TEST(ReportTest, TableHasARowPerScheduleAndSvgsARectanglePerTensor) {
  const Graph graph = Small();
  const std::vector<SchedulePlan> plans = Plans(graph);
  const std::string table = FormatTable(plans);
  EXPECT_THAT(table, HasSubstr("greedy_by_size"));
  EXPECT_THAT(table, HasSubstr("reordered"));
  EXPECT_THAT(table, HasSubstr("1.0000"));  // arena 96 over bound 96
  const std::string svg = ArenaSvg(graph, plans[0], "a & b");
  int rectangles = 0;
  for (size_t at = svg.find("<title>"); at != std::string::npos; at = svg.find("<title>", at + 1)) {
    ++rectangles;
  }
  EXPECT_EQ(rectangles, 4);
  EXPECT_THAT(svg, HasSubstr("&lt;B&gt;: 32 bytes at offset 64, steps 1-2"));
  EXPECT_THAT(svg, HasSubstr("a &amp; b"));
  EXPECT_THAT(LiveMemorySvg(plans, "live"), IsOkAndHolds(HasSubstr("default (peak 96 bytes)")));
}

}  // namespace
}  // namespace edgecompress::memplan
