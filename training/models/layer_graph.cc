#include "training/models/layer_graph.h"

#include <map>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/status/status_macros.h"

namespace edgecompress::training {
namespace {

std::string ShapeString(const Shape& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status LayerError(const Layer& layer, int index, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "layer %d (%s%s%s): %s", index, LayerOpName(layer.op), layer.name.empty() ? "" : " ",
      layer.name, what));
}

// Output extent of a square window along one axis, or -1 if the window does
// not fit the padded input.
int64_t WindowOutput(int64_t input, int64_t kernel, int64_t stride, int64_t padding,
                     int64_t dilation) {
  const int64_t effective = dilation * (kernel - 1) + 1;
  const int64_t padded = input + 2 * padding;
  if (kernel < 1 || stride < 1 || padding < 0 || dilation < 1 || padded < effective) return -1;
  return (padded - effective) / stride + 1;
}

absl::StatusOr<Shape> LayerOutputShape(const Layer& layer, int index,
                                       const std::vector<Shape>& inputs) {
  const Shape& x = inputs[0];
  const auto spatial = [&](int64_t kernel, int64_t stride, int64_t padding, int64_t dilation,
                           int64_t channels) -> absl::StatusOr<Shape> {
    if (x.size() != 3) {
      return LayerError(layer, index, absl::StrCat("needs a [C, H, W] input, got ", ShapeString(x)));
    }
    const int64_t h = WindowOutput(x[1], kernel, stride, padding, dilation);
    const int64_t w = WindowOutput(x[2], kernel, stride, padding, dilation);
    if (h < 1 || w < 1) {
      return LayerError(layer, index,
                        absl::StrFormat("window %d (stride %d, padding %d) does not fit input %s",
                                        kernel, stride, padding, ShapeString(x)));
    }
    return Shape{channels, h, w};
  };
  switch (layer.op) {
    case LayerOp::kConv2d: {
      const auto& a = std::get<Conv2dAttrs>(layer.attrs);
      if (x.size() == 3 && x[0] != a.in_channels) {
        return LayerError(layer, index, absl::StrFormat("expects %d input channels, got %s",
                                                        a.in_channels, ShapeString(x)));
      }
      if (a.groups < 1 || a.in_channels % a.groups != 0 || a.out_channels % a.groups != 0) {
        return LayerError(layer, index, absl::StrFormat("groups %d must divide %d and %d",
                                                        a.groups, a.in_channels, a.out_channels));
      }
      return spatial(a.kernel_size, a.stride, a.padding, a.dilation, a.out_channels);
    }
    case LayerOp::kBatchNorm: {
      const auto& a = std::get<BatchNormAttrs>(layer.attrs);
      if (x.empty() || x[0] != a.channels) {
        return LayerError(layer, index, absl::StrFormat("expects %d channels, got %s", a.channels,
                                                        ShapeString(x)));
      }
      return x;
    }
    case LayerOp::kLinear: {
      const auto& a = std::get<LinearAttrs>(layer.attrs);
      if (x.size() != 1 || x[0] != a.in_features) {
        return LayerError(layer, index, absl::StrFormat("expects [%d] features, got %s",
                                                        a.in_features, ShapeString(x)));
      }
      return Shape{a.out_features};
    }
    case LayerOp::kRelu:
    case LayerOp::kClip:
      return x;
    case LayerOp::kMaxPool:
    case LayerOp::kAveragePool: {
      const auto& a = std::get<PoolAttrs>(layer.attrs);
      return spatial(a.kernel_size, a.stride, a.padding, 1, x.empty() ? 0 : x[0]);
    }
    case LayerOp::kGlobalAveragePool:
      if (x.size() != 3) {
        return LayerError(layer, index, absl::StrCat("needs a [C, H, W] input, got ", ShapeString(x)));
      }
      return Shape{x[0], 1, 1};
    case LayerOp::kFlatten: {
      int64_t features = 1;
      for (int64_t d : x) features *= d;
      return Shape{features};
    }
    case LayerOp::kAdd:
      if (inputs[1] != x) {
        return LayerError(layer, index, absl::StrFormat("adds %s to %s", ShapeString(x),
                                                        ShapeString(inputs[1])));
      }
      return x;
  }
  return LayerError(layer, index, "unknown op");
}

}  // namespace

absl::string_view LayerOpName(LayerOp op) {
  switch (op) {
    case LayerOp::kConv2d: return "conv2d";
    case LayerOp::kBatchNorm: return "batch_norm";
    case LayerOp::kLinear: return "linear";
    case LayerOp::kRelu: return "relu";
    case LayerOp::kClip: return "clip";
    case LayerOp::kMaxPool: return "max_pool";
    case LayerOp::kAveragePool: return "average_pool";
    case LayerOp::kGlobalAveragePool: return "global_average_pool";
    case LayerOp::kFlatten: return "flatten";
    case LayerOp::kAdd: return "add";
  }
  return "unknown";
}

LayerGraph::LayerGraph(Shape input_shape) : input_shape_(std::move(input_shape)) {}

std::string LayerGraph::Append(LayerOp op, absl::string_view name, std::vector<std::string> inputs,
                               decltype(Layer::attrs) attrs) {
  std::string output =
      name.empty() ? absl::StrCat(LayerOpName(op), "_", layers_.size()) : std::string(name);
  layers_.push_back({op, std::string(name), std::move(inputs), output, std::move(attrs)});
  output_ = output;  // the last layer is the output unless SetOutput says otherwise
  return output;
}

