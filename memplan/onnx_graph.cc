#include "memplan/onnx_graph.h"

#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace edgecompress::memplan {
namespace {

// Bytes per element, or 0 for types without a fixed size.
int64_t ElementBytes(int32_t data_type) {
  switch (data_type) {
    case onnx::TensorProto::BOOL:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
      return 1;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      return 2;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::UINT32:
    case onnx::TensorProto::FLOAT:
      return 4;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::UINT64:
    case onnx::TensorProto::DOUBLE:
      return 8;
    default:
      return 0;
  }
}

// Ops whose output may overwrite an input of the same size in a runtime that
// supports it: elementwise maps and pure reshapes (TFLite and XNNPACK both
// have in-place or aliasing kernels for these).
bool IsInPlaceType(const std::string& op_type) {
  static const auto* const kTypes = new std::unordered_set<std::string>{
      "Relu",    "LeakyRelu", "Clip",    "Sigmoid", "Tanh",     "HardSigmoid",
      "HardSwish", "Elu",     "Selu",    "Softplus", "Neg",     "Abs",
      "Exp",     "Log",       "Sqrt",    "Identity", "Dropout", "BatchNormalization",
      "Add",     "Sub",       "Mul",     "Div",     "Reshape",  "Flatten",
      "Squeeze", "Unsqueeze", "Softmax"};
  return kTypes->count(op_type) > 0;
}

std::string Quoted(const std::string& name) { return absl::StrCat("'", name, "'"); }

}  // namespace

