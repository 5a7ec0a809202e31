#include "quantization/onnx_qdq.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "quantization/affine.h"
#include "tools/status/status_macros.h"
#include "training/onnx/float_tensor.h"
#include "training/onnx/node_attributes.h"

namespace edgecompress {
namespace quantization {
namespace {

std::string NodeName(const onnx::NodeProto& node) {
  return absl::StrFormat("node '%s' (%s)", node.name().empty() ? node.output(0) : node.name(),
                         node.op_type());
}

// Consumers of each name: node indices.
std::unordered_map<std::string, std::vector<int>> Consumers(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, std::vector<int>> consumers;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& input : graph.node(i).input()) {
      if (!input.empty()) consumers[input].push_back(i);
    }
  }
  return consumers;
}

const onnx::TensorProto* FindInitializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const onnx::TensorProto& t : graph.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

onnx::TensorProto MakeTensor(const std::string& name, int32_t data_type,
                             const std::vector<int64_t>& dims, const void* data, size_t bytes) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(data_type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(static_cast<const char*>(data), bytes));
  return t;
}

onnx::NodeProto MakeNode(const std::string& op, const std::vector<std::string>& inputs,
                         const std::string& output, const std::string& name) {
  onnx::NodeProto node;
  node.set_op_type(op);
  node.set_name(name);
  for (const std::string& input : inputs) node.add_input(input);
  node.add_output(output);
  return node;
}

void SetIntAttribute(onnx::NodeProto* node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node->add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}

// Which input of `node` is a weight this pass rewrites: 1 for Conv and Gemm.
bool HasQuantizableWeight(const onnx::NodeProto& node) {
  return node.domain().empty() && (node.op_type() == "Conv" || node.op_type() == "Gemm");
}

}  // namespace

absl::StatusOr<PtqMode> ParsePtqMode(absl::string_view name) {
  if (name == "int8") return PtqMode::kInt8;
  if (name == "dynamic") return PtqMode::kDynamic;
  if (name == "fp16") return PtqMode::kFp16;
  return absl::InvalidArgumentError(
      absl::StrCat("quantization mode '", name, "' is unknown; use int8, dynamic or fp16"));
}

std::string PtqModeName(PtqMode mode) {
  switch (mode) {
    case PtqMode::kInt8:
      return "int8";
    case PtqMode::kDynamic:
      return "dynamic";
    case PtqMode::kFp16:
      return "fp16";
  }
  return "?";
}

