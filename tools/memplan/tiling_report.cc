#include "tools/memplan/tiling_report.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "partition/tile_memory.h"
#include "partition/tile_models.h"
#include "partition/tiling.h"
#include "tools/status/status_macros.h"

namespace edgecompress::memplan_tool {

absl::StatusOr<TilingReport> ReportTiling(const onnx::ModelProto& model, int fused_layers,
                                          int rows, int cols, int64_t batch) {
  ASSIGN_OR_RETURN(const partition::FusedPrefix prefix,
                   partition::FindFusedPrefix(model, fused_layers, batch));
  ASSIGN_OR_RETURN(const partition::TilePlan whole, partition::PlanTiles(prefix.layers, 1, 1));
  ASSIGN_OR_RETURN(const partition::TilePlan plan, partition::PlanTiles(prefix.layers, rows, cols));
  ASSIGN_OR_RETURN(const std::vector<partition::DeviceMemory> one,
                   partition::TileMemory(prefix, whole));
  ASSIGN_OR_RETURN(const std::vector<partition::DeviceMemory> devices,
                   partition::TileMemory(prefix, plan));
  const int64_t whole_bytes = one.front().total_bytes();
  TilingReport report;
  report.table = absl::StrFormat(
      "fused tiles: first %d layers, %dx%d grid, cut %dx%dx%d; one device with the whole "
      "prefix: %d bytes\n%-6s %9s %9s %12s %12s %12s\n",
      fused_layers, rows, cols, prefix.cut_shape[1], prefix.cut_shape[2], prefix.cut_shape[3],
      whole_bytes, "tile", "input", "output", "arena", "weights", "total");
  nlohmann::json json_devices = nlohmann::json::array();
  int64_t max_bytes = 0;
  for (const partition::DeviceMemory& device : devices) {
    const partition::Tile& tile = plan.tiles[device.tile];
    const auto& in = tile.layers.front().input;
    const auto& out = tile.layers.back().output;
    max_bytes = std::max(max_bytes, device.total_bytes());
    absl::StrAppendFormat(&report.table, "%-6s %9s %9s %12d %12d %12d\n",
                          absl::StrCat(tile.row, ",", tile.col),
                          absl::StrCat(in[0].size(), "x", in[1].size()),
                          absl::StrCat(out[0].size(), "x", out[1].size()), device.arena_bytes,
                          device.weight_bytes, device.total_bytes());
    json_devices.push_back({{"tile", device.tile},
                            {"row", tile.row},
                            {"col", tile.col},
                            {"input_rows", in[0].size()},
                            {"input_cols", in[1].size()},
                            {"output_rows", out[0].size()},
                            {"output_cols", out[1].size()},
                            {"arena_bytes", device.arena_bytes},
                            {"weight_bytes", device.weight_bytes},
                            {"total_bytes", device.total_bytes()}});
  }
  absl::StrAppendFormat(&report.table, "largest device %d bytes: %.2fx less than one device\n",
                        max_bytes, static_cast<double>(whole_bytes) / max_bytes);
  report.json = {{"fused_layers", fused_layers},
                 {"grid", absl::StrCat(rows, "x", cols)},
                 {"cut_shape", prefix.cut_shape},
                 {"whole_prefix_bytes", whole_bytes},
                 {"max_device_bytes", max_bytes},
                 {"devices", std::move(json_devices)}};
  return report;
}

}  // namespace edgecompress::memplan_tool
