#include "partition/tile_models.h"

#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "training/onnx/node_attributes.h"

namespace edgecompress::partition {
namespace {

bool IsPointwise(const std::string& op) {
  return op == "Relu" || op == "Clip" || op == "LeakyRelu" || op == "Sigmoid" ||
         op == "HardSigmoid" || op == "HardSwish" || op == "BatchNormalization";
}

std::string NodeName(const onnx::NodeProto& node) {
  return absl::StrCat("node '", node.name().empty() ? node.output(0) : node.name(), "' (",
                      node.op_type(), ")");
}

// The node's window along both axes, with the sizes filled in from `in`.
absl::StatusOr<SpatialLayer> Window(const onnx::NodeProto& node, std::array<int64_t, 2> in,
                                    std::optional<std::array<int64_t, 2>> weight_kernel) {
  SpatialLayer layer;
  layer.input_size = in;
  const std::optional<std::vector<int64_t>> kernel = training::IntsAttribute(node, "kernel_shape");
  if (kernel.has_value() && kernel->size() == 2) {
    layer.kernel = {(*kernel)[0], (*kernel)[1]};
  } else if (weight_kernel.has_value()) {
    layer.kernel = *weight_kernel;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(NodeName(node), ": no 2D kernel_shape"));
  }
  for (const auto& [name, target] :
       {std::pair<const char*, std::array<int64_t, 2>*>{"strides", &layer.stride},
        {"dilations", &layer.dilation}}) {
    if (const auto values = training::IntsAttribute(node, name); values.has_value()) {
      if (values->size() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(NodeName(node), ": ", name, " is not 2D"));
      }
      *target = {(*values)[0], (*values)[1]};
    }
  }
  if (const onnx::AttributeProto* a = training::FindAttribute(node, "auto_pad");
      a != nullptr && a->s() != "NOTSET" && a->s() != "VALID") {
    return absl::UnimplementedError(
        absl::StrCat(NodeName(node), ": auto_pad ", a->s(), " (give explicit pads)"));
  }
  if (const auto pads = training::IntsAttribute(node, "pads"); pads.has_value()) {
    if (pads->size() != 4) {
      return absl::InvalidArgumentError(absl::StrCat(NodeName(node), ": pads is not 2D"));
    }
    layer.pad_begin = {(*pads)[0], (*pads)[1]};
    layer.pad_end = {(*pads)[2], (*pads)[3]};
  }
  const bool ceil_mode = training::IntAttribute(node, "ceil_mode", 0) != 0;
  for (int axis = 0; axis < 2; ++axis) {
    const int64_t reach = layer.dilation[axis] * (layer.kernel[axis] - 1) + 1;
    const int64_t span = in[axis] + layer.pad_begin[axis] + layer.pad_end[axis] - reach;
    if (span < 0 || layer.stride[axis] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(NodeName(node), ": the window does not fit the ", in[0], "x", in[1], " input"));
    }
    int64_t out = span / layer.stride[axis] + 1;
    // ceil_mode adds a last window when it starts inside the input or its
    // begin padding (PyTorch's rule).
    if (ceil_mode && span % layer.stride[axis] != 0 &&
        out * layer.stride[axis] < in[axis] + layer.pad_begin[axis]) {
      ++out;
    }
    layer.output_size[axis] = out;
  }
  return layer;
}

void SetInts(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  for (onnx::AttributeProto& a : *node.mutable_attribute()) {
    if (a.name() == name) {
      a.clear_ints();
      for (int64_t v : values) a.add_ints(v);
      return;
    }
  }
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}

void RemoveAttribute(onnx::NodeProto& node, const std::string& name) {
  auto* attributes = node.mutable_attribute();
  for (int i = attributes->size(); i-- > 0;) {
    if (attributes->Get(i).name() == name) attributes->DeleteSubrange(i, 1);
  }
}

void SetValueInfo(onnx::ValueInfoProto& info, const std::string& name,
                  const std::array<int64_t, 4>& shape) {
  info.Clear();
  info.set_name(name);
  onnx::TypeProto_Tensor& tensor = *info.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(onnx::TensorProto::FLOAT);
  for (int64_t d : shape) tensor.mutable_shape()->add_dim()->set_dim_value(d);
}