std::string LayerGraph::Conv2d(absl::string_view name, absl::string_view input,
                               const Conv2dAttrs& attrs) {
  return Append(LayerOp::kConv2d, name, {std::string(input)}, attrs);
}
std::string LayerGraph::BatchNorm(absl::string_view name, absl::string_view input,
                                  const BatchNormAttrs& attrs) {
  return Append(LayerOp::kBatchNorm, name, {std::string(input)}, attrs);
}
std::string LayerGraph::Linear(absl::string_view name, absl::string_view input,
                               const LinearAttrs& attrs) {
  return Append(LayerOp::kLinear, name, {std::string(input)}, attrs);
}
std::string LayerGraph::Relu(absl::string_view input) {
  return Append(LayerOp::kRelu, "", {std::string(input)}, std::monostate());
}
std::string LayerGraph::Clip(absl::string_view input, const ClipAttrs& attrs) {
  return Append(LayerOp::kClip, "", {std::string(input)}, attrs);
}
std::string LayerGraph::MaxPool(absl::string_view input, const PoolAttrs& attrs) {
  return Append(LayerOp::kMaxPool, "", {std::string(input)}, attrs);
}
std::string LayerGraph::AveragePool(absl::string_view input, const PoolAttrs& attrs) {
  return Append(LayerOp::kAveragePool, "", {std::string(input)}, attrs);
}
std::string LayerGraph::GlobalAveragePool(absl::string_view input) {
  return Append(LayerOp::kGlobalAveragePool, "", {std::string(input)}, std::monostate());
}
std::string LayerGraph::Flatten(absl::string_view input) {
  return Append(LayerOp::kFlatten, "", {std::string(input)}, std::monostate());
}
std::string LayerGraph::Add(absl::string_view a, absl::string_view b) {
  return Append(LayerOp::kAdd, "", {std::string(a), std::string(b)}, std::monostate());
}

std::vector<int> LayerGraph::Consumers(absl::string_view value) const {
  std::vector<int> consumers;
  for (int i = 0; i < static_cast<int>(layers_.size()); ++i) {
    for (const std::string& input : layers_[i].inputs) {
      if (input == value) {
        consumers.push_back(i);
        break;
      }
    }
  }
  return consumers;
}

absl::StatusOr<std::vector<Shape>> InferShapes(const LayerGraph& graph) {
  std::map<std::string, Shape, std::less<>> shapes = {{std::string(LayerGraph::kInput),
                                                       graph.input_shape()}};
  std::vector<Shape> ordered = {graph.input_shape()};
  const std::vector<Layer>& layers = graph.layers();
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    const Layer& layer = layers[i];
    const size_t arity = layer.op == LayerOp::kAdd ? 2 : 1;
    if (layer.inputs.size() != arity) {
      return LayerError(layer, i, absl::StrFormat("takes %d inputs, has %d", arity,
                                                  layer.inputs.size()));
    }
    std::vector<Shape> inputs;
    for (const std::string& input : layer.inputs) {
      const auto it = shapes.find(input);
      if (it == shapes.end()) {
        return LayerError(layer, i, absl::StrCat("reads '", input, "', which no earlier layer makes"));
      }
      inputs.push_back(it->second);
    }
    ASSIGN_OR_RETURN(Shape shape, LayerOutputShape(layer, i, inputs));
    if (!shapes.emplace(layer.output, shape).second) {
      return LayerError(layer, i, absl::StrCat("output '", layer.output, "' is already defined"));
    }
    ordered.push_back(std::move(shape));
  }
  if (graph.output().empty() || shapes.find(graph.output()) == shapes.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("graph output '", graph.output(), "' is not a value of the graph"));
  }
  for (const std::string& side : graph.side_outputs()) {
    if (shapes.find(side) == shapes.end() || side == graph.output()) {
      return absl::InvalidArgumentError(
          absl::StrCat("side output '", side, "' is not a value of the graph besides its output"));
    }
  }
  return ordered;
}

absl::StatusOr<std::vector<LayerMacs>> MacsPerLayer(const LayerGraph& graph) {
  ASSIGN_OR_RETURN(const std::vector<Shape> shapes, InferShapes(graph));
  std::vector<LayerMacs> result;
  const std::vector<Layer>& layers = graph.layers();
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    const Layer& layer = layers[i];
    const Shape& out = shapes[i + 1];
    if (layer.op == LayerOp::kConv2d) {
      const auto& a = std::get<Conv2dAttrs>(layer.attrs);
      const int64_t weights = a.out_channels * (a.in_channels / a.groups) * a.kernel_size * a.kernel_size;
      result.push_back({i, layer.name, weights * out[1] * out[2], weights});
    } else if (layer.op == LayerOp::kLinear) {
      const auto& a = std::get<LinearAttrs>(layer.attrs);
      const int64_t weights = a.in_features * a.out_features;
      result.push_back({i, layer.name, weights, weights});
    }
  }
  return result;
}

absl::StatusOr<int64_t> CountMacs(const LayerGraph& graph) {
  ASSIGN_OR_RETURN(const std::vector<LayerMacs> per_layer, MacsPerLayer(graph));
  int64_t total = 0;
  for (const LayerMacs& layer : per_layer) total += layer.macs;
  return total;
}

}  // namespace edgecompress::training
