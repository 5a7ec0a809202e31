#include "memplan/random_graph.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace edgecompress::memplan {

Graph RandomGraph(int num_operators, int64_t max_size_bytes, std::mt19937& rng) {
  auto uniform = [&](int64_t low, int64_t high) {
    return std::uniform_int_distribution<int64_t>(low, high)(rng);
  };
  GraphSpec spec;
  std::vector<std::string> available;
  std::vector<int> reads;
  auto add_tensor = [&](std::string name) {
    spec.tensors.push_back({name, uniform(1, max_size_bytes)});
    available.push_back(name);
    reads.push_back(0);
  };
  const int num_inputs = static_cast<int>(uniform(1, 2));
  for (int i = 0; i < num_inputs; ++i) {
    add_tensor(absl::StrCat("in", i));
    spec.inputs.push_back(available.back());
  }
  spec.constants.push_back("weights");
  for (int op = 0; op < num_operators; ++op) {
    OperatorSpec op_spec;
    op_spec.name = absl::StrCat("op", op);
    const int num_reads = static_cast<int>(
        std::min<int64_t>(uniform(1, 3), static_cast<int64_t>(available.size())));
    std::vector<int> picks;
    while (static_cast<int>(picks.size()) < num_reads) {
      const int pick = static_cast<int>(uniform(0, static_cast<int64_t>(available.size()) - 1));
      if (std::find(picks.begin(), picks.end(), pick) == picks.end()) picks.push_back(pick);
    }
    for (int pick : picks) {
      op_spec.inputs.push_back(available[pick]);
      ++reads[pick];
    }
    if (uniform(0, 2) == 0) op_spec.inputs.push_back("weights");
    const int num_writes = uniform(0, 3) == 0 ? 2 : 1;
    for (int w = 0; w < num_writes; ++w) {
      add_tensor(absl::StrCat("t", op, "_", w));
      op_spec.outputs.push_back(available.back());
    }
    spec.operators.push_back(std::move(op_spec));
  }
  for (size_t t = num_inputs; t < available.size(); ++t) {
    if (reads[t] == 0) spec.outputs.push_back(available[t]);
  }
  if (uniform(0, 1) == 0) {
    const std::string& extra = available[uniform(num_inputs, available.size() - 1)];
    if (std::find(spec.outputs.begin(), spec.outputs.end(), extra) == spec.outputs.end()) {
      spec.outputs.push_back(extra);
    }
  }
  absl::StatusOr<Graph> graph = Graph::Create(spec);
  assert(graph.ok());
  return *std::move(graph);
}

}  // namespace edgecompress::memplan