absl::StatusOr<FoldedModel> FoldBatchNorms(const onnx::ModelProto& model) {
  FoldedModel result{model, 0};
  onnx::GraphProto& graph = *result.model.mutable_graph();
  const std::unordered_map<std::string, std::vector<int>> consumers = Consumers(graph);
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& output : graph.node(i).output()) producer[output] = i;
  }
  std::vector<bool> removed(graph.node_size(), false);
  for (int b = 0; b < graph.node_size(); ++b) {
    const onnx::NodeProto& bn = graph.node(b);
    if (bn.op_type() != "BatchNormalization" || !bn.domain().empty()) continue;
    if (bn.input_size() != 5 || bn.output_size() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(NodeName(bn), ": expected 5 inputs"));
    }
    if (bn.output_size() > 1 || training::IntAttribute(bn, "training_mode", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(NodeName(bn), ": training mode; export the model in eval mode"));
    }
    const auto conv_it = producer.find(bn.input(0));
    if (conv_it == producer.end()) continue;
    onnx::NodeProto& conv = *graph.mutable_node(conv_it->second);
    const auto readers = consumers.find(bn.input(0));
    const bool graph_output = std::any_of(
        graph.output().begin(), graph.output().end(),
        [&](const onnx::ValueInfoProto& o) { return o.name() == bn.input(0); });
    if (conv.op_type() != "Conv" || !conv.domain().empty() || conv.input_size() < 2 ||
        readers == consumers.end() || readers->second.size() != 1 || graph_output) {
      continue;  // not foldable: stays, and QuantizeModel says so
    }
    const onnx::TensorProto* weight = FindInitializer(graph, conv.input(1));
    if (weight == nullptr || weight->dims_size() < 1) continue;
    const std::string what = NodeName(bn);
    std::vector<std::vector<float>> params;  // scale, bias, mean, var
    for (int i = 1; i <= 4; ++i) {
      const onnx::TensorProto* t = FindInitializer(graph, bn.input(i));
      if (t == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": input '", bn.input(i), "' is not an initializer"));
      }
      ASSIGN_OR_RETURN(std::vector<float> values,
                       training::FloatTensorValues(*t, absl::StrCat(what, " input '", bn.input(i), "'")));
      params.push_back(std::move(values));
    }
    const int64_t channels = weight->dims(0);
    for (const std::vector<float>& p : params) {
      if (static_cast<int64_t>(p.size()) != channels) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": ", p.size(),
                                                       " values per parameter for ", channels,
                                                       " output channels of ", NodeName(conv)));
      }
    }
    double epsilon = 1e-5;
    for (const onnx::AttributeProto& a : bn.attribute()) {
      if (a.name() == "epsilon") epsilon = a.f();
    }
    ASSIGN_OR_RETURN(std::vector<float> w, training::FloatTensorValues(*weight, absl::StrCat(NodeName(conv), " weight")));
    std::vector<float> bias(channels, 0.0f);
    if (conv.input_size() > 2 && !conv.input(2).empty()) {
      const onnx::TensorProto* b_tensor = FindInitializer(graph, conv.input(2));
      if (b_tensor == nullptr) continue;
      ASSIGN_OR_RETURN(bias, training::FloatTensorValues(*b_tensor, absl::StrCat(NodeName(conv), " bias")));
      if (static_cast<int64_t>(bias.size()) != channels) {
        return absl::InvalidArgumentError(absl::StrCat(NodeName(conv), ": bias has ", bias.size(),
                                                       " values for ", channels, " channels"));
      }
    }
    const int64_t per_channel = static_cast<int64_t>(w.size()) / channels;
    for (int64_t o = 0; o < channels; ++o) {
      const double scale = params[0][o] / std::sqrt(static_cast<double>(params[3][o]) + epsilon);
      for (int64_t i = 0; i < per_channel; ++i) {
        w[o * per_channel + i] = static_cast<float>(w[o * per_channel + i] * scale);
      }
      bias[o] = static_cast<float>((bias[o] - params[2][o]) * scale + params[1][o]);
    }
    std::vector<int64_t> dims(weight->dims().begin(), weight->dims().end());
    // Named after the BatchNormalization's output, which is unique, so two
    // convolutions sharing one weight each get their own folded copy.
    const std::string weight_name = bn.output(0) + "_folded_weight";
    const std::string bias_name = bn.output(0) + "_folded_bias";
    *graph.add_initializer() = MakeTensor(weight_name, onnx::TensorProto::FLOAT, dims, w.data(),
                                          w.size() * sizeof(float));
    *graph.add_initializer() = MakeTensor(bias_name, onnx::TensorProto::FLOAT, {channels},
                                          bias.data(), bias.size() * sizeof(float));
    conv.set_input(1, weight_name);
    if (conv.input_size() > 2) {
      conv.set_input(2, bias_name);
    } else {
      conv.add_input(bias_name);
    }
    conv.set_output(0, bn.output(0));
    removed[b] = true;
    ++result.folded;
  }
  // Drop the folded nodes, then initializers nothing reads any more.
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (!removed[i]) *kept.Add() = graph.node(i);
  }
  graph.mutable_node()->Swap(&kept);
  std::unordered_map<std::string, bool> read;
  for (const onnx::NodeProto& node : graph.node()) {
    for (const std::string& input : node.input()) read[input] = true;
  }
  for (const onnx::ValueInfoProto& output : graph.output()) read[output.name()] = true;
  google::protobuf::RepeatedPtrField<onnx::TensorProto> used;
  std::unordered_map<std::string, bool> dropped;
  for (const onnx::TensorProto& t : graph.initializer()) {
    if (read.count(t.name()) > 0) {
      *used.Add() = t;
    } else {
      dropped[t.name()] = true;
    }
  }
  graph.mutable_initializer()->Swap(&used);
  // Older exporters also list initializers as graph inputs.
  google::protobuf::RepeatedPtrField<onnx::ValueInfoProto> inputs;
  for (const onnx::ValueInfoProto& input : graph.input()) {
    if (dropped.count(input.name()) == 0) *inputs.Add() = input;
  }
  graph.mutable_input()->Swap(&inputs);
  return result;
}

