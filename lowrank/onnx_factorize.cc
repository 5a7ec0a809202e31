#include "lowrank/onnx_factorize.h"

#include <cmath>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "lowrank/factorization.h"
#include "onnx/onnx_pb.h"
#include "tools/status/status_macros.h"
#include "training/onnx/float_tensor.h"
#include "training/onnx/node_attributes.h"

namespace edgecompress::lowrank {
namespace {

// Replaces graph.node(index) by `first`, `second`, keeping topological order.
void SplitNode(onnx::GraphProto& graph, int index, onnx::NodeProto first,
               onnx::NodeProto second) {
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (i != index) {
      *nodes.Add() = graph.node(i);
      continue;
    }
    *nodes.Add() = std::move(first);
    *nodes.Add() = std::move(second);
  }
  graph.mutable_node()->Swap(&nodes);
}

// An INTS attribute of two or four values, or `fallback` when absent.
std::vector<int64_t> Ints(const onnx::NodeProto& node, absl::string_view name,
                          std::vector<int64_t> fallback) {
  std::optional<std::vector<int64_t>> values = training::IntsAttribute(node, name);
  return values.has_value() && values->size() == fallback.size() ? *std::move(values) : fallback;
}

onnx::AttributeProto IntsAttribute(const std::string& name, std::vector<int64_t> values) {
  onnx::AttributeProto attribute;
  attribute.set_name(name);
  attribute.set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) attribute.add_ints(v);
  return attribute;
}

// The spatial split of the Conv graph.node(node_index), whose weight is
// graph.initializer(initializer_index) with `dims` [O, C, kh, kw] and whose
// spatial matrix has `factors`.
void SplitSpatially(onnx::GraphProto& graph, int node_index, int initializer_index,
                    const std::string& layer, const std::vector<int64_t>& dims,
                    const LowRankFactors& factors, const std::string& middle) {
  const onnx::NodeProto node = graph.node(node_index);
  const int64_t out = dims[0], in = dims[1], kh = dims[2], kw = dims[3], r = factors.rank;
  std::vector<float> vertical(r * in * kh), horizontal(out * r * kw);
  for (int64_t k = 0; k < r; ++k) {
    for (int64_t c = 0; c < in; ++c) {
      for (int64_t y = 0; y < kh; ++y) {
        vertical[(k * in + c) * kh + y] = factors.left[(c * kh + y) * r + k];
      }
    }
  }
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t k = 0; k < r; ++k) {
      for (int64_t x = 0; x < kw; ++x) {
        horizontal[(o * r + k) * kw + x] = factors.right[k * factors.cols + o * kw + x];
      }
    }
  }
  const std::string vertical_name = layer + ".weight_vertical";
  const std::string horizontal_name = layer + ".weight_horizontal";
  training::SetFloatTensor(*graph.mutable_initializer(initializer_index), vertical_name,
                           {r, in, kh, 1}, vertical);
  training::SetFloatTensor(*graph.add_initializer(), horizontal_name, {out, r, 1, kw}, horizontal);
  const std::vector<int64_t> strides = Ints(node, "strides", {1, 1});
  const std::vector<int64_t> dilations = Ints(node, "dilations", {1, 1});
  const std::vector<int64_t> pads = Ints(node, "pads", {0, 0, 0, 0});  // begin h, w; end h, w

  onnx::NodeProto first;  // down the height: kh x 1, C -> r
  first.set_op_type("Conv");
  first.set_name(node.name() + "/vertical");
  first.add_input(node.input(0));
  first.add_input(vertical_name);
  first.add_output(middle);
  *first.add_attribute() = IntsAttribute("kernel_shape", {kh, 1});
  *first.add_attribute() = IntsAttribute("strides", {strides[0], 1});
  *first.add_attribute() = IntsAttribute("pads", {pads[0], 0, pads[2], 0});
  *first.add_attribute() = IntsAttribute("dilations", {dilations[0], 1});
  onnx::NodeProto second;  // along the width: 1 x kw, r -> O, and the bias
  second.set_op_type("Conv");
  second.set_name(node.name() + "/horizontal");
  second.add_input(middle);
  second.add_input(horizontal_name);
  if (node.input_size() >= 3) second.add_input(node.input(2));
  for (const std::string& output : node.output()) second.add_output(output);
  *second.add_attribute() = IntsAttribute("kernel_shape", {1, kw});
  *second.add_attribute() = IntsAttribute("strides", {1, strides[1]});
  *second.add_attribute() = IntsAttribute("pads", {0, pads[1], 0, pads[3]});
  *second.add_attribute() = IntsAttribute("dilations", {1, dilations[1]});
  SplitNode(graph, node_index, std::move(first), std::move(second));
}

