#include "partition/test_models.h"

#include <cmath>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "tools/status/status_matchers.h"
#include "training/models/layer_graph.h"
#include "training/onnx/onnx_export.h"

namespace edgecompress::partition {
namespace {

// A MobileNet-style stem on 3x30x30 with every kind of fused node:
//   conv 3->8 3x3 s2 p1 (+ folded BN) ReLU6   15x15
//   depthwise 3x3 p1, ReLU                      15x15
//   pointwise 8->12, ReLU                       15x15
//   max-pool 3x3 s2 p1, BatchNormalization      8x8
//   conv 12->12 3x3 p2 dilation 2, ReLU         8x8
//   global average pool, flatten, linear 12->5
// Five spatial layers; the odd sizes give tiles of unequal size.
training::LayerGraph StemGraph() {
  training::LayerGraph graph({3, 30, 30});
  std::string x = graph.Conv2d("conv1", training::LayerGraph::kInput,
                               {.in_channels = 3, .out_channels = 8, .kernel_size = 3,
                                .stride = 2, .padding = 1});
  x = graph.Clip(graph.BatchNorm("bn1", x, {.channels = 8}), {.min = 0.0f, .max = 6.0f});
  x = graph.Relu(graph.Conv2d("dw", x, {.in_channels = 8, .out_channels = 8, .kernel_size = 3,
                                        .padding = 1, .groups = 8}));
  x = graph.Relu(graph.Conv2d("pw", x, {.in_channels = 8, .out_channels = 12}));
  x = graph.BatchNorm("bn2", graph.MaxPool(x, {.kernel_size = 3, .stride = 2, .padding = 1}),
                      {.channels = 12});
  x = graph.Relu(graph.Conv2d("conv3", x, {.in_channels = 12, .out_channels = 12,
                                           .kernel_size = 3, .padding = 2, .dilation = 2}));
  x = graph.Linear("fc", graph.Flatten(graph.GlobalAveragePool(x)),
                   {.in_features = 12, .out_features = 5});
  graph.SetOutput(x);
  return graph;
}

}  // namespace

onnx::ModelProto StemModel() {
  std::deque<std::vector<float>> storage;
  training::ParameterLookup lookup;
  int seed = 0;
  const auto fill = [&](const std::string& name, std::vector<int64_t> shape, bool positive) {
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    std::vector<float> values(size);
    ++seed;
    for (int64_t k = 0; k < size; ++k) {
      const float v = 0.4f * std::sin(0.7f * k + seed);
      values[k] = positive ? 0.5f + std::abs(v) : v;
    }
    storage.push_back(std::move(values));
    lookup[name] = {std::move(shape), storage.back()};
  };
  fill("conv1.weight", {8, 3, 3, 3}, false);
  fill("conv1.bias", {8}, false);
  fill("dw.weight", {8, 1, 3, 3}, false);
  fill("dw.bias", {8}, false);
  fill("pw.weight", {12, 8, 1, 1}, false);
  fill("pw.bias", {12}, false);
  fill("conv3.weight", {12, 12, 3, 3}, false);
  fill("conv3.bias", {12}, false);
  fill("fc.weight", {5, 12}, false);
  fill("fc.bias", {5}, false);
  for (const std::string bn : {"bn1", "bn2"}) {
    const int64_t c = bn == "bn1" ? 8 : 12;
    fill(bn + ".weight", {c}, true);
    fill(bn + ".bias", {c}, false);
    fill(bn + ".running_mean", {c}, false);
    fill(bn + ".running_var", {c}, true);
  }
  absl::StatusOr<onnx::ModelProto> model = training::ExportOnnx(StemGraph(), lookup);
  EXPECT_THAT(model, IsOk());
  return model.value_or(onnx::ModelProto());
}

std::vector<float> RunModel(const onnx::ModelProto& model, absl::Span<const float> input,
                            size_t batch) {
  absl::StatusOr<inference::OnnxModel> imported =
      inference::OnnxModel::ImportBytes(model.SerializeAsString(), {.batch_size = batch});
  EXPECT_THAT(imported, IsOk());
  if (!imported.ok()) return {};
  absl::StatusOr<inference::OnnxRuntime> runtime = imported->Build(1);
  EXPECT_THAT(runtime, IsOk());
  if (!runtime.ok()) return {};
  EXPECT_EQ(runtime->input_size(), input.size());
  std::vector<float> output(runtime->output_size());
  EXPECT_THAT(runtime->Run(input, absl::MakeSpan(output)), IsOk());
  return output;
}

}  // namespace edgecompress::partition