absl::StatusOr<GraphSpec> GraphSpecFromOnnx(onnx::ModelProto model,
                                            const OnnxGraphOptions& options) {
  if (options.batch < 1) {
    return absl::InvalidArgumentError(absl::StrCat("batch is ", options.batch, "; must be >= 1"));
  }
  if (!model.has_graph()) return absl::InvalidArgumentError("the model has no graph");
  onnx::GraphProto& graph = *model.mutable_graph();
  std::unordered_set<std::string> constants;
  for (const onnx::TensorProto& initializer : graph.initializer()) {
    constants.insert(initializer.name());
  }
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.op_type() == "Constant") {
      for (const std::string& output : node.output()) constants.insert(output);
    }
    for (const onnx::AttributeProto& attribute : node.attribute()) {
      if (attribute.has_g() || attribute.graphs_size() > 0) {
        return absl::UnimplementedError(absl::StrCat(
            "node ", Quoted(node.name()), " (", node.op_type(),
            ") has a subgraph; control flow is not supported"));
      }
    }
  }

  // Inference needs the weights' shapes, not their values: dropping the
  // floating-point payloads (integer initializers can be shapes that data
  // propagation reads) took ResNet-18 from ~990 to ~600 ms on a loaded machine.
  for (onnx::TensorProto& initializer : *graph.mutable_initializer()) {
    switch (initializer.data_type()) {
      case onnx::TensorProto::FLOAT:
      case onnx::TensorProto::FLOAT16:
      case onnx::TensorProto::BFLOAT16:
      case onnx::TensorProto::DOUBLE:
        initializer.clear_raw_data();
        initializer.clear_float_data();
        initializer.clear_double_data();
        initializer.clear_int32_data();
        break;
      default:
        break;
    }
  }
  // Fix the batch, then infer every shape afresh: exporters' value_info and
  // output shapes still carry the symbolic batch and would win the merge.
  for (onnx::ValueInfoProto& input : *graph.mutable_input()) {
    if (constants.count(input.name()) > 0) continue;
    onnx::TensorShapeProto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() > 0 && !shape->dim(0).has_dim_value()) {
      shape->mutable_dim(0)->set_dim_value(options.batch);
    }
  }
  graph.clear_value_info();
  for (onnx::ValueInfoProto& output : *graph.mutable_output()) {
    output.mutable_type()->mutable_tensor_type()->clear_shape();
  }
  try {
    onnx::shape_inference::InferShapes(
        model, onnx::OpSchemaRegistry::Instance(),
        onnx::ShapeInferenceOptions(/*check_type_val=*/false, /*strict_mode_val=*/0,
                                    /*data_prop_val=*/true));
  } catch (const std::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("ONNX shape inference failed: ", error.what()));
  }

  std::unordered_map<std::string, const onnx::ValueInfoProto*> value_info;
  for (const auto* list : {&graph.input(), &graph.value_info(), &graph.output()}) {
    for (const onnx::ValueInfoProto& value : *list) value_info[value.name()] = &value;
  }
  GraphSpec spec;
  std::unordered_set<std::string> declared;
  // Declares `name` as a tensor with its inferred size; `writer` is for messages.
  auto declare = [&](const std::string& name, const std::string& writer) -> absl::Status {
    if (!declared.insert(name).second) return absl::OkStatus();
    auto it = value_info.find(name);
    if (it == value_info.end() || !it->second->type().has_tensor_type() ||
        !it->second->type().tensor_type().has_shape()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape inference gave no shape for ", Quoted(name), " (", writer, ")"));
    }
    const onnx::TypeProto_Tensor& type = it->second->type().tensor_type();
    const int64_t element_bytes = ElementBytes(type.elem_type());
    if (element_bytes == 0) {
      return absl::InvalidArgumentError(absl::StrCat("tensor ", Quoted(name), " has ONNX type ",
                                                     type.elem_type(), ", which has no fixed size"));
    }
    int64_t bytes = element_bytes;
    for (const onnx::TensorShapeProto_Dimension& dim : type.shape().dim()) {
      if (!dim.has_dim_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "tensor ", Quoted(name), " has a symbolic dimension '", dim.dim_param(),
            "' after shape inference (", writer, "); only the batch is set by --batch"));
      }
      if (dim.dim_value() < 0 ||
          (dim.dim_value() > 0 && bytes > std::numeric_limits<int64_t>::max() / 4 / dim.dim_value())) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor ", Quoted(name), " has dimension ", dim.dim_value()));
      }
      bytes *= dim.dim_value();
    }
    spec.tensors.push_back({name, bytes});
    return absl::OkStatus();
  };
  for (const onnx::ValueInfoProto& input : graph.input()) {
    if (constants.count(input.name()) > 0) continue;
    if (absl::Status status = declare(input.name(), "graph input"); !status.ok()) return status;
    spec.inputs.push_back(input.name());
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() == "Constant") continue;
    OperatorSpec op;
    op.name = node.name().empty() ? absl::StrCat(node.op_type(), "_", i) : node.name();
    op.type = node.op_type();
    for (const std::string& input : node.input()) {
      if (!input.empty()) op.inputs.push_back(input);  // "" is an omitted optional input
    }
    for (const std::string& output : node.output()) {
      if (output.empty()) continue;
      if (absl::Status status =
              declare(output, absl::StrCat("written by ", Quoted(op.name), ", ", op.type));
          !status.ok()) {
        return status;
      }
      op.outputs.push_back(output);
    }
    spec.operators.push_back(std::move(op));
  }
  std::unordered_map<std::string, int64_t> size_of;
  for (const TensorSpec& tensor : spec.tensors) size_of[tensor.name] = tensor.size_bytes;
  for (OperatorSpec& op : spec.operators) {
    if (!IsInPlaceType(op.type) || op.outputs.empty()) continue;
    const int64_t output_bytes = size_of[op.outputs.front()];
    for (const std::string& input : op.inputs) {
      auto it = size_of.find(input);
      if (it != size_of.end() && it->second == output_bytes) op.in_place_capable = true;
    }
  }
  for (const onnx::ValueInfoProto& output : graph.output()) spec.outputs.push_back(output.name());
  spec.constants.assign(constants.begin(), constants.end());
  std::sort(spec.constants.begin(), spec.constants.end());  // deterministic output
  return spec;
}

}  // namespace edgecompress::memplan
