#include "pruning/thinning.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using training::Layer;
using training::LayerGraph;
using training::LayerOp;

// conv1 2->4 3x3 pad 1 on 6x6, bn1, ReLU, max-pool 2 (4x3x3), conv2 4->3 3x3
// pad 1 (3x3x3), ReLU, flatten (27), fc 27->5.
LayerGraph SmallNet() {
  LayerGraph graph({2, 6, 6});
  std::string x = graph.Conv2d("conv1", LayerGraph::kInput,
                               {.in_channels = 2, .out_channels = 4, .kernel_size = 3,
                                .padding = 1});
  x = graph.BatchNorm("bn1", x, {.channels = 4});
  x = graph.MaxPool(graph.Relu(x), {.kernel_size = 2, .stride = 2});
  x = graph.Conv2d("conv2", x,
                   {.in_channels = 4, .out_channels = 3, .kernel_size = 3, .padding = 1});
  x = graph.Flatten(graph.Relu(x));
  graph.Linear("fc", x, {.in_features = 27, .out_features = 5});
  return graph;
}

FloatTensor Random(std::vector<int64_t> shape, std::mt19937& rng, float low, float high) {
  std::uniform_real_distribution<float> uniform(low, high);
  FloatTensor tensor{std::move(shape), {}};
  int64_t n = 1;
  for (int64_t d : tensor.shape) n *= d;
  for (int64_t i = 0; i < n; ++i) tensor.values.push_back(uniform(rng));
  return tensor;
}

TensorMap RandomTensors(std::mt19937& rng) {
  return {{"conv1.weight", Random({4, 2, 3, 3}, rng, -1, 1)},
          {"conv1.bias", Random({4}, rng, -1, 1)},
          {"bn1.weight", Random({4}, rng, 0.5, 1.5)},
          {"bn1.bias", Random({4}, rng, -0.5, 0.5)},
          {"bn1.running_mean", Random({4}, rng, -0.5, 0.5)},
          {"bn1.running_var", Random({4}, rng, 0.5, 2)},
          {"conv2.weight", Random({3, 4, 3, 3}, rng, -1, 1)},
          {"conv2.bias", Random({3}, rng, -1, 1)},
          {"fc.weight", Random({5, 27}, rng, -1, 1)},
          {"fc.bias", Random({5}, rng, -1, 1)}};
}

// A plain reference forward pass of one sample, for the ops SmallNet uses:
// conv (groups 1, dilation 1), batch norm (inference), ReLU, max-pool,
// flatten, linear. Values are [C, H, W] or [features], row-major.
std::vector<float> Forward(const LayerGraph& graph, const TensorMap& tensors,
                           const std::vector<float>& input) {
  struct Value {
    std::vector<int64_t> shape;
    std::vector<float> data;
  };
  std::map<std::string, Value> values = {{std::string(LayerGraph::kInput),
                                          {graph.input_shape(), input}}};
  for (const Layer& layer : graph.layers()) {
    const Value& x = values.at(layer.inputs[0]);
    Value y;
    switch (layer.op) {
      case LayerOp::kConv2d: {
        const auto& a = std::get<training::Conv2dAttrs>(layer.attrs);
        const std::vector<float>& w = tensors.at(layer.name + ".weight").values;
        const std::vector<float>& b = tensors.at(layer.name + ".bias").values;
        const int64_t h = x.shape[1], wd = x.shape[2], k = a.kernel_size;
        const int64_t oh = (h + 2 * a.padding - k) / a.stride + 1;
        const int64_t ow = (wd + 2 * a.padding - k) / a.stride + 1;
        y.shape = {a.out_channels, oh, ow};
        for (int64_t o = 0; o < a.out_channels; ++o) {
          for (int64_t i = 0; i < oh; ++i) {
            for (int64_t j = 0; j < ow; ++j) {
              float sum = b[o];
              for (int64_t c = 0; c < a.in_channels; ++c) {
                for (int64_t u = 0; u < k; ++u) {
                  for (int64_t v = 0; v < k; ++v) {
                    const int64_t r = i * a.stride - a.padding + u;
                    const int64_t s = j * a.stride - a.padding + v;
                    if (r < 0 || r >= h || s < 0 || s >= wd) continue;
                    sum += w[((o * a.in_channels + c) * k + u) * k + v] *
                           x.data[(c * h + r) * wd + s];
                  }
                }
              }
              y.data.push_back(sum);
            }
          }
        }
        break;
      }
      case LayerOp::kBatchNorm: {
        const auto& a = std::get<training::BatchNormAttrs>(layer.attrs);
        const auto& g = tensors.at(layer.name + ".weight").values;
        const auto& beta = tensors.at(layer.name + ".bias").values;
        const auto& mean = tensors.at(layer.name + ".running_mean").values;
        const auto& var = tensors.at(layer.name + ".running_var").values;
        y = x;
        const int64_t plane = static_cast<int64_t>(x.data.size()) / a.channels;
        for (int64_t c = 0; c < a.channels; ++c) {
          for (int64_t i = 0; i < plane; ++i) {
            float& v = y.data[c * plane + i];
            v = g[c] * (v - mean[c]) / std::sqrt(var[c] + static_cast<float>(a.epsilon)) + beta[c];
          }
        }
        break;
      }
      case LayerOp::kRelu:
        y = x;
        for (float& v : y.data) v = std::max(v, 0.0f);
        break;
      case LayerOp::kMaxPool: {
        const auto& a = std::get<training::PoolAttrs>(layer.attrs);
        const int64_t c = x.shape[0], h = x.shape[1], wd = x.shape[2];
        const int64_t oh = (h - a.kernel_size) / a.stride + 1;
        const int64_t ow = (wd - a.kernel_size) / a.stride + 1;
        y.shape = {c, oh, ow};
        for (int64_t ch = 0; ch < c; ++ch) {
          for (int64_t i = 0; i < oh; ++i) {
            for (int64_t j = 0; j < ow; ++j) {
              float m = -INFINITY;
              for (int64_t u = 0; u < a.kernel_size; ++u) {
                for (int64_t v = 0; v < a.kernel_size; ++v) {
                  m = std::max(m, x.data[(ch * h + i * a.stride + u) * wd + j * a.stride + v]);
                }
              }
              y.data.push_back(m);
            }
          }
        }
        break;
      }
      case LayerOp::kFlatten:
        y = {{static_cast<int64_t>(x.data.size())}, x.data};
        break;
      case LayerOp::kLinear: {
        const auto& a = std::get<training::LinearAttrs>(layer.attrs);
        const auto& w = tensors.at(layer.name + ".weight").values;
        const auto& b = tensors.at(layer.name + ".bias").values;
        y.shape = {a.out_features};
        for (int64_t o = 0; o < a.out_features; ++o) {
          float sum = b[o];
          for (int64_t i = 0; i < a.in_features; ++i) sum += w[o * a.in_features + i] * x.data[i];
          y.data.push_back(sum);
        }
        break;
      }
      default:
        ADD_FAILURE() << "the reference forward has no " << training::LayerOpName(layer.op);
    }
    values[layer.output] = std::move(y);
  }
  return values.at(graph.output()).data;
}

