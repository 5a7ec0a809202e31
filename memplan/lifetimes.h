// Tensor lifetimes and live memory of one schedule (an order of operators).
//
// Step k runs order[k]. A tensor is live over the closed interval
// [first_step, last_step]:
//   - first_step is the step its producer runs, or 0 for a graph input;
//   - last_step is the step its last consumer runs, or the last step for a
//     graph output, or first_step for a tensor nobody reads (its producer
//     still writes it, so it needs memory while that step runs).
// An operator's inputs and outputs are therefore all live while it runs, as
// in Liberis & Lane, "Neural networks on microcontrollers: saving memory at
// inference via operator reordering" (2019), and TFLite's arena planner.
// Constants are not tensors here (graph.h) and take no memory.
//
// live_bytes[k] is the sum of sizes of tensors live at step k; the schedule's
// peak is its maximum, which is also the lower bound on any arena for this
// schedule (at the peak step all those tensors need disjoint bytes).
//
// Cost: O(operators + operator edges).
#ifndef EDGECOMPRESS_MEMPLAN_LIFETIMES_H_
#define EDGECOMPRESS_MEMPLAN_LIFETIMES_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memplan/graph.h"

namespace edgecompress::memplan {

struct TensorLifetime {
  int first_step = 0;
  int last_step = 0;  // inclusive
};

struct ScheduleMemory {
  std::vector<TensorLifetime> lifetimes;  // by tensor index
  std::vector<int64_t> live_bytes;        // by step
  int64_t peak_bytes = 0;
  int peak_step = 0;  // the first step reaching peak_bytes
};

// kInvalidArgument when `order` is not a permutation of the operators or runs
// an operator before one of its inputs' producers (naming both).
absl::StatusOr<ScheduleMemory> ComputeScheduleMemory(const Graph& graph,
                                                     absl::Span<const int> order);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_LIFETIMES_H_
