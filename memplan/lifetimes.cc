#include "memplan/lifetimes.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace edgecompress::memplan {

absl::StatusOr<ScheduleMemory> ComputeScheduleMemory(const Graph& graph,
                                                     absl::Span<const int> order) {
  const int num_steps = graph.num_operators();
  if (static_cast<int>(order.size()) != num_steps) {
    return absl::InvalidArgumentError(absl::StrCat("the order has ", order.size(),
                                                   " operators; the graph has ", num_steps));
  }
  std::vector<int> step_of(num_steps, -1);
  for (int step = 0; step < num_steps; ++step) {
    const int op = order[step];
    if (op < 0 || op >= num_steps || step_of[op] >= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the order is not a permutation of the operators (entry ", step, " is ", op, ")"));
    }
    step_of[op] = step;
  }
  ScheduleMemory memory;
  memory.lifetimes.resize(graph.tensors().size());
  for (int t = 0; t < graph.num_tensors(); ++t) {
    const Tensor& tensor = graph.tensors()[t];
    const int first = tensor.producer < 0 ? 0 : step_of[tensor.producer];
    int last = first;
    for (int consumer : tensor.consumers) {
      if (step_of[consumer] < first) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the order runs '", graph.operators()[consumer].name, "' before '",
            graph.operators()[tensor.producer].name, "', which writes its input '", tensor.name,
            "'"));
      }
      last = std::max(last, step_of[consumer]);
    }
    if (tensor.is_graph_output) last = num_steps - 1;
    memory.lifetimes[t] = {first, last};
  }
  // Difference array: +size at first_step, -size after last_step.
  std::vector<int64_t> delta(num_steps + 1, 0);
  for (int t = 0; t < graph.num_tensors(); ++t) {
    delta[memory.lifetimes[t].first_step] += graph.tensors()[t].size_bytes;
    delta[memory.lifetimes[t].last_step + 1] -= graph.tensors()[t].size_bytes;
  }
  memory.live_bytes.resize(num_steps);
  int64_t live = 0;
  for (int step = 0; step < num_steps; ++step) {
    live += delta[step];
    memory.live_bytes[step] = live;
    if (live > memory.peak_bytes) {
      memory.peak_bytes = live;
      memory.peak_step = step;
    }
  }
  return memory;
}

}  // namespace edgecompress::memplan
