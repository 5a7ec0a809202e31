// What each device of a fused-tile partitioning holds (DeepThings' point:
// a device keeps only its tile's activations): per tile, the activation
// arena memplan plans for the tile model (memplan/, greedy by size, in the
// model's order; graph input and output included) and the weights of the
// fused layers, which every device holds whole.
#ifndef EDGECOMPRESS_PARTITION_TILE_MEMORY_H_
#define EDGECOMPRESS_PARTITION_TILE_MEMORY_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "partition/tile_models.h"
#include "partition/tiling.h"

namespace edgecompress::partition {

struct DeviceMemory {
  int tile = 0;
  int64_t arena_bytes = 0;   // activations, input and output of the tile
  int64_t weight_bytes = 0;  // initializers of the tile model
  int64_t total_bytes() const { return arena_bytes + weight_bytes; }
};

// One entry per tile of `plan`; errors as memplan gives them for the model.
absl::StatusOr<std::vector<DeviceMemory>> TileMemory(const FusedPrefix& prefix,
                                                     const TilePlan& plan);

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_TILE_MEMORY_H_