uint16_t FloatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const float magnitude = std::fabs(value);
  if (std::isnan(value)) return sign | 0x7e00u;
  if (magnitude >= 65520.0f) return sign | 0x7c00u;  // rounds past the largest half, 65504
  if (magnitude < std::ldexp(1.0f, -14)) {
    // Subnormal: multiples of 2^-24, rounded to nearest even by nearbyint.
    return sign | static_cast<uint16_t>(std::nearbyint(std::ldexp(magnitude, 24)));
  }
  int exponent;
  const float fraction = std::frexp(magnitude, &exponent);  // [0.5, 1) * 2^exponent
  // 11 significant bits: mantissa in [1024, 2048], rounded to nearest even.
  uint32_t mantissa = static_cast<uint32_t>(std::nearbyint(std::ldexp(fraction, 11)));
  int biased = exponent - 1 + 15;
  if (mantissa == 2048) {
    mantissa = 1024;
    ++biased;
  }
  if (biased >= 31) return sign | 0x7c00u;
  return sign | static_cast<uint16_t>((biased << 10) | (mantissa - 1024));
}

absl::StatusOr<std::vector<std::string>> ActivationsToQuantize(const onnx::ModelProto& model) {
  const onnx::GraphProto& graph = model.graph();
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) initializers.insert(t.name());
  std::vector<std::string> names;
  for (const onnx::ValueInfoProto& input : graph.input()) {
    if (initializers.count(input.name()) == 0) names.push_back(input.name());
  }
  const auto consumers = Consumers(graph);
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.op_type() == "BatchNormalization") {
      return absl::FailedPreconditionError(absl::StrCat(
          NodeName(node), ": fold BatchNormalization into the convolution before quantizing"));
    }
    const std::string& op = node.op_type();
    if (!node.domain().empty() ||
        (op != "Conv" && op != "Gemm" && op != "Add" && op != "GlobalAveragePool")) {
      continue;
    }
    std::string name = node.output(0);
    auto it = consumers.find(name);
    if (it != consumers.end() && it->second.size() == 1 &&
        graph.node(it->second[0]).op_type() == "Relu") {
      name = graph.node(it->second[0]).output(0);  // the Relu is fused
    }
    names.push_back(name);
  }
  return names;
}

absl::StatusOr<std::map<std::string, Range>> ActivationRangesFromLayerInputs(
    const onnx::ModelProto& model, const std::map<std::string, Range>& layer_input_ranges) {
  ASSIGN_OR_RETURN(const std::vector<std::string> activations, ActivationsToQuantize(model));
  const std::set<std::string> quantized(activations.begin(), activations.end());
  const onnx::GraphProto& graph = model.graph();
  std::unordered_map<std::string, const onnx::NodeProto*> producers;
  for (const onnx::NodeProto& node : graph.node()) {
    for (const std::string& output : node.output()) producers[output] = &node;
  }
  std::map<std::string, Range> ranges;
  for (const onnx::NodeProto& node : graph.node()) {
    if (!HasQuantizableWeight(node) || node.input_size() < 2) continue;
    const std::string& weight = node.input(1);
    constexpr absl::string_view kSuffix = ".weight";
    if (!absl::EndsWith(weight, kSuffix)) continue;
    const auto observed = layer_input_ranges.find(weight.substr(0, weight.size() - kSuffix.size()));
    if (observed == layer_input_ranges.end()) continue;
    std::string tensor = node.input(0);
    while (quantized.count(tensor) == 0) {
      const auto producer = producers.find(tensor);
      if (producer == producers.end()) break;
      const std::string& op = producer->second->op_type();
      if (op != "MaxPool" && op != "Flatten" && op != "Reshape") break;
      tensor = producer->second->input(0);
    }
    if (quantized.count(tensor) == 0) continue;
    const auto [it, inserted] = ranges.emplace(tensor, observed->second);
    if (!inserted) {
      it->second.min = std::min(it->second.min, observed->second.min);
      it->second.max = std::max(it->second.max, observed->second.max);
    }
  }
  return ranges;
}

