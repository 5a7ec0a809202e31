#include "training/onnx/onnx_export.h"

#include <onnx/checker.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/status/status_macros.h"
#include "training/onnx/float_tensor.h"

// ONNX stores raw_data little-endian; the copies below are plain memcpy.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onnx_export.cc writes raw_data with memcpy and needs a little-endian host"
#endif

namespace edgecompress::training {
namespace {

std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// The parameter `name` of `layer`, checked against the shape the layer needs.
absl::StatusOr<ParameterView> Lookup(const ParameterLookup& params, const Layer& layer,
                                     absl::string_view suffix, const std::vector<int64_t>& shape) {
  const std::string name = absl::StrCat(layer.name, ".", suffix);
  const auto it = params.find(name);
  if (it == params.end()) {
    return absl::InvalidArgumentError(absl::StrFormat("missing parameter '%s' of layer %s (%s)",
                                                      name, layer.name, LayerOpName(layer.op)));
  }
  const ParameterView& view = it->second;
  if (view.shape != shape) {
    return absl::InvalidArgumentError(
        absl::StrFormat("parameter '%s' has shape %s; layer %s needs %s", name,
                        ShapeString(view.shape), layer.name, ShapeString(shape)));
  }
  int64_t size = 1;
  for (int64_t d : shape) size *= d;
  if (static_cast<int64_t>(view.values.size()) != size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("parameter '%s' has %d values; its shape %s needs %d", name,
                        view.values.size(), ShapeString(shape), size));
  }
  return view;
}

void AddInitializer(onnx::GraphProto& graph, const std::string& name,
                    absl::Span<const int64_t> shape, absl::Span<const float> values) {
  SetFloatTensor(*graph.add_initializer(), name, shape, values);
}

void AddInts(onnx::NodeProto& node, const std::string& name, std::vector<int64_t> values) {
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) attribute->add_ints(v);
}

void AddInt(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::INT);
  attribute->set_i(value);
}

void AddFloat(onnx::NodeProto& node, const std::string& name, float value) {
  onnx::AttributeProto* attribute = node.add_attribute();
  attribute->set_name(name);
  attribute->set_type(onnx::AttributeProto::FLOAT);
  attribute->set_f(value);
}

// A float tensor value [batch, shape...].
void SetBatchedType(onnx::ValueInfoProto& value, const std::string& name, const Shape& shape) {
  value.set_name(name);
  onnx::TypeProto::Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  onnx::TensorShapeProto* dims = tensor->mutable_shape();
  dims->add_dim()->set_dim_param("batch");
  for (int64_t d : shape) dims->add_dim()->set_dim_value(d);
}

onnx::NodeProto& AddNode(onnx::GraphProto& graph, absl::string_view op_type,
                         const std::string& name, std::vector<std::string> inputs,
                         const std::string& output) {
  onnx::NodeProto* node = graph.add_node();
  node->set_op_type(std::string(op_type));
  node->set_name(name);
  for (std::string& input : inputs) node->add_input(std::move(input));
  node->add_output(output);
  return *node;
}

void AddPoolAttributes(onnx::NodeProto& node, const PoolAttrs& a) {
  AddInts(node, "kernel_shape", {a.kernel_size, a.kernel_size});
  AddInts(node, "strides", {a.stride, a.stride});
  AddInts(node, "pads", {a.padding, a.padding, a.padding, a.padding});  // begin h, w; end h, w
}

// For each layer, the index of the BatchNorm folded into it (a Conv2d), or -1.
std::vector<int> FoldTargets(const LayerGraph& graph, bool fold) {
  const std::vector<Layer>& layers = graph.layers();
  std::vector<int> folded_bn(layers.size(), -1);
  if (!fold) return folded_bn;
  std::map<std::string, int, std::less<>> producer;
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) producer[layers[i].output] = i;
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    if (layers[i].op != LayerOp::kBatchNorm) continue;
    const auto it = producer.find(layers[i].inputs[0]);
    if (it == producer.end()) continue;  // BatchNorm of the graph input
    const Layer& conv = layers[it->second];
    // The convolution's own output must disappear: nothing but this BatchNorm
    // may read it, and it must not be the graph output.
    if (conv.op == LayerOp::kConv2d && conv.output != graph.output() &&
        graph.Consumers(conv.output).size() == 1) {
      folded_bn[it->second] = i;
    }
  }
  return folded_bn;
}

}  // namespace

absl::Status CheckOnnxModel(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& error) {
    std::string message = error.what();
    message = message.substr(0, message.find('\n'));
    return absl::InternalError(absl::StrCat("ONNX checker rejects the model: ", message));
  }
  return absl::OkStatus();
}

