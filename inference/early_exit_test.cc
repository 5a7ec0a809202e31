#include "inference/early_exit.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "inference/onnx_subgraph.h"
#include "tools/status/status_matchers.h"
#include "training/models/layer_graph.h"
#include "training/onnx/onnx_export.h"

namespace edgecompress::inference {
namespace {

using ::testing::HasSubstr;
using training::LayerGraph;

// A small early-exit network on 2x8x8:
//   conv a (2->4, 3x3 p1), ReLU                     -> exit 0: pool, linear
//   conv b (4->4, 3x3 p1), Add(b, a), ReLU          -> exit 1: pool, linear
//   conv c (4->6, 3x3 s2 p1), ReLU, pool, linear fc (final)
// The residual Add sits inside segment 1, reading branch point 0.
LayerGraph ExitGraph(bool skip_across_branch = false) {
  LayerGraph graph({2, 8, 8});
  const std::string a = graph.Relu(graph.Conv2d("a", LayerGraph::kInput,
                                                {.in_channels = 2, .out_channels = 4,
                                                 .kernel_size = 3, .padding = 1}));
  const std::string exit0 = graph.Linear("exit0", graph.Flatten(graph.GlobalAveragePool(a)),
                                         {.in_features = 4, .out_features = 3});
  const std::string b = graph.Relu(graph.Add(
      graph.Conv2d("b", a, {.in_channels = 4, .out_channels = 4, .kernel_size = 3, .padding = 1}),
      a));
  const std::string exit1 = graph.Linear("exit1", graph.Flatten(graph.GlobalAveragePool(b)),
                                         {.in_features = 4, .out_features = 3});
  // With the skip, conv c reads a + b: a reaches past branch point 1.
  const std::string c_in = skip_across_branch ? graph.Add(b, a) : b;
  const std::string c = graph.Relu(graph.Conv2d(
      "c", c_in, {.in_channels = 4, .out_channels = 6, .kernel_size = 3, .stride = 2, .padding = 1}));
  graph.SetOutput(graph.Linear("fc", graph.Flatten(graph.GlobalAveragePool(c)),
                               {.in_features = 6, .out_features = 3}));
  graph.AddSideOutput(exit0);
  graph.AddSideOutput(exit1);
  return graph;
}

class Params {
 public:
  Params() {
    Fill("a.weight", {4, 2, 3, 3});
    Fill("a.bias", {4});
    Fill("b.weight", {4, 4, 3, 3});
    Fill("b.bias", {4});
    Fill("c.weight", {6, 4, 3, 3});
    Fill("c.bias", {6});
    for (const std::string exit : {"exit0", "exit1"}) {
      Fill(exit + ".weight", {3, 4});
      Fill(exit + ".bias", {3});
    }
    Fill("fc.weight", {3, 6});
    Fill("fc.bias", {3});
  }
  const training::ParameterLookup& lookup() const { return lookup_; }

