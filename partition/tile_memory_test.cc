#include "partition/tile_memory.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partition/test_models.h"
#include "partition/tile_models.h"
#include "partition/tiling.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::partition {
namespace {

// The stem's first conv and its ReLU6, 3x30x30 -> 8x15x15, one image.
// Whole: the input (10,800 B) and output (7,200 B) live together, 18,000 B
// of arena; weights 8 * 3 * 3 * 3 + 8 = 224 floats and the Clip's 2 bounds.
// In a 3x3 grid the bottom-right tile's 5x5 output (rows 10..14) reads input
// rows 2 * 10 - 1 = 19 .. 2 * 14 - 1 + 2 = 29, 11x11: 1,452 + 800 = 2,252 B
// of arena; every tile holds the whole weights.
TEST(TileMemoryTest, TilesHoldTheirRegionsAndAllWeights) {
  absl::StatusOr<FusedPrefix> prefix = FindFusedPrefix(StemModel(), 1, 1);
  ASSERT_THAT(prefix, IsOk());
  absl::StatusOr<TilePlan> whole = PlanTiles(prefix->layers, 1, 1);
  absl::StatusOr<TilePlan> grid = PlanTiles(prefix->layers, 3, 3);
  ASSERT_THAT(whole, IsOk());
  ASSERT_THAT(grid, IsOk());
  absl::StatusOr<std::vector<DeviceMemory>> one = TileMemory(*prefix, *whole);
  absl::StatusOr<std::vector<DeviceMemory>> nine = TileMemory(*prefix, *grid);
  ASSERT_THAT(one, IsOk());
  ASSERT_THAT(nine, IsOk());
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].arena_bytes, 4 * (3 * 30 * 30 + 8 * 15 * 15));
  EXPECT_EQ((*one)[0].weight_bytes, 4 * (224 + 2));
  ASSERT_EQ(nine->size(), 9u);
  for (const DeviceMemory& device : *nine) EXPECT_EQ(device.weight_bytes, 4 * (224 + 2));
  const TileLayer& last = grid->tiles[8].layers[0];
  EXPECT_EQ(last.input[0], (Range{19, 30}));
  EXPECT_EQ((*nine)[8].arena_bytes, 4 * (3 * 11 * 11 + 8 * 5 * 5));
}

}  // namespace
}  // namespace edgecompress::partition
