#include "partition/tile_models.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "partition/tiling.h"
#include "tools/status/status_matchers.h"
#include "training/models/layer_graph.h"
#include "training/onnx/onnx_export.h"

namespace edgecompress::partition {
namespace {

using ::testing::HasSubstr;

// A MobileNet-style stem on 3x30x30 with every kind of fused node:
//   conv 3->8 3x3 s2 p1 (+ folded BN) ReLU6   15x15
//   depthwise 3x3 p1, ReLU                      15x15
//   pointwise 8->12, ReLU                       15x15
//   max-pool 3x3 s2 p1, BatchNormalization      8x8
//   conv 12->12 3x3 p2 dilation 2, ReLU         8x8
//   global average pool, flatten, linear 12->5
// Five spatial layers; the odd sizes give tiles of unequal size.
training::LayerGraph Stem() {
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
  absl::StatusOr<onnx::ModelProto> model = training::ExportOnnx(Stem(), lookup);
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

// The tiled model computes what the whole one does: every tile model run on
// its crop, stitched at the cut, and the rest model run on that, for every
// depth of fusion and grids up to 3x3.
TEST(TileModelsTest, TiledOutputsEqualTheWholeModel) {
  const onnx::ModelProto model = StemModel();
  const size_t batch = 2;
  std::vector<float> input(batch * 3 * 30 * 30);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::cos(0.013f * i * i + 0.1f * i);
  const std::vector<float> want = RunModel(model, input, batch);
  ASSERT_EQ(want.size(), batch * 5);
  for (int fused = 1; fused <= 5; ++fused) {
    absl::StatusOr<FusedPrefix> prefix = FindFusedPrefix(model, fused, batch);
    ASSERT_THAT(prefix, IsOk()) << fused;
    ASSERT_EQ(prefix->layers.size(), static_cast<size_t>(fused));
    absl::StatusOr<onnx::ModelProto> rest = RestModel(*prefix);
    ASSERT_THAT(rest, IsOk());
    for (const auto& [rows, cols] : std::vector<std::pair<int, int>>{{1, 1}, {2, 2}, {3, 3}, {2, 3}}) {
      absl::StatusOr<TilePlan> plan = PlanTiles(prefix->layers, rows, cols);
      ASSERT_THAT(plan, IsOk());
      const std::array<int64_t, 4>& cut = prefix->cut_shape;
      std::vector<float> stitched(cut[0] * cut[1] * cut[2] * cut[3], NAN);
      for (const Tile& tile : plan->tiles) {
        const std::vector<float> tile_out =
            RunModel(TileModel(*prefix, tile), CropTileInput(input, prefix->input_shape, tile), batch);
        PlaceTileOutput(tile_out, tile, cut, absl::MakeSpan(stitched));
      }
      const std::vector<float> got = RunModel(*rest, stitched, batch);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_NEAR(got[i], want[i], 1e-4) << fused << " layers, " << rows << "x" << cols;
      }
    }
  }
}

TEST(TileModelsTest, CutShapesFollowTheLayers) {
  absl::StatusOr<FusedPrefix> prefix = FindFusedPrefix(StemModel(), 4, 1);
  ASSERT_THAT(prefix, IsOk());
  EXPECT_EQ(prefix->input_shape, (std::array<int64_t, 4>{1, 3, 30, 30}));
  // After the max-pool and the BatchNormalization that follows it.
  EXPECT_EQ(prefix->cut_shape, (std::array<int64_t, 4>{1, 12, 8, 8}));
  EXPECT_EQ(prefix->layers[0].stride[0], 2);
  EXPECT_EQ(prefix->layers[3].kernel[1], 3);
}

TEST(TileModelsTest, RejectsWhatCannotBeTiled) {
  const onnx::ModelProto model = StemModel();
  EXPECT_THAT(FindFusedPrefix(model, 6, 1).status().message(),
              HasSubstr("GlobalAveragePool) cannot be fused"));
  EXPECT_THAT(FindFusedPrefix(model, 0, 1).status().message(), HasSubstr("at least one"));

  // A residual connection around the first layer: its input is read twice.
  training::LayerGraph graph({2, 8, 8});
  const std::string conv = graph.Conv2d("conv", training::LayerGraph::kInput,
                                        {.in_channels = 2, .out_channels = 2, .kernel_size = 3,
                                         .padding = 1});
  graph.SetOutput(graph.Add(conv, training::LayerGraph::kInput));
  std::vector<float> weight(2 * 2 * 9, 0.1f), bias(2, 0.0f);
  absl::StatusOr<onnx::ModelProto> residual =
      training::ExportOnnx(graph, {{"conv.weight", {{2, 2, 3, 3}, weight}},
                                   {"conv.bias", {{2}, bias}}});
  ASSERT_THAT(residual, IsOk());
  EXPECT_THAT(FindFusedPrefix(*residual, 1, 1).status().message(),
              HasSubstr("is read by 2 nodes"));
}

}  // namespace
}  // namespace edgecompress::partition