absl::StatusOr<onnx::ModelProto> ExportOnnx(const LayerGraph& graph, const ParameterLookup& params,
                                            const OnnxExportOptions& options) {
  ASSIGN_OR_RETURN(const std::vector<Shape> shapes, InferShapes(graph));
  const std::vector<Layer>& layers = graph.layers();
  if (graph.output() == LayerGraph::kInput) {
    return absl::InvalidArgumentError("the graph output is its input; there is nothing to export");
  }
  if (options.output_name.empty()) {
    return absl::InvalidArgumentError("output_name is empty");
  }
  Shape output_shape;
  bool output_is_taken = options.output_name == LayerGraph::kInput;
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    if (layers[i].output == graph.output()) output_shape = shapes[i + 1];
    output_is_taken |=
        layers[i].output == options.output_name && layers[i].output != graph.output();
  }
  if (output_is_taken) {
    return absl::InvalidArgumentError(absl::StrCat("output_name '", options.output_name,
                                                   "' already names another value of the graph"));
  }
  // Every value keeps its LayerGraph name except the graph output.
  const auto onnx_name = [&](const std::string& value) -> const std::string& {
    return value == graph.output() ? options.output_name : value;
  };

  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.set_producer_name("edgecompress");
  onnx::OperatorSetIdProto* opset = model.add_opset_import();
  opset->set_domain("");
  opset->set_version(kOnnxOpset);
  onnx::GraphProto& g = *model.mutable_graph();
  g.set_name(options.graph_name);
  SetBatchedType(*g.add_input(), std::string(LayerGraph::kInput), graph.input_shape());

  // Without side outputs, the layers only they need (the side classifiers)
  // are left out; every other layer is lowered, as before early exits.
  std::vector<bool> side_only(layers.size(), false);
  if (!options.side_outputs && !graph.side_outputs().empty()) {
    const auto closure = [&](std::vector<std::string> wanted) {
      std::vector<bool> needed(layers.size(), false);
      for (int i = static_cast<int>(layers.size()) - 1; i >= 0; --i) {
        if (std::find(wanted.begin(), wanted.end(), layers[i].output) == wanted.end()) continue;
        needed[i] = true;
        wanted.insert(wanted.end(), layers[i].inputs.begin(), layers[i].inputs.end());
      }
      return needed;
    };
    const std::vector<bool> main = closure({graph.output()});
    const std::vector<bool> sides = closure(graph.side_outputs());
    for (size_t i = 0; i < layers.size(); ++i) side_only[i] = sides[i] && !main[i];
  }
  const std::vector<int> folded_bn = FoldTargets(graph, options.fold_batch_norm);
  std::vector<bool> is_folded(layers.size(), false);
  for (int bn : folded_bn) {
    if (bn >= 0) is_folded[bn] = true;
  }
  // Values with a value_info entry: every output that survives lowering.
  std::vector<std::pair<std::string, Shape>> intermediate;

  std::vector<std::pair<std::string, Shape>> side_outputs;
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    const Layer& layer = layers[i];
    if (side_only[i]) continue;
    const Shape& out_shape = shapes[i + 1];
    std::vector<std::string> inputs;
    for (const std::string& input : layer.inputs) inputs.push_back(onnx_name(input));
    const std::string node_name = layer.name.empty() ? layer.output : layer.name;
    std::string output = onnx_name(layer.output);
    switch (layer.op) {
      case LayerOp::kConv2d: {
        const auto& a = std::get<Conv2dAttrs>(layer.attrs);
        const std::vector<int64_t> w_shape = {a.out_channels, a.in_channels / a.groups,
                                              a.kernel_size, a.kernel_size};
        ASSIGN_OR_RETURN(const ParameterView weight, Lookup(params, layer, "weight", w_shape));
        ParameterView bias;
        if (a.bias) {
          ASSIGN_OR_RETURN(bias, Lookup(params, layer, "bias", {a.out_channels}));
        }
        const std::string w_name = absl::StrCat(layer.name, ".weight");
        const std::string b_name = absl::StrCat(layer.name, ".bias");
        inputs.push_back(w_name);
        if (const int bn_index = folded_bn[i]; bn_index >= 0) {
          const Layer& bn = layers[bn_index];
          const double epsilon = std::get<BatchNormAttrs>(bn.attrs).epsilon;
          const std::vector<int64_t> c_shape = {a.out_channels};
          ASSIGN_OR_RETURN(const ParameterView gamma, Lookup(params, bn, "weight", c_shape));
          ASSIGN_OR_RETURN(const ParameterView beta, Lookup(params, bn, "bias", c_shape));
          ASSIGN_OR_RETURN(const ParameterView mean, Lookup(params, bn, "running_mean", c_shape));
          ASSIGN_OR_RETURN(const ParameterView var, Lookup(params, bn, "running_var", c_shape));
          const int64_t per_channel = static_cast<int64_t>(weight.values.size()) / a.out_channels;
          std::vector<float> w(weight.values.size());
          std::vector<float> b(a.out_channels);
          for (int64_t c = 0; c < a.out_channels; ++c) {
            const double scale =
                gamma.values[c] / std::sqrt(static_cast<double>(var.values[c]) + epsilon);
            for (int64_t k = c * per_channel; k < (c + 1) * per_channel; ++k) {
              w[k] = static_cast<float>(weight.values[k] * scale);
            }
            const double b0 = a.bias ? bias.values[c] : 0.0;
            b[c] = static_cast<float>((b0 - mean.values[c]) * scale + beta.values[c]);
          }
          AddInitializer(g, w_name, w_shape, w);
          AddInitializer(g, b_name, c_shape, b);
          inputs.push_back(b_name);
          output = onnx_name(bn.output);  // the folded Conv writes the BatchNorm's value
        } else {
          AddInitializer(g, w_name, w_shape, weight.values);
          if (a.bias) {
            AddInitializer(g, b_name, {a.out_channels}, bias.values);
            inputs.push_back(b_name);
          }
        }
        onnx::NodeProto& node = AddNode(g, "Conv", node_name, std::move(inputs), output);
        AddInts(node, "kernel_shape", {a.kernel_size, a.kernel_size});
        AddInts(node, "strides", {a.stride, a.stride});
        AddInts(node, "pads", {a.padding, a.padding, a.padding, a.padding});
        AddInts(node, "dilations", {a.dilation, a.dilation});
        AddInt(node, "group", a.groups);
        break;
      }
      case LayerOp::kBatchNorm: {
        if (is_folded[i]) continue;  // lowered with its convolution
        const auto& a = std::get<BatchNormAttrs>(layer.attrs);
        for (const char* suffix : {"weight", "bias", "running_mean", "running_var"}) {
          ASSIGN_OR_RETURN(const ParameterView p, Lookup(params, layer, suffix, {a.channels}));
          const std::string name = absl::StrCat(layer.name, ".", suffix);
          AddInitializer(g, name, p.shape, p.values);
          inputs.push_back(name);  // X, scale, B, input_mean, input_var
        }
        AddFloat(AddNode(g, "BatchNormalization", node_name, std::move(inputs), output), "epsilon",
                 static_cast<float>(a.epsilon));
        break;
      }
      case LayerOp::kLinear: {
        const auto& a = std::get<LinearAttrs>(layer.attrs);
        const std::vector<int64_t> w_shape = {a.out_features, a.in_features};
        ASSIGN_OR_RETURN(const ParameterView weight, Lookup(params, layer, "weight", w_shape));
        const std::string w_name = absl::StrCat(layer.name, ".weight");
        AddInitializer(g, w_name, w_shape, weight.values);
        inputs.push_back(w_name);
        if (a.bias) {
          ASSIGN_OR_RETURN(const ParameterView bias,
                           Lookup(params, layer, "bias", {a.out_features}));
          const std::string b_name = absl::StrCat(layer.name, ".bias");
          AddInitializer(g, b_name, bias.shape, bias.values);
          inputs.push_back(b_name);
        }
        // Y = X W^T + b, as torch::nn::Linear stores W as [out, in].
        AddInt(AddNode(g, "Gemm", node_name, std::move(inputs), output), "transB", 1);
        break;
      }
      case LayerOp::kRelu:
        AddNode(g, "Relu", node_name, std::move(inputs), output);
        break;
      case LayerOp::kClip: {
        // Since opset 11 Clip takes its bounds as optional scalar inputs.
        const auto& a = std::get<ClipAttrs>(layer.attrs);
        const std::string min_name = absl::StrCat(layer.output, ".min");
        const std::string max_name = absl::StrCat(layer.output, ".max");
        AddInitializer(g, min_name, {}, {a.min});
        AddInitializer(g, max_name, {}, {a.max});
        inputs.push_back(min_name);
        inputs.push_back(max_name);
        AddNode(g, "Clip", node_name, std::move(inputs), output);
        break;
      }
      case LayerOp::kMaxPool:
        AddPoolAttributes(AddNode(g, "MaxPool", node_name, std::move(inputs), output),
                          std::get<PoolAttrs>(layer.attrs));
        break;
      case LayerOp::kAveragePool: {
        onnx::NodeProto& node = AddNode(g, "AveragePool", node_name, std::move(inputs), output);
        AddPoolAttributes(node, std::get<PoolAttrs>(layer.attrs));
        AddInt(node, "count_include_pad", 1);  // torch's default, and LayerGraph's convention
        break;
      }
      case LayerOp::kGlobalAveragePool:
        AddNode(g, "GlobalAveragePool", node_name, std::move(inputs), output);
        break;
      case LayerOp::kFlatten:
        AddInt(AddNode(g, "Flatten", node_name, std::move(inputs), output), "axis", 1);
        break;
      case LayerOp::kAdd:
        AddNode(g, "Add", node_name, std::move(inputs), output);
        break;
    }
    const auto& sides = graph.side_outputs();
    if (options.side_outputs && std::find(sides.begin(), sides.end(), output) != sides.end()) {
      side_outputs.emplace_back(output, out_shape);
    } else if (output != options.output_name) {
      intermediate.emplace_back(output, out_shape);
    }
  }

  SetBatchedType(*g.add_output(), options.output_name, output_shape);
  for (const auto& [name, shape] : side_outputs) SetBatchedType(*g.add_output(), name, shape);
  for (const auto& [name, shape] : intermediate) SetBatchedType(*g.add_value_info(), name, shape);
  RETURN_IF_ERROR(CheckOnnxModel(model));
  return model;
}

}  // namespace edgecompress::training