absl::StatusOr<FactorizedLayer> FactorizeLayer(onnx::ModelProto& model, const std::string& layer,
                                               const LayerRank& layer_rank) {
  const int rank = layer_rank.rank;
  onnx::GraphProto& graph = *model.mutable_graph();
  const std::string weight_name = layer + ".weight";
  int initializer_index = -1;
  for (int i = 0; i < graph.initializer_size(); ++i) {
    if (graph.initializer(i).name() == weight_name) initializer_index = i;
  }
  int node_index = -1;
  int readers = 0;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (const std::string& input : node.input()) readers += input == weight_name;
    if ((node.op_type() == "Gemm" || node.op_type() == "Conv") && node.input_size() >= 2 &&
        node.input(1) == weight_name) {
      node_index = i;
    }
  }
  if (initializer_index < 0 || node_index < 0) {
    return absl::NotFoundError(absl::StrCat("layer '", layer, "': no initializer '", weight_name,
                                            "' read by a Gemm or Conv"));
  }
  if (readers != 1) {
    // Replacing a shared weight would leave its other readers without it.
    return absl::UnimplementedError(absl::StrCat("layer '", layer, "': '", weight_name,
                                                 "' is read by ", readers, " inputs, not one"));
  }
  const onnx::NodeProto node = graph.node(node_index);
  const onnx::TensorProto& weight = graph.initializer(initializer_index);
  const bool gemm = node.op_type() == "Gemm";
  if (gemm && (weight.dims_size() != 2 || training::IntAttribute(node, "transB", 0) != 1)) {
    return absl::UnimplementedError(
        absl::StrCat("layer '", layer, "': only a Gemm with transB = 1 and a 2-D weight"));
  }
  if (!gemm && (weight.dims_size() != 4 || training::IntAttribute(node, "group", 1) != 1)) {
    return absl::UnimplementedError(
        absl::StrCat("layer '", layer, "': only a Conv with group 1 and a 4-D weight"));
  }
  ASSIGN_OR_RETURN(std::vector<float> w,
                   training::FloatTensorValues(
                       weight, absl::StrCat("layer '", layer, "': initializer '", weight_name, "'")));
  const std::vector<int64_t> dims(weight.dims().begin(), weight.dims().end());
  const bool spatial = layer_rank.spatial;
  if (spatial && gemm) {
    return absl::UnimplementedError(
        absl::StrCat("layer '", layer, "': a spatial split is for a Conv, not a Gemm"));
  }
  if (spatial) {
    const onnx::AttributeProto* auto_pad = training::FindAttribute(node, "auto_pad");
    if (auto_pad != nullptr && auto_pad->s() != "NOTSET") {
      return absl::UnimplementedError(absl::StrCat(
          "layer '", layer, "': a spatial split needs explicit pads, not auto_pad ", auto_pad->s()));
    }
    w = SpatialMatrix(w, static_cast<int>(dims[0]), static_cast<int>(dims[1]),
                      static_cast<int>(dims[2]), static_cast<int>(dims[3]));
  }
  const int rows = static_cast<int>(spatial ? dims[1] * dims[2] : dims[0]);
  const int cols = static_cast<int>(w.size() / rows);
  absl::StatusOr<LowRankFactors> factors = Factorize(w, rows, cols, rank);
  if (!factors.ok()) {
    return absl::Status(factors.status().code(),
                        absl::StrCat("layer '", layer, "': ", factors.status().message()));
  }

  FactorizedLayer result;
  result.layer = layer;
  result.op_type = node.op_type();
  result.rows = rows;
  result.cols = cols;
  result.rank = rank;
  result.weights_before = static_cast<int64_t>(rows) * cols;
  result.weights_after = FactorizedParameters(rows, cols, rank);
  double error = 0.0, norm = 0.0;
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      double product = 0.0;
      for (int k = 0; k < rank; ++k) {
        product += double{factors->left[i * rank + k]} * factors->right[k * cols + j];
      }
      const double x = w[static_cast<size_t>(i) * cols + j];
      error += (x - product) * (x - product);
      norm += x * x;
    }
  }
  result.relative_error = norm > 0 ? std::sqrt(error / norm) : 0.0;

  const std::string middle = layer + ".low_rank";
  if (spatial) {
    SplitSpatially(graph, node_index, initializer_index, layer, dims, *factors, middle);
    return result;
  }
  const std::string right_name = layer + ".weight_right";
  const std::string left_name = layer + ".weight_left";
  std::vector<int64_t> right_dims = {rank, cols};
  std::vector<int64_t> left_dims = {rows, rank};
  if (!gemm) {
    right_dims = {rank, dims[1], dims[2], dims[3]};
    left_dims = {rows, rank, 1, 1};
  }
  training::SetFloatTensor(*graph.mutable_initializer(initializer_index), right_name, right_dims,
                           factors->right);
  training::SetFloatTensor(*graph.add_initializer(), left_name, left_dims, factors->left);

  // First: the input through R, no bias; every attribute but alpha/beta (Gemm)
  // keeps its meaning there (transA, strides, pads, dilations, kernel_shape).
  onnx::NodeProto first;
  first.set_op_type(node.op_type());
  first.set_name(node.name() + "/right");
  first.add_input(node.input(0));
  first.add_input(right_name);
  first.add_output(middle);
  for (const onnx::AttributeProto& attribute : node.attribute()) {
    if (attribute.name() != "alpha" && attribute.name() != "beta") *first.add_attribute() = attribute;
  }
  if (!gemm) {
    for (onnx::AttributeProto& attribute : *first.mutable_attribute()) {
      if (attribute.name() == "kernel_shape") {
        attribute.clear_ints();
        attribute.add_ints(dims[2]);
        attribute.add_ints(dims[3]);
      }
    }
  }
  // Second: L and the bias, to the original output.
  onnx::NodeProto second;
  second.set_op_type(node.op_type());
  second.set_name(node.name() + "/left");
  second.add_input(middle);
  second.add_input(left_name);
  if (node.input_size() >= 3) second.add_input(node.input(2));
  for (const std::string& output : node.output()) second.add_output(output);
  if (gemm) {
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.name() == "alpha" || attribute.name() == "beta" ||
          attribute.name() == "transB") {
        *second.add_attribute() = attribute;
      }
    }
  } else {
    onnx::AttributeProto* kernel = second.add_attribute();
    kernel->set_name("kernel_shape");
    kernel->set_type(onnx::AttributeProto::INTS);
    kernel->add_ints(1);
    kernel->add_ints(1);
  }
  SplitNode(graph, node_index, std::move(first), std::move(second));
  return result;
}

}  // namespace

absl::StatusOr<std::vector<FactorizedLayer>> FactorizeOnnxLayers(
    onnx::ModelProto& model, const std::map<std::string, LayerRank>& ranks) {
  // On a copy: an error in the third layer must not leave two factorised.
  onnx::ModelProto factorized = model;
  std::vector<FactorizedLayer> layers;
  for (const auto& [layer, rank] : ranks) {
    ASSIGN_OR_RETURN(FactorizedLayer result, FactorizeLayer(factorized, layer, rank));
    layers.push_back(std::move(result));
  }
  model = std::move(factorized);
  return layers;
}

}  // namespace edgecompress::lowrank
