#include "pruning/sparsity_report.h"

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::HasSubstr;

// conv 1->4 3x3 on 6x6 (4x4 output), then flatten and linear 64->2.
training::LayerGraph SmallNet() {
  training::LayerGraph graph({1, 6, 6});
  std::string x = graph.Conv2d("conv", training::LayerGraph::kInput,
                               {.in_channels = 1, .out_channels = 4, .kernel_size = 3});
  graph.Linear("fc", graph.Flatten(graph.Relu(x)), {.in_features = 64, .out_features = 2});
  return graph;
}

// conv: 36 weights, 576 MACs (4*4*4*9); 9 zeros -> 27/36 * 576 = 432.
// fc: 128 weights and MACs; 96 zeros -> 32.
// Sizes: all 36 + 4 + 128 + 2 = 170 parameters -> 680 bytes dense. Sparse:
// conv.weight ceil(36/8) = 5 + 27*4 = 113; fc.weight 16 + 32*4 = 144;
// biases dense 16 + 8: 281 bytes.
TEST(SparsityReportTest, CountsSizesAndMacsByHand) {
  const std::map<std::string, TensorCount> tensors = {
      {"conv.weight", {36, 9}}, {"conv.bias", {4, 0}}, {"fc.weight", {128, 96}}, {"fc.bias", {2, 0}}};
  absl::StatusOr<SparsityReport> report =
      MakeSparsityReport(SmallNet(), tensors, {"conv.weight", "fc.weight"});
  ASSERT_THAT(report, IsOk());
  ASSERT_EQ(report->layers.size(), 2u);
  EXPECT_EQ(report->layers[0].dense_macs, 576);
  EXPECT_EQ(report->layers[0].effective_macs, 432);
  EXPECT_EQ(report->layers[1].effective_macs, 32);
  EXPECT_EQ(report->dense_macs, 704);
  EXPECT_EQ(report->effective_macs, 464);
  EXPECT_EQ(report->parameters, 170);
  EXPECT_EQ(report->nonzero_parameters, 65);
  EXPECT_EQ(report->dense_bytes, 680);
  EXPECT_EQ(report->sparse_bytes, 281);
  EXPECT_DOUBLE_EQ(report->sparsity, 105.0 / 164.0);
  const std::string table = FormatSparsityTable(*report);
  EXPECT_THAT(table, HasSubstr("conv"));
  EXPECT_THAT(table, HasSubstr("75.00%"));  // fc: 96 / 128
  EXPECT_THAT(table, HasSubstr("680 bytes dense, 281 sparse"));
}

TEST(SparsityReportTest, MissingOrMismatchedTensorsAreErrors) {
  EXPECT_THAT(MakeSparsityReport(SmallNet(), {{"conv.weight", {36, 0}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("fc.weight")));
  EXPECT_THAT(MakeSparsityReport(SmallNet(), {{"conv.weight", {35, 0}}, {"fc.weight", {128, 0}}}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("graph says 36")));
  EXPECT_THAT(MakeSparsityReport(SmallNet(), {{"conv.weight", {36, 0}}, {"fc.weight", {128, 0}}},
                                 {"nothing.weight"}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nothing.weight")));
}

}  // namespace
}  // namespace edgecompress::pruning
