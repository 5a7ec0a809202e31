#include "tools/memplan/graph_file.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string WriteTemp(const std::string& name, const std::string& contents) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::ofstream(path, std::ios::binary) << contents;
  return path;
}

constexpr char kChain[] = R"({
  "tensors": [{"name": "x", "size_bytes": 16}, {"name": "y", "size_bytes": 32}],
  "operators": [{"name": "op", "inputs": ["x"], "outputs": ["y"]}],
  "inputs": ["x"], "outputs": ["y"]})";

TEST(GraphFileTest, ReadsJsonByExtension) {
  absl::StatusOr<Graph> graph = LoadGraphFile(WriteTemp("chain.json", kChain), 1);
  ASSERT_THAT(graph, IsOk());
  EXPECT_EQ(graph->num_operators(), 1);
  EXPECT_EQ(graph->tensors()[1].size_bytes, 32);
}

TEST(GraphFileTest, EveryErrorStartsWithThePath) {
  const std::string cycle = WriteTemp("cycle.json", R"({
    "tensors": [{"name": "a", "size_bytes": 1}, {"name": "b", "size_bytes": 1}],
    "operators": [{"name": "f", "inputs": ["b"], "outputs": ["a"]},
                  {"name": "g", "inputs": ["a"], "outputs": ["b"]}]})");
  EXPECT_THAT(LoadGraphFile(cycle, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith(cycle + ": "), HasSubstr("cycle"))));
  const std::string garbage = WriteTemp("garbage.onnx", "\xff\xff\xff not a protobuf");
  EXPECT_THAT(LoadGraphFile(garbage, 1),
              StatusIs(absl::StatusCode::kDataLoss, StartsWith(garbage + ": not an ONNX model")));
  const std::string truncated = WriteTemp("truncated.json", std::string(kChain).substr(0, 40));
  EXPECT_THAT(LoadGraphFile(truncated, 1),
              StatusIs(absl::StatusCode::kDataLoss, StartsWith(truncated + ": not valid JSON")));
  const std::string text = WriteTemp("graph.txt", kChain);
  EXPECT_THAT(LoadGraphFile(text, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith(text + ": unknown graph format")));
  EXPECT_THAT(LoadGraphFile("/nonexistent/g.json", 1),
              StatusIs(absl::StatusCode::kNotFound, StartsWith("/nonexistent/g.json: cannot open")));
}

}  // namespace
}  // namespace edgecompress::memplan
