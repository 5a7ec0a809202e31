#include "inference/onnx_subgraph.h"

#include <map>
#include <set>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace edgecompress::inference {
namespace {

const onnx::ValueInfoProto* FindValueInfo(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto* list : {&graph.input(), &graph.output(), &graph.value_info()}) {
    for (const onnx::ValueInfoProto& info : *list) {
      if (info.name() == name) return &info;
    }
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<onnx::ModelProto> ExtractSubgraph(const onnx::ModelProto& model,
                                                 const std::string& input,
                                                 const std::string& output) {
  const onnx::GraphProto& graph = model.graph();
  std::set<std::string> constants;
  for (const onnx::TensorProto& tensor : graph.initializer()) constants.insert(tensor.name());
  std::map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& out : graph.node(i).output()) producer[out] = i;
  }
  std::set<int> nodes;
  std::set<std::string> seen;
  std::vector<std::string> pending = {output};
  while (!pending.empty()) {
    const std::string value = pending.back();
    pending.pop_back();
    if (value.empty() || value == input || constants.count(value) || !seen.insert(value).second) {
      continue;
    }
    const auto it = producer.find(value);
    if (it == producer.end()) {
      return absl::UnimplementedError(absl::StrCat(
          "'", output, "' needs '", value, "' besides '", input,
          "' (a connection around it, or no such value)"));
    }
    nodes.insert(it->second);
    for (const std::string& in : graph.node(it->second).input()) pending.push_back(in);
  }
  const onnx::ValueInfoProto* input_info = FindValueInfo(graph, input);
  if (input_info == nullptr || !input_info->type().tensor_type().has_shape()) {
    return absl::InvalidArgumentError(absl::StrCat("value '", input, "' has no recorded shape"));
  }
  onnx::ModelProto sub = model;
  onnx::GraphProto& g = *sub.mutable_graph();
  g.clear_node();
  g.clear_initializer();
  g.clear_input();
  g.clear_output();
  g.clear_value_info();
  std::set<std::string> read;
  for (int i : nodes) {
    *g.add_node() = graph.node(i);  // std::set: in graph order
    for (const std::string& in : graph.node(i).input()) read.insert(in);
  }
  for (const onnx::TensorProto& tensor : graph.initializer()) {
    if (read.count(tensor.name())) *g.add_initializer() = tensor;
  }
  *g.add_input() = *input_info;
  if (const onnx::ValueInfoProto* output_info = FindValueInfo(graph, output)) {
    *g.add_output() = *output_info;
  } else {
    g.add_output()->set_name(output);
  }
  for (const onnx::ValueInfoProto& info : graph.value_info()) {
    if (info.name() != input && info.name() != output && seen.count(info.name())) {
      *g.add_value_info() = info;
    }
  }
  return sub;
}

}  // namespace edgecompress::inference
