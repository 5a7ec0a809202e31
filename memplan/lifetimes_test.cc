#include "memplan/lifetimes.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// in(10) -> a -> A(20) -> b -> B(30, also a graph output) ; a -> unread(5)
//                 A -> c -> C(40) -> d -> out(1)
Graph Diamondish() {
  GraphSpec spec;
  spec.tensors = {{"in", 10}, {"A", 20}, {"unread", 5}, {"B", 30}, {"C", 40}, {"out", 1}};
  spec.operators = {{"a", "", {"in"}, {"A", "unread"}},
                    {"b", "", {"A"}, {"B"}},
                    {"c", "", {"A"}, {"C"}},
                    {"d", "", {"C"}, {"out"}}};
  spec.inputs = {"in"};
  spec.outputs = {"B", "out"};
  absl::StatusOr<Graph> graph = Graph::Create(spec);
  EXPECT_THAT(graph, IsOk());
  return *graph;
}

TEST(LifetimesTest, FileOrderByHand) {
  const Graph graph = Diamondish();
  absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(graph, {0, 1, 2, 3});
  ASSERT_THAT(memory, IsOk());
  auto lifetime = [&](int t) {
    return std::make_pair(memory->lifetimes[t].first_step, memory->lifetimes[t].last_step);
  };
  EXPECT_EQ(lifetime(0), std::make_pair(0, 0));  // in: read at step 0 only
  EXPECT_EQ(lifetime(1), std::make_pair(0, 2));  // A: last read by c at step 2
  EXPECT_EQ(lifetime(2), std::make_pair(0, 0));  // unread: only while a writes it
  EXPECT_EQ(lifetime(3), std::make_pair(1, 3));  // B: graph output, to the end
  EXPECT_EQ(lifetime(4), std::make_pair(2, 3));
  EXPECT_EQ(lifetime(5), std::make_pair(3, 3));
  // step 0: in+A+unread = 35; 1: A+B = 50; 2: A+B+C = 90; 3: B+C+out = 71.
  EXPECT_THAT(memory->live_bytes, ElementsAre(35, 50, 90, 71));
  EXPECT_EQ(memory->peak_bytes, 90);
  EXPECT_EQ(memory->peak_step, 2);
}

TEST(LifetimesTest, OtherOrderMovesThePeak) {
  const Graph graph = Diamondish();
  // a, c, d, b: step 1 A+C = 60; 2: A+C+out = 61; 3: A+out+B = 51.
  absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(graph, {0, 2, 3, 1});
  ASSERT_THAT(memory, IsOk());
  EXPECT_THAT(memory->live_bytes, ElementsAre(35, 60, 61, 51));
  EXPECT_EQ(memory->peak_bytes, 61);
}

TEST(LifetimesTest, RejectsOrdersThatAreNotTopologicalPermutations) {
  const Graph graph = Diamondish();
  EXPECT_THAT(ComputeScheduleMemory(graph, {0, 1, 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 3 operators")));
  EXPECT_THAT(ComputeScheduleMemory(graph, {0, 1, 1, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a permutation")));
  EXPECT_THAT(ComputeScheduleMemory(graph, {0, 3, 2, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("runs 'd' before 'c', which writes its input 'C'")));
}

}  // namespace
}  // namespace edgecompress::memplan
