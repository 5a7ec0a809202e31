// The dataflow graph memplan plans: activation tensors with sizes in bytes,
// and operators that read and write them, in the order the file lists them.
//
// A GraphSpec names everything by string, as a parser fills it (json_graph.h,
// onnx_graph.h); Graph::Create validates it once and resolves names to
// indices, so that everything downstream (lifetimes, reordering, arena
// planning) works on a graph that cannot be wrong:
//   - tensor and operator names are unique, every size_bytes > 0;
//   - each tensor is either a graph input or written by exactly one operator;
//   - every operator input is a declared tensor, a graph input or a constant
//     (weights and constants are named in `constants` and take no arena
//     memory: they live in flash or in a separate weights buffer);
//   - graph outputs are declared tensors;
//   - there is no cycle, and the file order is a topological order (ONNX
//     requires it; the default schedule is the file order).
// Errors are kInvalidArgument with the offending tensor or operator named.
// An operator reading one tensor twice (Add(x, x)) counts it once.
//
// `in_place_capable` marks operators whose output could share its first
// input's memory (elementwise ops such as Relu or Add of equal-sized tensors).
// It is reported, never assumed: planning gives every tensor its own bytes,
// because whether an in-place kernel exists depends on the runtime.
//
// Cost: Create is O(tensors + operator edges) with hash maps of names.
#ifndef EDGECOMPRESS_MEMPLAN_GRAPH_H_
#define EDGECOMPRESS_MEMPLAN_GRAPH_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace edgecompress::memplan {

struct TensorSpec {
  std::string name;
  int64_t size_bytes = 0;
};

struct OperatorSpec {
  std::string name;
  std::string type;  // e.g. "Conv"; informational
  std::vector<std::string> inputs;   // tensor or constant names
  std::vector<std::string> outputs;  // tensor names
  bool in_place_capable = false;
};

struct GraphSpec {
  std::vector<TensorSpec> tensors;      // activations, graph inputs and outputs
  std::vector<OperatorSpec> operators;  // in file order (the default schedule)
  std::vector<std::string> inputs;      // graph inputs: live from the first step
  std::vector<std::string> outputs;     // graph outputs: live to the last step
  std::vector<std::string> constants;   // weights: readable, never planned
};

struct Tensor {
  std::string name;
  int64_t size_bytes = 0;
  int producer = -1;           // operator index; -1 for a graph input
  std::vector<int> consumers;  // operator indices, ascending, no repeats
  bool is_graph_input = false;
  bool is_graph_output = false;
};

struct Operator {
  std::string name;
  std::string type;
  std::vector<int> inputs;   // tensor indices, no repeats, constants dropped
  std::vector<int> outputs;  // tensor indices
  bool in_place_capable = false;
};

class Graph {
 public:
  static absl::StatusOr<Graph> Create(const GraphSpec& spec);

  const std::vector<Tensor>& tensors() const { return tensors_; }
  const std::vector<Operator>& operators() const { return operators_; }
  int num_tensors() const { return static_cast<int>(tensors_.size()); }
  int num_operators() const { return static_cast<int>(operators_.size()); }
  // Operator indices 0..n-1: the order the file lists them.
  std::vector<int> FileOrder() const;

 private:
  std::vector<Tensor> tensors_;
  std::vector<Operator> operators_;
};

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_GRAPH_H_
