// The operator order with the smallest peak memory, after Liberis & Lane,
// "Neural networks on microcontrollers: saving memory at inference via
// operator reordering" (arXiv:1910.05110, 2019).
//
// Algorithm:
//   1. A state is the set of operators already run (a bitset; any set closed
//      under predecessors). The bytes live in a state are the same whatever
//      order produced it: graph inputs and outputs produced so far, plus
//      tensors with a consumer still to run (lifetimes.h).
//   2. Running a ready operator v from state S costs live(S) + outputs(v)
//      bytes at that step; the best peak from S is
//        best(S) = min over ready v of max(live(S) + outputs(v), best(S + v)),
//      memoised on the bitset (dynamic programming over the lattice of
//      executed sets). A candidate whose own step already reaches the best
//      peak found for S is skipped: it cannot win.
//   3. Ties go to the operator listed first in the file.
// Exact whenever the search visits at most `max_states` distinct states. The
// count is the number of downward-closed operator sets: about one per
// operator for chains with short branches (PyTorch's ResNet-18: 84 states for
// 69 operators, MobileNetV2: 100 for 100), (L + 1)^B for B parallel chains
// of L operators (30 operators as 3 x 10: 1331; as 10 x 3: about a million).
//
// Fallback above the budget: a greedy order (at each step the ready operator
// with the smallest step memory, then the smallest live memory after it,
// then file order), or the file order if that is no better. `exact` says
// which was returned; `method` says it in words for the output.
//
// Cost: O(states x ready operators x operator degree) time, O(states x
// operators / 8) bytes of memo.
#ifndef EDGECOMPRESS_MEMPLAN_REORDER_H_
#define EDGECOMPRESS_MEMPLAN_REORDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "memplan/graph.h"

namespace edgecompress::memplan {

struct ReorderOptions {
  int64_t max_states = 1'000'000;  // memoised states before falling back; >= 1
};

struct Reordering {
  std::vector<int> order;  // operator indices
  int64_t peak_bytes = 0;
  bool exact = false;
  int64_t states_visited = 0;
  std::string method;  // e.g. "exact (412 states)" or "greedy: exact search stopped at ..."
};

// kInvalidArgument when options.max_states < 1.
absl::StatusOr<Reordering> FindMinimumPeakOrder(const Graph& graph,
                                                const ReorderOptions& options = {});

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_REORDER_H_
