// Fused-tile partitioning of a model's first layers (DeepThings, Zhao,
// Mirzazad Barijough and Gerstlauer, IEEE TCAD 2018, Sec. III-A): the output
// of the last fused layer is cut into a grid of tiles, and each tile's input
// region is found by walking backwards through the fused layers, so that a
// device holding only that region computes its tile exactly, with no
// exchange between tiles.
//
// Per spatial layer l (a convolution or pooling window: kernel k, stride s,
// dilation d, padding p_begin at the start of each axis), an output range
// [o0, o1) along one axis reads the input range
//
//   [o0 * s - p_begin,  (o1 - 1) * s - p_begin + d * (k - 1) + 1)
//
// (DeepThings' Eq. 1 with explicit padding). The part of that range outside
// the input, [0, size), is the tile's own padding on that side: a tile at the
// border of the image pads as the layer does, an inner tile not at all, and
// neighbouring tiles overlap by the window's reach (the redundant work
// DeepThings trades for independence). Pointwise layers (activations,
// BatchNorm) keep ranges unchanged.
//
// Tiles: the last fused layer's output, rows x cols, is cut at
// floor(i * size / parts) along each axis, as DeepThings' even grid; every
// tile is non-empty, so parts may not exceed the size.
//
// Cost: O(layers) per tile.
#ifndef EDGECOMPRESS_PARTITION_TILING_H_
#define EDGECOMPRESS_PARTITION_TILING_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress::partition {

// One fused layer along both spatial axes (index 0: height, 1: width).
struct SpatialLayer {
  std::array<int64_t, 2> kernel = {1, 1}, stride = {1, 1}, dilation = {1, 1};
  std::array<int64_t, 2> pad_begin = {0, 0}, pad_end = {0, 0};
  std::array<int64_t, 2> input_size = {1, 1};  // the layer's input, before padding
  std::array<int64_t, 2> output_size = {1, 1};
};

// A half-open range [begin, end) along one axis.
struct Range {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool operator==(const Range& other) const {
    return begin == other.begin && end == other.end;
  }
};

// What one tile computes at one layer, per axis.
struct TileLayer {
  std::array<Range, 2> input;   // read from the layer's input, inside [0, input_size)
  std::array<Range, 2> output;  // written to the layer's output
  std::array<int64_t, 2> pad_begin = {0, 0}, pad_end = {0, 0};  // this tile's padding
};

struct Tile {
  int row = 0, col = 0;
  std::vector<TileLayer> layers;  // in layer order; layers.front().input is what it reads
};

struct TilePlan {
  int rows = 1, cols = 1;
  std::vector<Tile> tiles;  // row-major
};

// The tiles of `layers` (in order; each layer's input_size is the previous
// one's output_size) cut rows x cols at the last layer's output.
// kInvalidArgument for no layers, sizes that do not chain, a kernel, stride
// or dilation below 1, negative padding, an output size that the window
// arithmetic does not give, or a grid finer than the output.
absl::StatusOr<TilePlan> PlanTiles(absl::Span<const SpatialLayer> layers, int rows, int cols);

// "RxC" (e.g. "3x3") as rows and cols, both at least 1; kInvalidArgument
// naming the text otherwise.
absl::StatusOr<std::pair<int, int>> ParseGrid(absl::string_view text);

// The tile's input region of `input`, an NCHW tensor of `shape` (H and W
// the first layer's input size): [N, C, rows, cols] of the region, in order.
std::vector<float> CropTileInput(absl::Span<const float> input, const std::array<int64_t, 4>& shape,
                                 const Tile& tile);

// Writes `tile_output` ([N, C, rows, cols] of the tile's region of the last
// layer's output) into `output`, the whole NCHW output of `shape`.
void PlaceTileOutput(absl::Span<const float> tile_output, const Tile& tile,
                     const std::array<int64_t, 4>& shape, absl::Span<float> output);

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_TILING_H_
