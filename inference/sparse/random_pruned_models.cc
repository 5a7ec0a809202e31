#include "inference/sparse/random_pruned_models.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pruning/magnitude.h"
#include "tools/status/status_macros.h"
#include "training/onnx/onnx_export.h"

namespace edgecompress::inference::sparse {
namespace {

using training::Conv2dAttrs;
using training::LayerGraph;

// Howard et al. 2017, Table 1 (as training/models/mobilenet_v1.cc).
struct BlockConfig {
  int64_t channels, stride;
};
constexpr BlockConfig kMobileNetBlocks[] = {{64, 1},  {128, 2},  {128, 1}, {256, 2}, {256, 1},
                                            {512, 2}, {512, 1},  {512, 1}, {512, 1}, {512, 1},
                                            {512, 1}, {1024, 2}, {1024, 1}};
constexpr training::ClipAttrs kRelu6 = {.min = 0.0f, .max = 6.0f};

int64_t Width(int64_t channels, double multiplier) {
  return std::max<int64_t>(static_cast<int64_t>(std::floor(channels * multiplier)), 8);
}

}  // namespace

absl::StatusOr<LayerGraph> MobileNetV1Graph(const MobileNetV1GraphOptions& options) {
  if (options.input_size < 32 || options.num_classes < 1 ||
      !(options.width_multiplier > 0.0 && options.width_multiplier <= 4.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MobileNetV1Graph: input_size %d (>= 32), width_multiplier %g (in (0, 4]) or "
        "num_classes %d (>= 1) out of range",
        options.input_size, options.width_multiplier, options.num_classes));
  }
  LayerGraph graph({3, options.input_size, options.input_size});
  int64_t channels = Width(32, options.width_multiplier);
  std::string x = graph.Conv2d("conv1", LayerGraph::kInput,
                               {.in_channels = 3,
                                .out_channels = channels,
                                .kernel_size = 3,
                                .stride = 2,
                                .padding = 1,
                                .bias = false});
  x = graph.Clip(graph.BatchNorm("bn1", x, {.channels = channels}), kRelu6);
  for (size_t i = 0; i < std::size(kMobileNetBlocks); ++i) {
    const std::string prefix = absl::StrCat("blocks.", i);
    const int64_t out = Width(kMobileNetBlocks[i].channels, options.width_multiplier);
    x = graph.Conv2d(absl::StrCat(prefix, ".depthwise"), x,
                     {.in_channels = channels,
                      .out_channels = channels,
                      .kernel_size = 3,
                      .stride = kMobileNetBlocks[i].stride,
                      .padding = 1,
                      .groups = channels,
                      .bias = false});
    x = graph.Clip(
        graph.BatchNorm(absl::StrCat(prefix, ".depthwise_bn"), x, {.channels = channels}), kRelu6);
    x = graph.Conv2d(absl::StrCat(prefix, ".pointwise"), x,
                     {.in_channels = channels, .out_channels = out, .bias = false});
    x = graph.Clip(graph.BatchNorm(absl::StrCat(prefix, ".pointwise_bn"), x, {.channels = out}),
                   kRelu6);
    channels = out;
  }
  x = graph.Flatten(graph.GlobalAveragePool(x));
  graph.SetOutput(
      graph.Linear("fc", x, {.in_features = channels, .out_features = options.num_classes}));
  RETURN_IF_ERROR(training::InferShapes(graph).status());
  return graph;
}

