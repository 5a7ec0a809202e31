// The thesis's memory reductions of QuantNet's mixed precision (seeds/004,
// Table 4.6), from the model definition: parameter counts come from
// QuantNetGraph's layers, the ratio from intrinsic_dim::MemoryReduction, and
// the precisions from AllocateBits where the thesis's rule chose them.
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "intrinsic_dim/bit_allocation.h"
#include "tools/status/status_matchers.h"
#include "training/models/layer_graph.h"
#include "training/models/quantnet_graph.h"

namespace edgecompress {
namespace {

using training::Conv2dAttrs;
using training::Layer;
using training::LinearAttrs;

// Weights and biases of each conv and linear layer, in order.
std::vector<std::pair<std::string, int64_t>> LayerParameters(const training::LayerGraph& graph) {
  std::vector<std::pair<std::string, int64_t>> layers;
  for (const Layer& layer : graph.layers()) {
    if (const auto* conv = std::get_if<Conv2dAttrs>(&layer.attrs)) {
      layers.emplace_back(layer.name, conv->out_channels * conv->in_channels / conv->groups *
                                              conv->kernel_size * conv->kernel_size +
                                          (conv->bias ? conv->out_channels : 0));
    } else if (const auto* linear = std::get_if<LinearAttrs>(&layer.attrs)) {
      layers.emplace_back(layer.name, linear->in_features * linear->out_features +
                                          (linear->bias ? linear->out_features : 0));
    }
  }
  return layers;
}

double Reduction(const std::map<std::string, int>& bits) {
  std::vector<intrinsic_dim::LayerSize> sizes;
  for (const auto& [name, parameters] : LayerParameters(training::QuantNetGraph())) {
    sizes.push_back({parameters, bits.at(name)});
  }
  absl::StatusOr<double> reduction = intrinsic_dim::MemoryReduction(sizes);
  EXPECT_THAT(reduction, IsOk());
  return reduction.value_or(0.0);
}

// Table 4.1: 896, 18,496, 524,416 (printed 534,416, a typo; see
// quantnet.h), 2,064, 17; 545,889 in all.
TEST(QuantNetMemoryReductionTest, ParameterCountsAreTable41) {
  const auto layers = LayerParameters(training::QuantNetGraph());
  ASSERT_EQ(layers.size(), 5u);
  int64_t total = 0;
  for (const auto& [name, parameters] : layers) total += parameters;
  EXPECT_EQ(layers[0].second, 896);
  EXPECT_EQ(layers[1].second, 18496);
  EXPECT_EQ(layers[2].second, 524416);
  EXPECT_EQ(layers[3].second, 2064);
  EXPECT_EQ(layers[4].second, 17);
  EXPECT_EQ(total, 545889);
}

// Table 4.6, rows "full binary binary binary" (30.42x) and "full binary 2-bit
// 2-bit" (15.87x); linear3 stays fp32 in both, as the thesis keeps the first
// and last layer in full precision. By hand:
//   32 * 545,889 / (32 * 913 + 544,976) = 30.4226
//   32 * 545,889 / (32 * 913 + 18,496 + 2 * 526,480) = 15.8707
TEST(QuantNetMemoryReductionTest, ThesisTable46) {
  EXPECT_NEAR(Reduction({{"conv1", 32}, {"conv2", 1}, {"linear1", 1}, {"linear2", 1},
                         {"linear3", 32}}),
              30.42, 0.005);
  EXPECT_NEAR(Reduction({{"conv1", 32}, {"conv2", 1}, {"linear1", 2}, {"linear2", 2},
                         {"linear3", 32}}),
              15.87, 0.005);
  // Row "full full binary full": 14.4x.
  EXPECT_NEAR(Reduction({{"conv1", 32}, {"conv2", 32}, {"linear1", 1}, {"linear2", 32},
                         {"linear3", 32}}),
              14.4, 0.05);
}

// The 15.87x precisions are what the significance rule gives when conv2
// changes the ID by at most delta and linear1, linear2 by more (the thesis's
// Fig. 4.4 finding: conv2 least, linear1 most significant). The IDs here are
// illustrative, not the thesis's measurements.
TEST(QuantNetMemoryReductionTest, SignificanceRuleGivesTheMixedRow) {
  absl::StatusOr<std::vector<intrinsic_dim::LayerPrecision>> layers =
      intrinsic_dim::AllocateBits({40, 45, 70, 30, 2});
  ASSERT_THAT(layers, IsOk());
  const char* names[] = {"conv1", "conv2", "linear1", "linear2", "linear3"};
  std::map<std::string, int> bits;
  for (int l = 0; l < 5; ++l) bits[names[l]] = (*layers)[l].bits;
  EXPECT_EQ(bits, (std::map<std::string, int>{
                      {"conv1", 32}, {"conv2", 1}, {"linear1", 2}, {"linear2", 2}, {"linear3", 32}}));
  EXPECT_NEAR(Reduction(bits), 15.87, 0.005);
}

}  // namespace
}  // namespace edgecompress
