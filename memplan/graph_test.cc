#include "memplan/graph.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// x -> conv -> a -> relu -> y, conv also reads the constant w.
GraphSpec Chain() {
  GraphSpec spec;
  spec.tensors = {{"x", 12}, {"a", 32}, {"y", 32}};
  spec.operators = {{"conv", "Conv", {"x", "w"}, {"a"}, false},
                    {"relu", "Relu", {"a", "a"}, {"y"}, true}};
  spec.inputs = {"x"};
  spec.outputs = {"y"};
  spec.constants = {"w"};
  return spec;
}

TEST(GraphTest, ResolvesNamesDropsConstantsAndRepeats) {
  absl::StatusOr<Graph> graph = Graph::Create(Chain());
  ASSERT_THAT(graph, IsOk());
  ASSERT_EQ(graph->num_tensors(), 3);
  ASSERT_EQ(graph->num_operators(), 2);
  EXPECT_THAT(graph->operators()[0].inputs, ElementsAre(0));  // w is a constant
  EXPECT_THAT(graph->operators()[1].inputs, ElementsAre(1));  // a read twice, counted once
  EXPECT_EQ(graph->tensors()[0].producer, -1);
  EXPECT_TRUE(graph->tensors()[0].is_graph_input);
  EXPECT_EQ(graph->tensors()[1].producer, 0);
  EXPECT_THAT(graph->tensors()[1].consumers, ElementsAre(1));
  EXPECT_TRUE(graph->tensors()[2].is_graph_output);
  EXPECT_TRUE(graph->operators()[1].in_place_capable);
  EXPECT_THAT(graph->FileOrder(), ElementsAre(0, 1));
}

TEST(GraphTest, InvalidGraphsNameTheCulprit) {
  struct Case {
    const char* what;
    void (*edit)(GraphSpec&);
    const char* message;
  };
  const Case cases[] = {
      {"zero size", [](GraphSpec& s) { s.tensors[1].size_bytes = 0; }, "tensor 'a' has size_bytes 0"},
      {"negative size", [](GraphSpec& s) { s.tensors[2].size_bytes = -4; },
       "tensor 'y' has size_bytes -4"},
      {"dangling input", [](GraphSpec& s) { s.operators[1].inputs = {"b"}; },
       "operator 'relu' reads 'b', which is not a declared tensor"},
      {"tensor nobody writes", [](GraphSpec& s) { s.tensors.push_back({"orphan", 4}); },
       "tensor 'orphan' is neither a graph input nor written"},
      {"two writers", [](GraphSpec& s) { s.operators[1].outputs = {"a"}; },
       "tensor 'a' is written by both 'conv' and 'relu'"},
      {"undeclared output", [](GraphSpec& s) { s.outputs = {"z"}; },
       "graph output 'z' is not a declared tensor"},
      {"duplicate operator", [](GraphSpec& s) { s.operators[1].name = "conv"; },
       "operator 'conv' is declared twice"},
      {"writes an input", [](GraphSpec& s) { s.operators[1].outputs = {"x"}; },
       "writes graph input 'x'"},
      {"cycle", [](GraphSpec& s) { s.operators[0].inputs = {"y"}; },
       "cycle: 'relu' -> 'conv' -> 'relu'"},
      {"self loop", [](GraphSpec& s) { s.operators[1].inputs = {"y"}; },
       "cycle: 'relu' -> 'relu'"},
      {"no operators", [](GraphSpec& s) { s.operators.clear(); }, "no operators"},
      {"file order not topological",
       [](GraphSpec& s) { std::swap(s.operators[0], s.operators[1]); },
       "operator 'relu' reads 'a' before its producer 'conv' runs"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    GraphSpec spec = Chain();
    c.edit(spec);
    EXPECT_THAT(Graph::Create(spec),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

}  // namespace
}  // namespace edgecompress::memplan
