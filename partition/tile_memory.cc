#include "partition/tile_memory.h"

#include <utility>

#include "memplan/graph.h"
#include "memplan/greedy_by_size_planner.h"
#include "memplan/memory_plan.h"
#include "memplan/onnx_graph.h"
#include "tools/status/status_macros.h"

namespace edgecompress::partition {

absl::StatusOr<std::vector<DeviceMemory>> TileMemory(const FusedPrefix& prefix,
                                                     const TilePlan& plan) {
  const memplan::GreedyBySizePlanner planner;
  const memplan::ArenaPlanner* planners[] = {&planner};
  std::vector<DeviceMemory> devices;
  for (size_t t = 0; t < plan.tiles.size(); ++t) {
    onnx::ModelProto model = TileModel(prefix, plan.tiles[t]);
    DeviceMemory device{.tile = static_cast<int>(t)};
    for (const onnx::TensorProto& tensor : model.graph().initializer()) {
      int64_t elements = 1;
      for (int64_t d : tensor.dims()) elements *= d;
      device.weight_bytes += 4 * elements;  // FLOAT: tile models hold fp32 weights
    }
    ASSIGN_OR_RETURN(const memplan::GraphSpec spec,
                     memplan::GraphSpecFromOnnx(std::move(model), {.batch = prefix.input_shape[0]}));
    ASSIGN_OR_RETURN(const memplan::Graph graph, memplan::Graph::Create(spec));
    ASSIGN_OR_RETURN(const memplan::SchedulePlan schedule,
                     memplan::PlanSchedule(graph, "tile", "file order", graph.FileOrder(), planners));
    device.arena_bytes = schedule.arenas[schedule.best_arena].arena_bytes;
    devices.push_back(device);
  }
  return devices;
}

}  // namespace edgecompress::partition
