#include "memplan/graph.h"

#include <algorithm>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace edgecompress::memplan {
namespace {

// Names the operators of one cycle among `blocked` (operators Kahn's
// algorithm could not release). Every blocked operator has a blocked
// predecessor, so walking predecessors must revisit one: that loop is a cycle.
std::string DescribeCycle(const std::vector<Tensor>& tensors,
                          const std::vector<Operator>& operators,
                          const std::vector<bool>& blocked) {
  int current = static_cast<int>(std::find(blocked.begin(), blocked.end(), true) -
                                 blocked.begin());
  std::vector<int> path;
  std::vector<int> position(operators.size(), -1);
  while (position[current] < 0) {
    position[current] = static_cast<int>(path.size());
    path.push_back(current);
    int next = -1;
    for (int input : operators[current].inputs) {
      const int producer = tensors[input].producer;
      if (producer >= 0 && blocked[producer]) {
        next = producer;
        break;
      }
    }
    current = next;
  }
  // path[position[current]..] walks backwards along the edges; print forwards.
  std::vector<std::string> names;
  for (int i = static_cast<int>(path.size()) - 1; i >= position[current]; --i) {
    names.push_back(absl::StrCat("'", operators[path[i]].name, "'"));
  }
  names.push_back(names.front());
  return absl::StrJoin(names, " -> ");
}

}  // namespace

absl::StatusOr<Graph> Graph::Create(const GraphSpec& spec) {
  Graph graph;
  if (spec.operators.empty()) return absl::InvalidArgumentError("the graph has no operators");
  std::unordered_map<std::string, int> tensor_index;
  for (const TensorSpec& tensor : spec.tensors) {
    if (tensor.name.empty()) return absl::InvalidArgumentError("a tensor has an empty name");
    if (tensor.size_bytes <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", tensor.name, "' has size_bytes ", tensor.size_bytes, "; must be > 0"));
    }
    if (!tensor_index.emplace(tensor.name, graph.num_tensors()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", tensor.name, "' is declared twice"));
    }
    graph.tensors_.push_back(Tensor{tensor.name, tensor.size_bytes});
  }
  std::unordered_set<std::string> constants;
  for (const std::string& name : spec.constants) {
    if (tensor_index.count(name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", name, "' is declared both as a tensor and as a constant"));
    }
    constants.insert(name);
  }
  auto find_tensor = [&](const std::string& name, absl::string_view role) -> absl::StatusOr<int> {
    auto it = tensor_index.find(name);
    if (it == tensor_index.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat(role, " '", name, "' is not a declared tensor"));
    }
    return it->second;
  };
  for (const std::string& name : spec.inputs) {
    absl::StatusOr<int> index = find_tensor(name, "graph input");
    if (!index.ok()) return index.status();
    graph.tensors_[*index].is_graph_input = true;
  }
  for (const std::string& name : spec.outputs) {
    absl::StatusOr<int> index = find_tensor(name, "graph output");
    if (!index.ok()) return index.status();
    graph.tensors_[*index].is_graph_output = true;
  }

  std::unordered_set<std::string> operator_names;
  for (const OperatorSpec& op_spec : spec.operators) {
    const int op_index = graph.num_operators();
    if (op_spec.name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator number ", op_index, " has an empty name"));
    }
    if (!operator_names.insert(op_spec.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("operator '", op_spec.name, "' is declared twice"));
    }
    Operator op{op_spec.name, op_spec.type, {}, {}, op_spec.in_place_capable};
    for (const std::string& input : op_spec.inputs) {
      if (constants.count(input) > 0) continue;
      auto it = tensor_index.find(input);
      if (it == tensor_index.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "operator '", op_spec.name, "' reads '", input,
            "', which is not a declared tensor, a graph input or a constant (dangling input)"));
      }
      if (std::find(op.inputs.begin(), op.inputs.end(), it->second) == op.inputs.end()) {
        op.inputs.push_back(it->second);
      }
    }
    for (const std::string& output : op_spec.outputs) {
      auto it = tensor_index.find(output);
      if (it == tensor_index.end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "operator '", op_spec.name, "' writes '", output, "', which is not a declared tensor"));
      }
      Tensor& tensor = graph.tensors_[it->second];
      if (tensor.is_graph_input) {
        return absl::InvalidArgumentError(absl::StrCat(
            "operator '", op_spec.name, "' writes graph input '", output, "'"));
      }
      if (tensor.producer >= 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("tensor '", output, "' is written by both '",
                         graph.operators_[tensor.producer].name, "' and '", op_spec.name, "'"));
      }
      tensor.producer = op_index;
      op.outputs.push_back(it->second);
    }
    graph.operators_.push_back(std::move(op));
  }
  for (const Tensor& tensor : graph.tensors_) {
    if (!tensor.is_graph_input && tensor.producer < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", tensor.name,
                       "' is neither a graph input nor written by any operator (dangling)"));
    }
  }
  for (int op = 0; op < graph.num_operators(); ++op) {
    for (int input : graph.operators_[op].inputs) graph.tensors_[input].consumers.push_back(op);
  }

  // Kahn's algorithm: operators never released lie on or behind a cycle.
  std::vector<int> pending_inputs(graph.operators_.size(), 0);
  std::vector<int> ready;
  for (int op = 0; op < graph.num_operators(); ++op) {
    for (int input : graph.operators_[op].inputs) {
      if (graph.tensors_[input].producer >= 0) ++pending_inputs[op];
    }
    if (pending_inputs[op] == 0) ready.push_back(op);
  }
  std::vector<bool> blocked(graph.operators_.size(), true);
  while (!ready.empty()) {
    const int op = ready.back();
    ready.pop_back();
    blocked[op] = false;
    for (int output : graph.operators_[op].outputs) {
      for (int consumer : graph.tensors_[output].consumers) {
        if (--pending_inputs[consumer] == 0) ready.push_back(consumer);
      }
    }
  }
  if (std::find(blocked.begin(), blocked.end(), true) != blocked.end()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the graph has a cycle: ", DescribeCycle(graph.tensors_, graph.operators_, blocked)));
  }
  for (int op = 0; op < graph.num_operators(); ++op) {
    for (int input : graph.operators_[op].inputs) {
      const int producer = graph.tensors_[input].producer;
      if (producer > op) {
        return absl::InvalidArgumentError(absl::StrCat(
            "operator '", graph.operators_[op].name, "' reads '", graph.tensors_[input].name,
            "' before its producer '", graph.operators_[producer].name,
            "' runs; list operators in a topological order"));
      }
    }
  }
  return graph;
}

std::vector<int> Graph::FileOrder() const {
  std::vector<int> order(operators_.size());
  for (int i = 0; i < num_operators(); ++i) order[i] = i;
  return order;
}

}  // namespace edgecompress::memplan
