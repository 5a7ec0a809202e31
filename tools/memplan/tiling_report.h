// memplan --tiles: each device's memory when a model's first layers run as
// fused tiles (partition/tile_memory.h), beside one device holding the whole
// fused prefix, as a table and JSON.
#ifndef EDGECOMPRESS_TOOLS_MEMPLAN_TILING_REPORT_H_
#define EDGECOMPRESS_TOOLS_MEMPLAN_TILING_REPORT_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace edgecompress::memplan_tool {

struct TilingReport {
  nlohmann::json json;  // {"fused_layers", "grid", "cut_shape", "whole_prefix_bytes",
                        //  "max_device_bytes", "devices": [...]}
  std::string table;
};

// Errors as partition/ gives them for the model and the grid.
absl::StatusOr<TilingReport> ReportTiling(const onnx::ModelProto& model, int fused_layers,
                                          int rows, int cols, int64_t batch);

}  // namespace edgecompress::memplan_tool

#endif  // EDGECOMPRESS_TOOLS_MEMPLAN_TILING_REPORT_H_