// A model of `nodes` (graph indices, in order) with the initializers and
// Constant nodes they read, and the given input and outputs.
onnx::ModelProto Submodel(const onnx::ModelProto& model, const std::vector<int>& nodes) {
  onnx::ModelProto sub = model;
  onnx::GraphProto& graph = *sub.mutable_graph();
  graph.clear_node();
  graph.clear_initializer();
  graph.clear_input();
  graph.clear_output();
  graph.clear_value_info();
  std::set<std::string> read;
  for (int i : nodes) {
    for (const std::string& input : model.graph().node(i).input()) read.insert(input);
  }
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.op_type() == "Constant" && read.count(node.output(0))) *graph.add_node() = node;
  }
  for (int i : nodes) *graph.add_node() = model.graph().node(i);
  for (const onnx::TensorProto& tensor : model.graph().initializer()) {
    if (read.count(tensor.name())) *graph.add_initializer() = tensor;
  }
  return sub;
}

}  // namespace

absl::StatusOr<FusedPrefix> FindFusedPrefix(const onnx::ModelProto& model, int fused_layers,
                                            int64_t batch) {
  if (fused_layers < 1) return absl::InvalidArgumentError("fuse at least one layer");
  if (batch < 1) return absl::InvalidArgumentError("batch must be at least 1");
  const onnx::GraphProto& graph = model.graph();
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const onnx::TensorProto& tensor : graph.initializer()) initializers[tensor.name()] = &tensor;
  std::set<std::string> constants;
  std::map<std::string, std::vector<int>> readers;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() == "Constant") {
      constants.insert(node.output(0));
      continue;
    }
    for (const std::string& input : node.input()) {
      if (!input.empty()) readers[input].push_back(i);
    }
  }
  FusedPrefix prefix;
  prefix.model = model;
  for (const onnx::ValueInfoProto& input : graph.input()) {
    if (initializers.count(input.name())) continue;
    const auto& dims = input.type().tensor_type().shape().dim();
    if (input.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT || dims.size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "' is not a float NCHW tensor"));
    }
    prefix.input_name = input.name();
    prefix.input_shape[0] = batch;
    for (int d = 1; d < 4; ++d) {
      if (!dims[d].has_dim_value() || dims[d].dim_value() < 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("input '", input.name(), "' dimension ", d, " is not a number"));
      }
      prefix.input_shape[d] = dims[d].dim_value();
    }
    break;
  }
  if (prefix.input_name.empty()) return absl::InvalidArgumentError("the model has no input");

  std::string value = prefix.input_name;
  std::array<int64_t, 4> shape = prefix.input_shape;
  while (true) {
    const std::vector<int>& next = readers[value];
    const bool done = static_cast<int>(prefix.layers.size()) == fused_layers;
    if (next.size() != 1) {
      if (done) break;
      return absl::UnimplementedError(absl::StrCat(
          "value '", value, "' is read by ", next.size(),
          " nodes: the fused layers must form a chain (", prefix.layers.size(), " of ",
          fused_layers, " spatial layers found)"));
    }
    const onnx::NodeProto& node = graph.node(next.front());
    const std::string& op = node.op_type();
    if (done && !IsPointwise(op)) break;
    if (node.input(0) != value || node.output_size() < 1) {
      return absl::UnimplementedError(
          absl::StrCat(NodeName(node), ": its first input is not '", value, "'"));
    }
    for (int i = 1; i < node.input_size(); ++i) {
      if (!node.input(i).empty() && !initializers.count(node.input(i)) &&
          !constants.count(node.input(i))) {
        return absl::UnimplementedError(absl::StrCat(
            NodeName(node), ": operand '", node.input(i), "' is not a constant"));
      }
    }
    if (op == "Conv" || op == "MaxPool") {
      std::optional<std::array<int64_t, 2>> weight_kernel;
      int64_t channels = shape[1];
      if (op == "Conv") {
        const auto weight = initializers.find(node.input_size() > 1 ? node.input(1) : "");
        if (weight == initializers.end() || weight->second->dims_size() != 4) {
          return absl::UnimplementedError(
              absl::StrCat(NodeName(node), ": the weight is not a 4D initializer"));
        }
        channels = weight->second->dims(0);
        weight_kernel = {{weight->second->dims(2), weight->second->dims(3)}};
      }
      absl::StatusOr<SpatialLayer> layer = Window(node, {shape[2], shape[3]}, weight_kernel);
      if (!layer.ok()) return layer.status();
      shape = {shape[0], channels, layer->output_size[0], layer->output_size[1]};
      prefix.layers.push_back(*layer);
      prefix.spatial_nodes.push_back(next.front());
    } else if (!IsPointwise(op)) {
      return absl::UnimplementedError(absl::StrCat(
          NodeName(node), " cannot be fused (Conv, MaxPool and pointwise nodes only; ",
          prefix.layers.size(), " of ", fused_layers, " spatial layers found)"));
    }
    prefix.nodes.push_back(next.front());
    value = node.output(0);
    for (const onnx::ValueInfoProto& output : graph.output()) {
      if (output.name() == value) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the model's output '", value, "' is inside the fused layers"));
      }
    }
  }
  prefix.cut_name = value;
  prefix.cut_shape = shape;
  return prefix;
}