absl::StatusOr<onnx::ModelProto> QuantizeModel(
    const onnx::ModelProto& model, PtqMode mode,
    const std::map<std::string, Range>& activation_ranges) {
  std::vector<std::string> activations;
  if (mode == PtqMode::kInt8) {
    ASSIGN_OR_RETURN(activations, ActivationsToQuantize(model));
    for (const std::string& name : activations) {
      if (activation_ranges.count(name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("no calibrated range for activation '", name, "'"));
      }
    }
  }
  onnx::ModelProto out = model;
  onnx::GraphProto* graph = out.mutable_graph();
  bool has_default_opset = false;
  for (onnx::OperatorSetIdProto& opset : *out.mutable_opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") {
      has_default_opset = true;
      if (opset.version() < 13) opset.set_version(13);
    }
  }
  if (!has_default_opset) out.add_opset_import()->set_version(13);

  // Weights: replace each Conv/Gemm weight (and, for fp16, bias) initializer.
  std::set<std::string> replaced;
  std::vector<onnx::NodeProto> weight_nodes;  // DequantizeLinear / Cast, placed first
  std::vector<onnx::TensorProto> new_initializers;
  for (int i = 0; i < graph->node_size(); ++i) {
    onnx::NodeProto* node = graph->mutable_node(i);
    if (!HasQuantizableWeight(*node) || node->input_size() < 2) continue;
    if (node->op_type() == "Gemm" && training::IntAttribute(*node, "transA", 0) != 0) continue;
    const int last_input = mode == PtqMode::kFp16 ? std::min(node->input_size() - 1, 2) : 1;
    for (int k = 1; k <= last_input; ++k) {
      const std::string name = node->input(k);
      const onnx::TensorProto* init = FindInitializer(*graph, name);
      if (init == nullptr || name.empty()) continue;  // computed weights stay float
      const std::string what = absl::StrCat(NodeName(*node), ": input '", name, "'");
      ASSIGN_OR_RETURN(std::vector<float> values, training::FloatTensorValues(*init, what));
      std::vector<int64_t> dims(init->dims().begin(), init->dims().end());
      if (mode == PtqMode::kFp16) {
        std::vector<uint16_t> halves(values.size());
        for (size_t j = 0; j < values.size(); ++j) halves[j] = FloatToHalf(values[j]);
        const std::string half_name = name + "_fp16";
        new_initializers.push_back(MakeTensor(half_name, onnx::TensorProto::FLOAT16, dims,
                                              halves.data(), halves.size() * 2));
        onnx::NodeProto cast = MakeNode("Cast", {half_name}, name + "_cast", name + "_cast");
        SetIntAttribute(&cast, "to", onnx::TensorProto::FLOAT);
        weight_nodes.push_back(cast);
        node->set_input(k, name + "_cast");
        replaced.insert(name);
        continue;
      }
      if (node->op_type() == "Gemm" && training::IntAttribute(*node, "transB", 0) == 0) {
        // Store B transposed ([N, K]) so that the scales run along axis 0.
        if (dims.size() != 2) return absl::InvalidArgumentError(absl::StrCat(what, " is not 2D"));
        std::vector<float> t(values.size());
        for (int64_t r = 0; r < dims[0]; ++r) {
          for (int64_t c = 0; c < dims[1]; ++c) t[c * dims[0] + r] = values[r * dims[1] + c];
        }
        values = std::move(t);
        std::swap(dims[0], dims[1]);
        bool set = false;
        for (onnx::AttributeProto& a : *node->mutable_attribute()) {
          if (a.name() == "transB") {
            a.set_i(1);
            set = true;
          }
        }
        if (!set) SetIntAttribute(node, "transB", 1);
      }
      if (dims.empty() || dims[0] <= 0) {
        return absl::InvalidArgumentError(absl::StrCat(what, " has no output-channel axis"));
      }
      // Symmetric int8 per output channel: [-127, 127], zero point 0 (affine.h).
      ASSIGN_OR_RETURN(std::vector<QuantParams> params,
                       ChoosePerChannelQuantParams(values, dims[0], 8, /*is_signed=*/true,
                                                   /*symmetric=*/true));
      std::vector<int8_t> q(values.size());
      RETURN_IF_ERROR(QuantizePerChannel(values, params, absl::MakeSpan(q)));
      std::vector<float> scales;
      for (const QuantParams& p : params) scales.push_back(p.scale);
      const std::vector<int8_t> zero_points(scales.size(), 0);
      const std::string q_name = name + "_quantized";
      new_initializers.push_back(
          MakeTensor(q_name, onnx::TensorProto::INT8, dims, q.data(), q.size()));
      new_initializers.push_back(MakeTensor(name + "_scale", onnx::TensorProto::FLOAT,
                                            {dims[0]}, scales.data(), scales.size() * 4));
      new_initializers.push_back(MakeTensor(name + "_zero_point", onnx::TensorProto::INT8,
                                            {dims[0]}, zero_points.data(), zero_points.size()));
      onnx::NodeProto dq =
          MakeNode("DequantizeLinear", {q_name, name + "_scale", name + "_zero_point"},
                   name + "_dequantized", name + "_dequantize");
      SetIntAttribute(&dq, "axis", 0);
      weight_nodes.push_back(dq);
      node->set_input(k, name + "_dequantized");
      replaced.insert(name);
    }
  }
  // Drop replaced initializers that nothing else reads.
  {
    std::set<std::string> still_read;
    for (const onnx::NodeProto& node : graph->node()) {
      for (const std::string& input : node.input()) still_read.insert(input);
    }
    google::protobuf::RepeatedPtrField<onnx::TensorProto> kept;
    for (onnx::TensorProto& t : *graph->mutable_initializer()) {
      if (replaced.count(t.name()) == 0 || still_read.count(t.name()) > 0) *kept.Add() = t;
    }
    for (onnx::TensorProto& t : new_initializers) *kept.Add() = std::move(t);
    graph->mutable_initializer()->Swap(&kept);
  }

  // Activations: a QuantizeLinear -> DequantizeLinear pair after each producer.
  const std::string output_name = graph->output(0).name();
  std::map<std::string, std::string> rewired;  // activation -> its DequantizeLinear output
  std::map<std::string, std::vector<onnx::NodeProto>> pairs_after;  // producer output -> pair
  for (const std::string& name : activations) {
    const Range& r = activation_ranges.at(name);
    ASSIGN_OR_RETURN(QuantParams p,
                     ChooseQuantParams(r.min, r.max, 8, /*is_signed=*/true, /*symmetric=*/false));
    const std::string source = name == output_name ? name + "_prequant" : name;
    const std::string dq_out = name == output_name ? name : name + "_dequantized";
    const int8_t zp = static_cast<int8_t>(p.zero_point);
    graph->add_initializer()->CopyFrom(
        MakeTensor(name + "_act_scale", onnx::TensorProto::FLOAT, {}, &p.scale, 4));
    graph->add_initializer()->CopyFrom(
        MakeTensor(name + "_act_zero_point", onnx::TensorProto::INT8, {}, &zp, 1));
    pairs_after[name] = {
        MakeNode("QuantizeLinear", {source, name + "_act_scale", name + "_act_zero_point"},
                 name + "_quantized_act", name + "_quantize"),
        MakeNode("DequantizeLinear",
                 {name + "_quantized_act", name + "_act_scale", name + "_act_zero_point"}, dq_out,
                 name + "_dequantize_act")};
    if (name != output_name) rewired[name] = dq_out;
  }
  google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
  for (onnx::NodeProto& n : weight_nodes) *nodes.Add() = std::move(n);
  auto emit_pair = [&](const std::string& name) {
    auto it = pairs_after.find(name);
    if (it == pairs_after.end()) return;
    for (const onnx::NodeProto& n : it->second) *nodes.Add() = n;
  };
  for (const onnx::ValueInfoProto& input : graph->input()) emit_pair(input.name());
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    for (int k = 0; k < node.input_size(); ++k) {
      auto it = rewired.find(node.input(k));
      if (it != rewired.end()) node.set_input(k, it->second);
    }
    std::vector<std::string> produced(node.output().begin(), node.output().end());
    for (int k = 0; k < node.output_size(); ++k) {
      if (node.output(k) == output_name && pairs_after.count(output_name) > 0) {
        node.set_output(k, output_name + "_prequant");
      }
    }
    *nodes.Add() = node;
    for (const std::string& name : produced) emit_pair(name);
  }
  graph->mutable_node()->Swap(&nodes);
  return out;
}

}  // namespace quantization
}  // namespace edgecompress
