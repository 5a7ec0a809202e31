#include "partition/tile_models.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partition/tiling.h"
#include "tools/status/status_matchers.h"
#include "partition/test_models.h"
#include "training/models/layer_graph.h"
#include "training/onnx/onnx_export.h"

namespace edgecompress::partition {
namespace {

using ::testing::HasSubstr;

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