onnx::ModelProto TileModel(const FusedPrefix& prefix, const Tile& tile) {
  onnx::ModelProto model = Submodel(prefix.model, prefix.nodes);
  onnx::GraphProto& graph = *model.mutable_graph();
  const TileLayer& first = tile.layers.front();
  const TileLayer& last = tile.layers.back();
  std::array<int64_t, 4> out_shape = prefix.cut_shape;
  out_shape[2] = last.output[0].size();
  out_shape[3] = last.output[1].size();
  SetValueInfo(*graph.add_input(), prefix.input_name,
               {prefix.input_shape[0], prefix.input_shape[1], first.input[0].size(),
                first.input[1].size()});
  SetValueInfo(*graph.add_output(), prefix.cut_name, out_shape);
  // Submodel puts the Constant nodes first, then the chain in order.
  const int offset = graph.node_size() - static_cast<int>(prefix.nodes.size());
  size_t layer = 0;
  for (size_t i = 0; i < prefix.nodes.size(); ++i) {
    if (layer == prefix.spatial_nodes.size() || prefix.nodes[i] != prefix.spatial_nodes[layer]) {
      continue;
    }
    onnx::NodeProto& node = *graph.mutable_node(offset + static_cast<int>(i));
    const TileLayer& t = tile.layers[layer++];
    SetInts(node, "pads", {t.pad_begin[0], t.pad_begin[1], t.pad_end[0], t.pad_end[1]});
    RemoveAttribute(node, "auto_pad");
    RemoveAttribute(node, "ceil_mode");
  }
  return model;
}

absl::StatusOr<onnx::ModelProto> RestModel(const FusedPrefix& prefix) {
  const onnx::GraphProto& graph = prefix.model.graph();
  const std::set<int> fused(prefix.nodes.begin(), prefix.nodes.end());
  std::set<std::string> inside;  // values the prefix computes, but the cut
  inside.insert(prefix.input_name);
  for (int i : prefix.nodes) {
    for (const std::string& output : graph.node(i).output()) inside.insert(output);
  }
  inside.erase(prefix.cut_name);
  std::vector<int> rest;
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (fused.count(i) || node.op_type() == "Constant") continue;
    for (const std::string& input : node.input()) {
      if (inside.count(input)) {
        return absl::UnimplementedError(absl::StrCat(
            NodeName(node), " reads '", input, "' from inside the fused layers"));
      }
    }
    rest.push_back(i);
  }
  onnx::ModelProto model = Submodel(prefix.model, rest);
  SetValueInfo(*model.mutable_graph()->add_input(), prefix.cut_name, prefix.cut_shape);
  for (const onnx::ValueInfoProto& output : graph.output()) {
    *model.mutable_graph()->add_output() = output;
  }
  return model;
}

}  // namespace edgecompress::partition