 private:
  void Fill(const std::string& name, std::vector<int64_t> shape) {
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    std::vector<float> values(size);
    for (int64_t k = 0; k < size; ++k) values[k] = 0.5f * std::sin(1.3f * k + name.size());
    storage_.push_back(std::move(values));
    lookup_[name] = {std::move(shape), storage_.back()};
  }
  std::deque<std::vector<float>> storage_;
  training::ParameterLookup lookup_;
};

onnx::ModelProto Export(const LayerGraph& graph, bool side_outputs) {
  const Params params;
  training::OnnxExportOptions options;
  options.side_outputs = side_outputs;
  absl::StatusOr<onnx::ModelProto> model = training::ExportOnnx(graph, params.lookup(), options);
  EXPECT_THAT(model, IsOk());
  return model.value_or(onnx::ModelProto());
}

std::vector<float> RunWhole(const onnx::ModelProto& model, const std::vector<float>& image) {
  absl::StatusOr<OnnxModel> imported =
      OnnxModel::ImportBytes(model.SerializeAsString(), {.batch_size = 1});
  EXPECT_THAT(imported, IsOk());
  absl::StatusOr<OnnxRuntime> runtime = imported->Build(1);
  EXPECT_THAT(runtime, IsOk());
  std::vector<float> out(runtime->output_size());
  EXPECT_THAT(runtime->Run(image, absl::MakeSpan(out)), IsOk());
  return out;
}

std::vector<float> Image(int seed) {
  std::vector<float> image(2 * 8 * 8);
  for (size_t i = 0; i < image.size(); ++i) image[i] = std::cos(0.7f * i + seed);
  return image;
}

// Every exit computes what the whole network computes for that output.
TEST(EarlyExitTest, PiecesComputeEveryExitOfTheWholeModel) {
  const onnx::ModelProto model = Export(ExitGraph(), /*side_outputs=*/true);
  ASSERT_EQ(model.graph().output_size(), 3);
  absl::StatusOr<EarlyExitModel> exits = EarlyExitModel::Import(model, 1);
  ASSERT_THAT(exits, IsOk());
  EXPECT_EQ(exits->num_exits(), 3);
  EXPECT_EQ(exits->num_classes(), 3u);
  for (int seed = 0; seed < 3; ++seed) {
    const std::vector<float> image = Image(seed);
    absl::StatusOr<std::vector<std::vector<float>>> all = exits->RunAllExits(image);
    ASSERT_THAT(all, IsOk());
    ASSERT_EQ(all->size(), 3u);
    // The final classifier: the model exported without its side exits.
    const std::vector<float> final_logits = RunWhole(Export(ExitGraph(), false), image);
    for (size_t c = 0; c < 3; ++c) EXPECT_NEAR((*all)[2][c], final_logits[c], 1e-5);
    for (int k = 0; k < 2; ++k) {
      absl::StatusOr<onnx::ModelProto> side =
          ExtractSubgraph(model, "input", model.graph().output(k + 1).name());
      ASSERT_THAT(side, IsOk());
      const std::vector<float> want = RunWhole(*side, image);
      for (size_t c = 0; c < 3; ++c) EXPECT_NEAR((*all)[k][c], want[c], 1e-5) << k;
    }

    // A threshold of 0 exits at once, one above 1 never.
    for (const auto& [thresholds, exit] :
         std::vector<std::pair<std::vector<double>, int>>{{{0.0, 0.0}, 0}, {{2.0, 0.0}, 1},
                                                          {{2.0, 2.0}, 2}}) {
      absl::StatusOr<EarlyExitModel::Result> run = exits->Run(image, thresholds);
      ASSERT_THAT(run, IsOk());
      EXPECT_EQ(run->exit, exit);
      EXPECT_EQ(run->logits, (*all)[exit]);
      EXPECT_FLOAT_EQ(run->confidence, SoftmaxConfidence((*all)[exit]));
    }
  }
}

TEST(EarlyExitTest, SoftmaxConfidenceIsTheLargestProbability) {
  const std::vector<float> logits = {0.0f, std::log(3.0f)};  // p = 1/4, 3/4
  EXPECT_NEAR(SoftmaxConfidence(logits), 0.75f, 1e-6);
  const std::vector<float> large = {1000.0f, 1000.0f, 1000.0f, 1000.0f};  // no overflow
  EXPECT_NEAR(SoftmaxConfidence(large), 0.25f, 1e-6);
}

TEST(EarlyExitTest, RejectsWhatCannotBeSplit) {
  EXPECT_THAT(EarlyExitModel::Import(Export(ExitGraph(), false), 1).status().message(),
              HasSubstr("at least one side exit"));
  const absl::Status skip =
      EarlyExitModel::Import(Export(ExitGraph(/*skip_across_branch=*/true), true), 1).status();
  EXPECT_TRUE(absl::IsUnimplemented(skip)) << skip;
  EXPECT_THAT(skip.message(), HasSubstr("a connection around it"));
  absl::StatusOr<EarlyExitModel> exits = EarlyExitModel::Import(Export(ExitGraph(), true), 1);
  ASSERT_THAT(exits, IsOk());
  EXPECT_THAT(exits->Run(Image(0), {0.5}).status().message(), HasSubstr("2 side exits"));
}

}  // namespace
}  // namespace edgecompress::inference