// conv1 keeps filters {0, 2} of 4, conv2 keeps {0, 2} of 3. Expected by hand:
// bn1 keeps {0, 2}; conv2 reads input channels {0, 2}; fc reads conv2's
// channels 0 and 2 of 3x3 = 9 features each: features 0-8 and 18-26.
const std::map<std::string, std::vector<int64_t>> kKept = {{"conv1", {0, 2}}, {"conv2", {0, 2}}};

TEST(ThinningTest, PlansBatchNormNextConvAndLinearThroughFlatten) {
  absl::StatusOr<ThinningPlan> plan = PlanThinning(SmallNet(), kKept);
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->layers.size(), 4u);
  EXPECT_EQ(plan->layers[0].name, "conv1");
  EXPECT_THAT(*plan->layers[0].kept_outputs, ElementsAre(0, 2));
  EXPECT_FALSE(plan->layers[0].kept_inputs.has_value());
  EXPECT_EQ(plan->layers[1].name, "bn1");
  EXPECT_THAT(*plan->layers[1].kept_outputs, ElementsAre(0, 2));
  EXPECT_EQ(plan->layers[2].name, "conv2");
  EXPECT_THAT(*plan->layers[2].kept_inputs, ElementsAre(0, 2));
  EXPECT_THAT(*plan->layers[2].kept_outputs, ElementsAre(0, 2));
  EXPECT_EQ(plan->layers[3].name, "fc");
  EXPECT_EQ(plan->layers[3].op, LayerOp::kLinear);
  EXPECT_THAT(*plan->layers[3].kept_inputs,
              ElementsAreArray({0, 1, 2, 3, 4, 5, 6, 7, 8, 18, 19, 20, 21, 22, 23, 24, 25, 26}));
  EXPECT_FALSE(plan->layers[3].kept_outputs.has_value());
}

