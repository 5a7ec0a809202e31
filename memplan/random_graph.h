// Seeded random dataflow graphs for property tests (test-only).
//
// `num_operators` operators in a topological file order. There are 1-2 graph
// inputs; operator i reads 1-3 distinct tensors drawn uniformly from the
// graph inputs and the outputs of operators before it (so graphs branch and
// join freely), sometimes also a constant, and writes 1 or, one time in four,
// 2 tensors. Sizes are uniform in [1, max_size_bytes]. Graph outputs are the
// tensors nobody reads plus, sometimes, one more.
#ifndef EDGECOMPRESS_MEMPLAN_RANDOM_GRAPH_H_
#define EDGECOMPRESS_MEMPLAN_RANDOM_GRAPH_H_

#include <cstdint>
#include <random>

#include "memplan/graph.h"

namespace edgecompress::memplan {

Graph RandomGraph(int num_operators, int64_t max_size_bytes, std::mt19937& rng);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_RANDOM_GRAPH_H_
