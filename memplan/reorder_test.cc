#include "memplan/reorder.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "memplan/lifetimes.h"
#include "memplan/random_graph.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int64_t kKiB = 1024;

// Shaped like the example of the study (/work/shared/seeds/000_*.txt, section
// 5.6, after Liberis & Lane 2019, figures 5-6): a small CNN with two
// branches whose reordering took peak memory from 300 KB to 272 KB (9.33%).
// fp32 activations: x, A, B1, B2 are 32x32x25 (100 KiB), C1, C2, D are
// 32x32x18 (72 KiB), logits 1024 floats (4 KiB). The file lists the branches
// breadth-first, as a naive exporter might:
//   conv1: x -> A;  b1a: A -> B1;  b2a: A -> B2;  b1b: B1 -> C1;
//   b2b: B2 -> C2;  add: C1, C2 -> D;  fc: D -> logits.
// File order, live KiB per step: conv1 x+A = 200, b1a A+B1 = 200,
// b2a A+B1+B2 = 300 (peak), b1b B1+B2+C1 = 272, b2b B2+C1+C2 = 244,
// add C1+C2+D = 216, fc D+logits = 76.
// Finishing branch 1 first (b1b before b2a): b1b A+B1+C1 = 272,
// b2a A+C1+B2 = 272, rest as before: peak 272 KiB. No order does better: A
// lives until the second of b1a/b2a runs, beside its output (100) and the
// other branch's B or C (>= 72): 100 + 100 + 72 = 272.
Graph StudyExampleCnn() {
  GraphSpec spec;
  spec.tensors = {{"x", 100 * kKiB},  {"A", 100 * kKiB}, {"B1", 100 * kKiB}, {"B2", 100 * kKiB},
                  {"C1", 72 * kKiB},  {"C2", 72 * kKiB}, {"D", 72 * kKiB},   {"logits", 4 * kKiB}};
  spec.operators = {{"conv1", "Conv", {"x", "w1"}, {"A"}},
                    {"b1a", "Conv", {"A", "w2"}, {"B1"}},
                    {"b2a", "Conv", {"A", "w3"}, {"B2"}},
                    {"b1b", "Conv", {"B1", "w4"}, {"C1"}},
                    {"b2b", "Conv", {"B2", "w5"}, {"C2"}},
                    {"add", "Add", {"C1", "C2"}, {"D"}, true},
                    {"fc", "Gemm", {"D", "w6"}, {"logits"}}};
  spec.inputs = {"x"};
  spec.outputs = {"logits"};
  spec.constants = {"w1", "w2", "w3", "w4", "w5", "w6"};
  absl::StatusOr<Graph> graph = Graph::Create(spec);
  EXPECT_THAT(graph, IsOk());
  return *graph;
}

TEST(ReorderTest, StudyExampleCnnGoesFrom300To272KiB) {
  const Graph graph = StudyExampleCnn();
  absl::StatusOr<ScheduleMemory> file_order = ComputeScheduleMemory(graph, graph.FileOrder());
  ASSERT_THAT(file_order, IsOk());
  EXPECT_EQ(file_order->peak_bytes, 300 * kKiB);
  absl::StatusOr<Reordering> reordering = FindMinimumPeakOrder(graph);
  ASSERT_THAT(reordering, IsOk());
  EXPECT_TRUE(reordering->exact);
  EXPECT_THAT(reordering->method, StartsWith("exact"));
  EXPECT_EQ(reordering->peak_bytes, 272 * kKiB);
  // conv1, b1a, b1b, b2a, b2b, add, fc.
  EXPECT_THAT(reordering->order, ElementsAre(0, 1, 3, 2, 4, 5, 6));
}

// Every topological order, the slow way.
void ForEachTopologicalOrder(const Graph& graph, std::vector<int>& order,
                             std::vector<bool>& done, int64_t& best_peak) {
  if (static_cast<int>(order.size()) == graph.num_operators()) {
    absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(graph, order);
    ASSERT_THAT(memory, IsOk());
    best_peak = std::min(best_peak, memory->peak_bytes);
    return;
  }
  for (int op = 0; op < graph.num_operators(); ++op) {
    if (done[op]) continue;
    bool ready = true;
    for (int input : graph.operators()[op].inputs) {
      const int producer = graph.tensors()[input].producer;
      ready = ready && (producer < 0 || done[producer]);
    }
    if (!ready) continue;
    done[op] = true;
    order.push_back(op);
    ForEachTopologicalOrder(graph, order, done, best_peak);
    order.pop_back();
    done[op] = false;
  }
}

int64_t BruteForceMinimumPeak(const Graph& graph) {
  std::vector<int> order;
  std::vector<bool> done(graph.num_operators(), false);
  int64_t best_peak = std::numeric_limits<int64_t>::max();
  ForEachTopologicalOrder(graph, order, done, best_peak);
  return best_peak;
}