// The golden: with the removed filters zero (and their BatchNorm
// entries, so the channel is zero after bn1 too), the thinned model gives
// the same outputs as the masked one. Thinning only drops terms that are
// exactly +-0, and adding 0 to a float sum is exact, so the outputs are
// equal, not merely close.
TEST(ThinningTest, ThinnedModelComputesWhatTheMaskedModelComputes) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  const LayerGraph graph = SmallNet();
  absl::StatusOr<ThinningPlan> plan = PlanThinning(graph, kKept);
  ASSERT_THAT(plan, IsOk());
  TensorMap masked = RandomTensors(rng);
  ASSERT_THAT(ZeroRemovedChannels(graph, *plan, masked), IsOk());
  TensorMap thinned = masked;
  ASSERT_THAT(ThinTensors(graph, *plan, thinned), IsOk());
  absl::StatusOr<LayerGraph> small = ThinGraph(graph, *plan);
  ASSERT_THAT(small, IsOk());
  for (int sample = 0; sample < 5; ++sample) {
    SCOPED_TRACE(sample);
    const std::vector<float> input = Random({2, 6, 6}, rng, -2, 2).values;
    const std::vector<float> expected = Forward(graph, masked, input);
    const std::vector<float> got = Forward(*small, thinned, input);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got, expected);
  }
  // And without the masks the outputs do differ: the test can fail.
  TensorMap dense = RandomTensors(rng);
  TensorMap dense_thinned = dense;
  ASSERT_THAT(ThinTensors(graph, *plan, dense_thinned), IsOk());
  const std::vector<float> input = Random({2, 6, 6}, rng, -2, 2).values;
  EXPECT_NE(Forward(*small, dense_thinned, input), Forward(graph, dense, input));
}

// The masks are what ZeroRemovedChannels zeroes: conv1 filters 1 and 3 (18
// weights each) and their biases, bn1's scale and shift at 1 and 3 (not its
// running statistics), conv2's filter 1; nothing of fc, which only loses
// input features.
TEST(ThinningTest, RemovedChannelMasksAreWhatZeroingZeroes) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  const LayerGraph graph = SmallNet();
  absl::StatusOr<ThinningPlan> plan = PlanThinning(graph, kKept);
  ASSERT_THAT(plan, IsOk());
  absl::StatusOr<std::map<std::string, std::vector<uint8_t>>> masks =
      RemovedChannelMasks(graph, *plan);
  ASSERT_THAT(masks, IsOk());
  std::vector<std::string> names;
  for (const auto& [name, mask] : *masks) names.push_back(name);
  EXPECT_THAT(names, ElementsAre("bn1.bias", "bn1.weight", "conv1.bias", "conv1.weight",
                                 "conv2.bias", "conv2.weight"));
  EXPECT_THAT(masks->at("bn1.weight"), ElementsAre(1, 0, 1, 0));
  EXPECT_THAT(masks->at("conv2.bias"), ElementsAre(1, 0, 1));
  int conv1_zeros = 0;
  for (uint8_t m : masks->at("conv1.weight")) conv1_zeros += m == 0;
  EXPECT_EQ(conv1_zeros, 2 * 18);

  TensorMap tensors = RandomTensors(rng);
  ASSERT_THAT(ZeroRemovedChannels(graph, *plan, tensors), IsOk());
  for (const auto& [name, mask] : *masks) {
    SCOPED_TRACE(name);
    const std::vector<float>& values = tensors.at(name).values;
    ASSERT_EQ(values.size(), mask.size());
    for (size_t i = 0; i < mask.size(); ++i) EXPECT_EQ(mask[i] == 0, values[i] == 0.0f) << i;
  }
}

// The thinned tensors are the kept slices; the graph has the new counts.
TEST(ThinningTest, ThinsTensorsAndGraphAttrs) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  const LayerGraph graph = SmallNet();
  absl::StatusOr<ThinningPlan> plan = PlanThinning(graph, kKept);
  ASSERT_THAT(plan, IsOk());
  const TensorMap original = RandomTensors(rng);
  TensorMap tensors = original;
  ASSERT_THAT(ThinTensors(graph, *plan, tensors), IsOk());
  EXPECT_THAT(tensors.at("conv1.weight").shape, ElementsAre(2, 2, 3, 3));
  EXPECT_THAT(tensors.at("conv1.bias").shape, ElementsAre(2));
  EXPECT_THAT(tensors.at("bn1.running_var").shape, ElementsAre(2));
  EXPECT_THAT(tensors.at("conv2.weight").shape, ElementsAre(2, 2, 3, 3));
  EXPECT_THAT(tensors.at("fc.weight").shape, ElementsAre(5, 18));
  EXPECT_THAT(tensors.at("fc.bias").shape, ElementsAre(5));
  // conv2.weight[1][1] is the original [2][2] (filter 2, input channel 2).
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(tensors.at("conv2.weight").values[(1 * 2 + 1) * 9 + i],
              original.at("conv2.weight").values[(2 * 4 + 2) * 9 + i]);
  }
  // fc row 4, kept feature 9 is the original feature 18.
  EXPECT_EQ(tensors.at("fc.weight").values[4 * 18 + 9],
            original.at("fc.weight").values[4 * 27 + 18]);
  EXPECT_EQ(tensors.at("bn1.running_mean").values[1], original.at("bn1.running_mean").values[2]);

  absl::StatusOr<LayerGraph> small = ThinGraph(graph, *plan);
  ASSERT_THAT(small, IsOk());
  const auto& conv2 = std::get<training::Conv2dAttrs>(small->layers()[4].attrs);
  EXPECT_EQ(conv2.in_channels, 2);
  EXPECT_EQ(conv2.out_channels, 2);
  EXPECT_EQ(std::get<training::LinearAttrs>(small->layers()[7].attrs).in_features, 18);
  // MACs: conv1 4*36*18 = 2592 -> 1296; conv2 3*9*36 = 972 -> 2*9*18 = 324;
  // fc 135 -> 90.
  EXPECT_THAT(training::CountMacs(graph), IsOkAndHolds(2592 + 972 + 135));
  EXPECT_THAT(training::CountMacs(*small), IsOkAndHolds(1296 + 324 + 90));
}

