// Reads a graph file for memplan: ".onnx" (an ONNX model, sizes by shape
// inference, memplan/onnx_graph.h) or ".json" (memplan/json_graph.h), chosen
// by the file name's extension, then validated (memplan/graph.h).
#ifndef EDGECOMPRESS_TOOLS_MEMPLAN_GRAPH_FILE_H_
#define EDGECOMPRESS_TOOLS_MEMPLAN_GRAPH_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "memplan/graph.h"

namespace edgecompress::memplan {

// Every error is one line starting with `path`: kNotFound when it cannot be
// opened, kDataLoss when it is not JSON or not an ONNX protobuf,
// kInvalidArgument for another extension or an invalid graph.
absl::StatusOr<Graph> LoadGraphFile(const std::string& path, int64_t batch);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_TOOLS_MEMPLAN_GRAPH_FILE_H_
