#include "memplan/json_graph.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kGraph[] = R"({
  "tensors": [{"name": "x", "size_bytes": 3072}, {"name": "a", "size_bytes": 8192},
              {"name": "y", "size_bytes": 8192}],
  "operators": [{"name": "conv1", "type": "Conv", "inputs": ["x", "w1"], "outputs": ["a"]},
                {"name": "relu1", "inputs": ["a"], "outputs": ["y"], "in_place_capable": true}],
  "inputs": ["x"],
  "outputs": ["y"],
  "constants": ["w1"]
})";

TEST(JsonGraphTest, ReadsEveryField) {
  absl::StatusOr<GraphSpec> spec = ParseJsonGraph(kGraph, "g.json");
  ASSERT_THAT(spec, IsOk());
  ASSERT_EQ(spec->tensors.size(), 3u);
  EXPECT_EQ(spec->tensors[1].name, "a");
  EXPECT_EQ(spec->tensors[1].size_bytes, 8192);
  ASSERT_EQ(spec->operators.size(), 2u);
  EXPECT_EQ(spec->operators[0].type, "Conv");
  EXPECT_THAT(spec->operators[0].inputs, ElementsAre("x", "w1"));
  EXPECT_FALSE(spec->operators[0].in_place_capable);
  EXPECT_EQ(spec->operators[1].type, "");
  EXPECT_TRUE(spec->operators[1].in_place_capable);
  EXPECT_THAT(spec->inputs, ElementsAre("x"));
  EXPECT_THAT(spec->outputs, ElementsAre("y"));
  EXPECT_THAT(spec->constants, ElementsAre("w1"));
  EXPECT_THAT(Graph::Create(*spec), IsOk());
}

TEST(JsonGraphTest, OptionalListsDefaultToEmpty) {
  absl::StatusOr<GraphSpec> spec = ParseJsonGraph(
      R"({"tensors": [{"name": "a", "size_bytes": 1}],
          "operators": [{"name": "op", "inputs": [], "outputs": ["a"]}]})",
      "g.json");
  ASSERT_THAT(spec, IsOk());
  EXPECT_TRUE(spec->inputs.empty());
  EXPECT_TRUE(spec->outputs.empty());
  EXPECT_TRUE(spec->constants.empty());
}

TEST(JsonGraphTest, ErrorsNameTheFileAndThePlace) {
  struct Case {
    const char* text;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"{\"tensors\": [", absl::StatusCode::kDataLoss, "g.json: not valid JSON at byte"},
      {"[]", absl::StatusCode::kInvalidArgument, "g.json: / must be an object"},
      {R"({"tensors": [], "operators": [], "output": ["y"]})", absl::StatusCode::kInvalidArgument,
       "g.json: / has unknown key \"output\""},
      {R"({"operators": []})", absl::StatusCode::kInvalidArgument,
       "g.json: / lacks the key \"tensors\""},
      {R"({"tensors": [{"name": "a", "size_bytes": 1.5}], "operators": []})",
       absl::StatusCode::kInvalidArgument, "g.json: /tensors/0/size_bytes must be an integer"},
      {R"({"tensors": [{"name": "a", "size_bytes": 4, "dtype": "f32"}], "operators": []})",
       absl::StatusCode::kInvalidArgument, "g.json: /tensors/0 has unknown key \"dtype\""},
      {R"({"tensors": [], "operators": [{"name": "op", "inputs": "a", "outputs": []}]})",
       absl::StatusCode::kInvalidArgument, "g.json: /operators/0/inputs must be an array"},
      {R"({"tensors": [], "operators": [{"name": "op", "inputs": [3], "outputs": []}]})",
       absl::StatusCode::kInvalidArgument, "g.json: /operators/0/inputs/0 must be a string"},
      {R"({"tensors": [], "operators": [{"name": "op", "outputs": []}]})",
       absl::StatusCode::kInvalidArgument, "g.json: /operators/0 lacks the key \"inputs\""},
      {R"({"tensors": [], "operators": [{"name": "op", "inputs": [], "outputs": [],
           "in_place_capable": 1}]})",
       absl::StatusCode::kInvalidArgument, "/operators/0/in_place_capable must be true or false"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_THAT(ParseJsonGraph(c.text, "g.json"), StatusIs(c.code, HasSubstr(c.message)));
  }
}

}  // namespace
}  // namespace edgecompress::memplan