TEST(ThinningTest, KeepingEveryFilterChangesNothing) {
  absl::StatusOr<ThinningPlan> plan = PlanThinning(SmallNet(), {{"conv1", {0, 1, 2, 3}}});
  ASSERT_THAT(plan, IsOk());
  EXPECT_TRUE(plan->layers.empty());
}

// A residual block: conv1 feeds conv2 through bn/ReLU (thinnable); conv2's
// output meets the shortcut in an Add (refused); a depthwise conv after
// conv3 (refused); the last conv reaches the model output (refused).
LayerGraph ResidualNet() {
  LayerGraph graph({4, 4, 4});
  const training::Conv2dAttrs conv = {.in_channels = 4, .out_channels = 4, .kernel_size = 3,
                                      .padding = 1, .bias = false};
  std::string x = graph.Relu(graph.BatchNorm("b.bn1", graph.Conv2d("b.conv1", "input", conv),
                                             {.channels = 4}));
  x = graph.BatchNorm("b.bn2", graph.Conv2d("b.conv2", x, conv), {.channels = 4});
  x = graph.Relu(graph.Add(x, "input"));
  x = graph.Conv2d("conv3", x, conv);
  training::Conv2dAttrs depthwise = conv;
  depthwise.groups = 4;
  x = graph.Conv2d("dw", x, depthwise);
  graph.Conv2d("head", x, conv);
  return graph;
}

TEST(ThinningTest, RefusesResidualsGroupedConvsAndTheOutput) {
  const LayerGraph graph = ResidualNet();
  EXPECT_THAT(PlanThinning(graph, {{"b.conv1", {1, 3}}}), IsOk());
  EXPECT_THAT(PlanThinning(graph, {{"b.conv2", {1, 3}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("b.conv2"), HasSubstr("add 'add_5'"),
                             HasSubstr("residual"))));
  EXPECT_THAT(PlanThinning(graph, {{"conv3", {0}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       AllOf(HasSubstr("conv3"), HasSubstr("'dw'"), HasSubstr("groups 4"))));
  EXPECT_THAT(PlanThinning(graph, {{"dw", {0}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("grouped")));
  EXPECT_THAT(PlanThinning(graph, {{"head", {0}}}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("model output")));
}

TEST(ThinningTest, RejectsBadRequests) {
  const LayerGraph graph = SmallNet();
  EXPECT_THAT(PlanThinning(graph, {{"conv9", {0}}}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("conv9")));
  EXPECT_THAT(PlanThinning(graph, {{"fc", {0}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a convolution")));
  EXPECT_THAT(PlanThinning(graph, {{"conv1", {}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no filters")));
  EXPECT_THAT(PlanThinning(graph, {{"conv1", {2, 1}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ascending")));
  EXPECT_THAT(PlanThinning(graph, {{"conv1", {0, 4}}}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("cannot keep filter 4")));
}

TEST(ThinningTest, TensorsMustMatchTheGraphAndStayUnchangedOnError) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  const LayerGraph graph = SmallNet();
  absl::StatusOr<ThinningPlan> plan = PlanThinning(graph, kKept);
  ASSERT_THAT(plan, IsOk());
  TensorMap tensors = RandomTensors(rng);
  tensors.erase("bn1.running_var");
  const TensorMap before = tensors;
  EXPECT_THAT(ThinTensors(graph, *plan, tensors),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("bn1.running_var")));
  EXPECT_EQ(tensors.at("conv1.weight").values, before.at("conv1.weight").values);
  tensors = RandomTensors(rng);
  tensors["fc.weight"] = Random({5, 26}, rng, -1, 1);
  EXPECT_THAT(ThinTensors(graph, *plan, tensors),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("fc.weight"), HasSubstr("[5, 26]"), HasSubstr("[5, 27]"))));
  EXPECT_THAT(ThinGraph(ResidualNet(), *plan), StatusIs(absl::StatusCode::kInvalidArgument,
                                                        HasSubstr("not in this graph")));
}

}  // namespace
}  // namespace edgecompress::pruning