// Replay a failure with --gtest_random_seed=N.
TEST(ReorderTest, EqualsBruteForceOnRandomDags) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  int improved = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int num_operators = 1 + trial % 10;
    SCOPED_TRACE(testing::Message() << "trial " << trial << ", " << num_operators << " operators");
    const Graph graph = RandomGraph(num_operators, /*max_size_bytes=*/100, rng);
    absl::StatusOr<Reordering> reordering = FindMinimumPeakOrder(graph);
    ASSERT_THAT(reordering, IsOk());
    ASSERT_TRUE(reordering->exact);
    EXPECT_EQ(reordering->peak_bytes, BruteForceMinimumPeak(graph));
    // The order is topological and really has the peak it claims.
    absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(graph, reordering->order);
    ASSERT_THAT(memory, IsOk());
    EXPECT_EQ(memory->peak_bytes, reordering->peak_bytes);
    absl::StatusOr<ScheduleMemory> file_order = ComputeScheduleMemory(graph, graph.FileOrder());
    ASSERT_THAT(file_order, IsOk());
    if (reordering->peak_bytes < file_order->peak_bytes) ++improved;
  }
  // Not a vacuous test: reordering must matter on some random graphs.
  EXPECT_GT(improved, 10);
}

// 31 operators: three chains of 10 from one input, joined by a concat. The
// executed sets are (10 + 1)^3 = 1331 before the concat, so the exact search
// fits the default budget; no random topological order may beat it.
TEST(ReorderTest, ExactOnThirtyOneOperatorsInThreeBranches) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::uniform_int_distribution<int64_t> size(1, 1000);
  GraphSpec spec;
  spec.tensors.push_back({"x", size(rng)});
  spec.inputs = {"x"};
  OperatorSpec concat{"concat", "Concat", {}, {"y"}};
  for (int branch = 0; branch < 3; ++branch) {
    std::string previous = "x";
    for (int i = 0; i < 10; ++i) {
      const std::string name = absl::StrCat("b", branch, "_", i);
      spec.tensors.push_back({name, size(rng)});
      spec.operators.push_back({name, "Conv", {previous}, {name}});
      previous = name;
    }
    concat.inputs.push_back(previous);
  }
  spec.tensors.push_back({"y", size(rng)});
  spec.operators.push_back(concat);
  spec.outputs = {"y"};
  absl::StatusOr<Graph> graph = Graph::Create(spec);
  ASSERT_THAT(graph, IsOk());
  absl::StatusOr<Reordering> reordering = FindMinimumPeakOrder(*graph);
  ASSERT_THAT(reordering, IsOk());
  EXPECT_TRUE(reordering->exact);
  EXPECT_LE(reordering->states_visited, 1331);
  for (int trial = 0; trial < 2000; ++trial) {
    // A random topological order: repeatedly run a random ready operator.
    std::vector<int> next(3, 0), order;
    while (order.size() < 30) {
      const int branch = std::uniform_int_distribution<int>(0, 2)(rng);
      if (next[branch] < 10) order.push_back(branch * 10 + next[branch]++);
    }
    order.push_back(30);
    absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(*graph, order);
    ASSERT_THAT(memory, IsOk());
    ASSERT_LE(reordering->peak_bytes, memory->peak_bytes) << "trial " << trial;
  }
}

TEST(ReorderTest, FallsBackAboveTheStateBudgetAndSaysSo) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  for (int trial = 0; trial < 50; ++trial) {
    SCOPED_TRACE(testing::Message() << "trial " << trial);
    const Graph graph = RandomGraph(10, /*max_size_bytes=*/100, rng);
    absl::StatusOr<Reordering> fallback = FindMinimumPeakOrder(graph, {.max_states = 2});
    ASSERT_THAT(fallback, IsOk());
    EXPECT_FALSE(fallback->exact);
    EXPECT_THAT(fallback->method, HasSubstr("state budget of 2"));
    absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(graph, fallback->order);
    ASSERT_THAT(memory, IsOk());
    EXPECT_EQ(memory->peak_bytes, fallback->peak_bytes);
    absl::StatusOr<ScheduleMemory> file_order = ComputeScheduleMemory(graph, graph.FileOrder());
    ASSERT_THAT(file_order, IsOk());
    EXPECT_LE(fallback->peak_bytes, file_order->peak_bytes);
    EXPECT_GE(fallback->peak_bytes, BruteForceMinimumPeak(graph));
  }
}

TEST(ReorderTest, RejectsAnEmptyStateBudget) {
  EXPECT_THAT(FindMinimumPeakOrder(StudyExampleCnn(), {.max_states = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_states is 0")));
}

}  // namespace
}  // namespace edgecompress::memplan
