#include "training/models/layer_graph.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet_graph.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LayerGraphTest, InfersLeNetShapes) {
  absl::StatusOr<std::vector<Shape>> shapes = InferShapes(LeNet5Graph());
  ASSERT_THAT(shapes, IsOk());
  EXPECT_EQ((*shapes)[1], (Shape{6, 28, 28}));    // conv1, padding 2 keeps 28
  EXPECT_EQ((*shapes)[3], (Shape{6, 14, 14}));    // pool
  EXPECT_EQ((*shapes)[4], (Shape{16, 10, 10}));   // conv2, 14 - 5 + 1
  EXPECT_EQ((*shapes)[7], (Shape{400}));          // flatten 16 * 5 * 5
  EXPECT_EQ(shapes->back(), (Shape{10}));
}

// LeNet-5 MACs by hand: conv1 6*28*28*1*25 = 117,600; conv2 16*10*10*6*25 =
// 240,000; fc 400*120 + 120*84 + 84*10 = 58,920; total 416,520.
TEST(LayerGraphTest, CountsLeNetMacs) {
  absl::StatusOr<std::vector<LayerMacs>> per_layer = MacsPerLayer(LeNet5Graph());
  ASSERT_THAT(per_layer, IsOk());
  std::vector<int64_t> macs, weights;
  for (const LayerMacs& layer : *per_layer) {
    macs.push_back(layer.macs);
    weights.push_back(layer.weights);
  }
  EXPECT_THAT(macs, ElementsAre(117600, 240000, 48000, 10080, 840));
  EXPECT_THAT(weights, ElementsAre(150, 2400, 48000, 10080, 840));
  EXPECT_THAT(CountMacs(LeNet5Graph()), IsOkAndHolds(416520));
}

TEST(LayerGraphTest, FindsConsumersOfAValue) {
  LayerGraph graph({3, 8, 8});
  const std::string a = graph.Conv2d("a", LayerGraph::kInput, {.in_channels = 3, .out_channels = 4});
  const std::string b = graph.BatchNorm("b", a, {.channels = 4});
  const std::string c = graph.Relu(b);
  graph.Add(c, b);
  EXPECT_THAT(graph.Consumers(b), ElementsAre(2, 3));
  EXPECT_THAT(graph.Consumers(a), ElementsAre(1));
  EXPECT_THAT(InferShapes(graph), IsOk());
}

// Depthwise: groups = channels, so each filter sees one channel: 8 filters of
// 3x3 over an 8x8 output at padding 1 = 8 * 64 * 9 = 4,608 MACs.
TEST(LayerGraphTest, CountsDepthwiseMacs) {
  LayerGraph graph({8, 8, 8});
  graph.Conv2d("dw", LayerGraph::kInput,
               {.in_channels = 8, .out_channels = 8, .kernel_size = 3, .padding = 1, .groups = 8});
  EXPECT_THAT(CountMacs(graph), IsOkAndHolds(4608));
}

TEST(LayerGraphTest, InconsistentGraphsAreErrorsNamingTheLayer) {
  {
    LayerGraph graph({3, 8, 8});
    graph.Conv2d("conv", LayerGraph::kInput, {.in_channels = 4, .out_channels = 4});
    EXPECT_THAT(InferShapes(graph), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("layer 0 (conv2d conv): expects 4 input")));
  }
  {
    LayerGraph graph({3, 4, 4});
    graph.Conv2d("big", LayerGraph::kInput, {.in_channels = 3, .out_channels = 4, .kernel_size = 7});
    EXPECT_THAT(InferShapes(graph), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("does not fit")));
  }
  {
    LayerGraph graph({3, 4, 4});
    graph.Relu("nowhere");
    EXPECT_THAT(InferShapes(graph), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("reads 'nowhere'")));
  }
  {
    LayerGraph graph({3, 4, 4});
    const std::string flat = graph.Flatten(LayerGraph::kInput);
    graph.Add(flat, LayerGraph::kInput);
    EXPECT_THAT(InferShapes(graph), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("adds [48] to [3, 4, 4]")));
  }
}

}  // namespace
}  // namespace edgecompress::training