absl::StatusOr<LayerGraph> ResNet20Graph(int64_t input_size, int64_t num_classes) {
  if (input_size < 8 || num_classes < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ResNet20Graph: input_size %d (>= 8) or num_classes %d (>= 1) out of range",
                        input_size, num_classes));
  }
  LayerGraph graph({3, input_size, input_size});
  auto conv = [](int64_t in, int64_t out, int64_t kernel, int64_t stride) {
    return Conv2dAttrs{.in_channels = in,
                       .out_channels = out,
                       .kernel_size = kernel,
                       .stride = stride,
                       .padding = kernel / 2,
                       .bias = false};
  };
  std::string x = graph.Conv2d("conv1", LayerGraph::kInput, conv(3, 16, 3, 1));
  x = graph.Relu(graph.BatchNorm("bn1", x, {.channels = 16}));
  int64_t channels = 16;
  const int64_t planes[] = {16, 32, 64};
  for (int stage = 0; stage < 3; ++stage) {
    for (int i = 0; i < 3; ++i) {
      const std::string prefix = absl::StrCat("layer", stage + 1, ".", i);
      const int64_t stride = stage > 0 && i == 0 ? 2 : 1;
      std::string y =
          graph.Conv2d(absl::StrCat(prefix, ".conv1"), x, conv(channels, planes[stage], 3, stride));
      y = graph.Relu(graph.BatchNorm(absl::StrCat(prefix, ".bn1"), y, {.channels = planes[stage]}));
      y = graph.Conv2d(absl::StrCat(prefix, ".conv2"), y, conv(planes[stage], planes[stage], 3, 1));
      y = graph.BatchNorm(absl::StrCat(prefix, ".bn2"), y, {.channels = planes[stage]});
      std::string shortcut = x;
      if (stride != 1 || channels != planes[stage]) {
        shortcut = graph.Conv2d(absl::StrCat(prefix, ".downsample.0"), x,
                                conv(channels, planes[stage], 1, stride));
        shortcut = graph.BatchNorm(absl::StrCat(prefix, ".downsample.1"), shortcut,
                                   {.channels = planes[stage]});
      }
      x = graph.Relu(graph.Add(y, shortcut));
      channels = planes[stage];
    }
  }
  x = graph.Flatten(graph.GlobalAveragePool(x));
  graph.SetOutput(graph.Linear("fc", x, {.in_features = channels, .out_features = num_classes}));
  RETURN_IF_ERROR(training::InferShapes(graph).status());
  return graph;
}

absl::StatusOr<onnx::ModelProto> RandomPrunedModel(const LayerGraph& graph,
                                                   const RandomPruneOptions& options) {
  if (!(options.sparsity >= 0.0 && options.sparsity <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "RandomPrunedModel: sparsity %g is outside [0, 1] (a fraction, not a percentage)",
        options.sparsity));
  }
  std::mt19937_64 rng(options.seed);
  std::map<std::string, std::vector<float>> tensors;
  training::ParameterLookup params;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    std::vector<float>& stored = tensors[name] = std::move(values);
    params[name] = {std::move(shape), stored};
  };
  auto uniform = [&](size_t n, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
  };
  auto he = [&](size_t n, int64_t fan_in, bool prune) -> absl::StatusOr<std::vector<float>> {
    std::normal_distribution<float> d(0.0f, std::sqrt(2.0f / static_cast<float>(fan_in)));
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    if (prune) {
      std::vector<uint8_t> mask(n);
      RETURN_IF_ERROR(pruning::MagnitudeMask(v, options.sparsity, absl::MakeSpan(mask)));
      for (size_t i = 0; i < n; ++i) v[i] *= mask[i];
    }
    return v;
  };
  bool first_conv = true;
  for (const training::Layer& layer : graph.layers()) {
    if (const auto* c = std::get_if<Conv2dAttrs>(&layer.attrs)) {
      const int64_t fan_in = c->in_channels / c->groups * c->kernel_size * c->kernel_size;
      const size_t n = static_cast<size_t>(c->out_channels * fan_in);
      const bool pointwise = c->kernel_size == 1 && c->groups == 1;
      const bool prune = pointwise || (options.prune_all_convs && !first_conv && c->groups == 1);
      first_conv = false;
      ASSIGN_OR_RETURN(std::vector<float> w, he(n, fan_in, prune));
      add(layer.name + ".weight",
          {c->out_channels, c->in_channels / c->groups, c->kernel_size, c->kernel_size},
          std::move(w));
      if (c->bias)
        add(layer.name + ".bias", {c->out_channels}, std::vector<float>(c->out_channels));
    } else if (const auto* l = std::get_if<training::LinearAttrs>(&layer.attrs)) {
      ASSIGN_OR_RETURN(std::vector<float> w,
                       he(static_cast<size_t>(l->in_features * l->out_features), l->in_features,
                          /*prune=*/true));
      add(layer.name + ".weight", {l->out_features, l->in_features}, std::move(w));
      if (l->bias)
        add(layer.name + ".bias", {l->out_features}, std::vector<float>(l->out_features));
    } else if (const auto* b = std::get_if<training::BatchNormAttrs>(&layer.attrs)) {
      const size_t c = static_cast<size_t>(b->channels);
      add(layer.name + ".weight", {b->channels}, uniform(c, 0.5f, 1.5f));
      add(layer.name + ".bias", {b->channels}, uniform(c, -0.1f, 0.1f));
      add(layer.name + ".running_mean", {b->channels}, uniform(c, -0.1f, 0.1f));
      add(layer.name + ".running_var", {b->channels}, uniform(c, 0.5f, 1.5f));
    }
  }
  return training::ExportOnnx(graph, params);
}

}  // namespace edgecompress::inference::sparse
