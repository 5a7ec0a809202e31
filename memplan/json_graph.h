// memplan's JSON graph format, for tests and for graphs from frameworks
// without ONNX export. Sizes are bytes; everything else is names.
//
//   {
//     "tensors":   [{"name": "x", "size_bytes": 3072}, {"name": "a", "size_bytes": 8192}, ...],
//     "operators": [{"name": "conv1", "type": "Conv", "inputs": ["x", "w1"],
//                    "outputs": ["a"], "in_place_capable": false}, ...],
//     "inputs":    ["x"],       // graph inputs, live from the first step
//     "outputs":   ["logits"],  // graph outputs, live to the last step
//     "constants": ["w1"]       // weights: may be read, never planned
//   }
//
// "tensors" and "operators" are required, the other three lists default to
// empty; per operator "type" (default "") and "in_place_capable" (default
// false) are optional. Operators are listed in a topological order, which is
// the default schedule. Unknown keys are errors (a misspelt "output" must not
// silently drop the graph outputs). Graph::Create checks the graph itself.
#ifndef EDGECOMPRESS_MEMPLAN_JSON_GRAPH_H_
#define EDGECOMPRESS_MEMPLAN_JSON_GRAPH_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "memplan/graph.h"

namespace edgecompress::memplan {

// Errors start with `source` (the file name): kDataLoss for text that is not
// JSON (with the byte offset), kInvalidArgument for a missing or unknown key
// or a value of the wrong type (with its JSON path, e.g. /operators/3/inputs).
absl::StatusOr<GraphSpec> ParseJsonGraph(absl::string_view text, absl::string_view source);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_JSON_GRAPH_H_
