#include "partition/tiling.h"

#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::partition {
namespace {

using ::testing::HasSubstr;

SpatialLayer Square(int64_t size, int64_t kernel, int64_t stride, int64_t pad) {
  SpatialLayer layer;
  const int64_t out = (size + 2 * pad - kernel) / stride + 1;
  layer.kernel = {kernel, kernel};
  layer.stride = {stride, stride};
  layer.pad_begin = layer.pad_end = {pad, pad};
  layer.input_size = {size, size};
  layer.output_size = {out, out};
  return layer;
}

// A 3x3 "same" convolution on 8x8 in a 2x2 grid: each 4x4 output tile reads
// one row and column of its neighbours' input, and pads where the image ends.
TEST(TilingTest, SameConvolutionByHand) {
  absl::StatusOr<TilePlan> plan = PlanTiles({Square(8, 3, 1, 1)}, 2, 2);
  ASSERT_THAT(plan, IsOk());
  ASSERT_EQ(plan->tiles.size(), 4u);
  const TileLayer& top_left = plan->tiles[0].layers[0];
  EXPECT_EQ(top_left.output[0], (Range{0, 4}));
  EXPECT_EQ(top_left.input[0], (Range{0, 5}));
  EXPECT_EQ(top_left.pad_begin[0], 1);
  EXPECT_EQ(top_left.pad_end[0], 0);
  const TileLayer& bottom_right = plan->tiles[3].layers[0];
  EXPECT_EQ(bottom_right.output[1], (Range{4, 8}));
  EXPECT_EQ(bottom_right.input[1], (Range{3, 8}));
  EXPECT_EQ(bottom_right.pad_begin[1], 0);
  EXPECT_EQ(bottom_right.pad_end[1], 1);
}

// DeepThings' example shape: conv 3x3 then 2x2 max pool, 16x16 to 8x8, in a
// 3x3 grid cut at floor(8 i / 3) = 0, 2, 5, 8. The middle tile's pool output
// [2, 5) reads conv outputs [4, 10), which read inputs [3, 11).
TEST(TilingTest, ConvThenPoolInAThreeByThreeGrid) {
  absl::StatusOr<TilePlan> plan = PlanTiles({Square(16, 3, 1, 1), Square(16, 2, 2, 0)}, 3, 3);
  ASSERT_THAT(plan, IsOk());
  const Tile& middle = plan->tiles[4];
  EXPECT_EQ(middle.row, 1);
  EXPECT_EQ(middle.col, 1);
  EXPECT_EQ(middle.layers[1].output[0], (Range{2, 5}));
  EXPECT_EQ(middle.layers[1].input[0], (Range{4, 10}));
  EXPECT_EQ(middle.layers[0].output[0], (Range{4, 10}));
  EXPECT_EQ(middle.layers[0].input[0], (Range{3, 11}));
  EXPECT_EQ(middle.layers[0].pad_begin[0], 0);
  EXPECT_EQ(plan->tiles[8].layers[1].output[1], (Range{5, 8}));
}

// Random chains: every tile's window arithmetic closes (what it reads plus
// its padding is exactly what its outputs need), each layer reads what the
// layer before wrote, tile padding never exceeds the layer's, and the tiles
// cover the last output exactly once.
TEST(TilingTest, RandomChainsCloseAndCover) {
  std::mt19937 random(7);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<SpatialLayer> layers;
    int64_t size = 24 + random() % 40;
    const int depth = 1 + random() % 4;
    for (int l = 0; l < depth; ++l) {
      const int64_t kernel = 1 + random() % 5, stride = 1 + random() % 2;
      const int64_t pad = random() % kernel;
      if (size + 2 * pad < kernel) break;
      layers.push_back(Square(size, kernel, stride, pad));
      layers.back().dilation = {1, 1};
      size = layers.back().output_size[0];
    }
    const int rows = 1 + random() % std::min<int64_t>(4, size);
    const int cols = 1 + random() % std::min<int64_t>(4, size);
    absl::StatusOr<TilePlan> plan = PlanTiles(layers, rows, cols);
    ASSERT_THAT(plan, IsOk()) << trial;
    std::vector<int> covered(size * size, 0);
    for (const Tile& tile : plan->tiles) {
      for (size_t l = 0; l < layers.size(); ++l) {
        const TileLayer& t = tile.layers[l];
        for (int axis = 0; axis < 2; ++axis) {
          const int64_t reach = layers[l].kernel[axis];
          EXPECT_EQ(t.input[axis].size() + t.pad_begin[axis] + t.pad_end[axis],
                    (t.output[axis].size() - 1) * layers[l].stride[axis] + reach);
          EXPECT_LE(t.pad_begin[axis], layers[l].pad_begin[axis]);
          EXPECT_LE(t.pad_end[axis], layers[l].pad_end[axis]);
          EXPECT_GE(t.input[axis].begin, 0);
          EXPECT_LE(t.input[axis].end, layers[l].input_size[axis]);
          if (l > 0) EXPECT_EQ(tile.layers[l - 1].output[axis], t.input[axis]);
        }
      }
      const TileLayer& last = tile.layers.back();
      for (int64_t y = last.output[0].begin; y < last.output[0].end; ++y) {
        for (int64_t x = last.output[1].begin; x < last.output[1].end; ++x) ++covered[y * size + x];
      }
    }
    for (int count : covered) ASSERT_EQ(count, 1) << trial;
  }
}

TEST(TilingTest, ParsesGrids) {
  EXPECT_EQ(*ParseGrid("2x3"), std::make_pair(2, 3));
  EXPECT_THAT(ParseGrid("2by3").status().message(), HasSubstr("'2by3' is not RxC"));
  EXPECT_THAT(ParseGrid("0x1").status().message(), HasSubstr("'0x1' is not RxC"));
  EXPECT_THAT(ParseGrid("2x3x4").status().message(), HasSubstr("is not RxC"));
}

TEST(TilingTest, RejectsBadChainsAndGrids) {
  EXPECT_THAT(PlanTiles({}, 1, 1).status().message(), HasSubstr("no layers"));
  EXPECT_THAT(PlanTiles({Square(8, 3, 1, 1)}, 9, 1).status().message(),
              HasSubstr("does not fit the 8x8 output"));
  EXPECT_THAT(PlanTiles({Square(8, 3, 1, 1), Square(6, 3, 1, 1)}, 1, 1).status().message(),
              HasSubstr("input size is not layer 0's output size"));
  SpatialLayer wrong = Square(8, 3, 1, 1);
  wrong.output_size = {5, 8};
  EXPECT_THAT(PlanTiles({wrong}, 1, 1).status().message(), HasSubstr("output size 5"));
  SpatialLayer zero = Square(8, 3, 1, 1);
  zero.stride = {0, 1};
  EXPECT_THAT(PlanTiles({zero}, 1, 1).status().message(), HasSubstr("at least 1"));
}

}  // namespace
}  // namespace edgecompress::partition
