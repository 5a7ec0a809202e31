#include "partition/tiling.h"

#include <algorithm>
#include <cassert>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace edgecompress::partition {
namespace {

absl::Status CheckLayer(const SpatialLayer& layer, size_t index) {
  for (int axis = 0; axis < 2; ++axis) {
    const std::string what = absl::StrCat("layer ", index, " axis ", axis, ": ");
    if (layer.kernel[axis] < 1 || layer.stride[axis] < 1 || layer.dilation[axis] < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, "kernel, stride and dilation must be at least 1"));
    }
    if (layer.pad_begin[axis] < 0 || layer.pad_end[axis] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(what, "negative padding"));
    }
    const int64_t reach = layer.dilation[axis] * (layer.kernel[axis] - 1) + 1;
    const int64_t padded = layer.input_size[axis] + layer.pad_begin[axis] + layer.pad_end[axis];
    // Floor division: the ONNX output size without ceil_mode. A window that
    // ceil_mode adds reads past the end padding; its tile pads it the same way.
    const int64_t floor_size = padded >= reach ? (padded - reach) / layer.stride[axis] + 1 : 0;
    if (layer.output_size[axis] < 1 || layer.output_size[axis] < floor_size ||
        layer.output_size[axis] > floor_size + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, "output size ", layer.output_size[axis], " does not follow from input ",
          layer.input_size[axis], ", padding ", layer.pad_begin[axis], "+", layer.pad_end[axis],
          ", kernel ", layer.kernel[axis], ", stride ", layer.stride[axis]));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TilePlan> PlanTiles(absl::Span<const SpatialLayer> layers, int rows, int cols) {
  if (layers.empty()) return absl::InvalidArgumentError("no layers to tile");
  for (size_t i = 0; i < layers.size(); ++i) {
    if (absl::Status s = CheckLayer(layers[i], i); !s.ok()) return s;
    if (i > 0 && layers[i].input_size != layers[i - 1].output_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer ", i, "'s input size is not layer ", i - 1, "'s output size"));
    }
  }
  const std::array<int64_t, 2> out = layers.back().output_size;
  const std::array<int, 2> parts = {rows, cols};
  for (int axis = 0; axis < 2; ++axis) {
    if (parts[axis] < 1 || parts[axis] > out[axis]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a ", rows, "x", cols, " grid does not fit the ", out[0], "x", out[1],
          " output of the last fused layer"));
    }
  }
  TilePlan plan{.rows = rows, .cols = cols};
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      Tile tile{.row = r, .col = c, .layers = std::vector<TileLayer>(layers.size())};
      const std::array<int, 2> index = {r, c};
      std::array<Range, 2> output;
      for (int axis = 0; axis < 2; ++axis) {
        output[axis] = {index[axis] * out[axis] / parts[axis],
                        (index[axis] + 1) * out[axis] / parts[axis]};
      }
      for (size_t l = layers.size(); l-- > 0;) {
        const SpatialLayer& layer = layers[l];
        TileLayer& t = tile.layers[l];
        t.output = output;
        for (int axis = 0; axis < 2; ++axis) {
          const int64_t reach = layer.dilation[axis] * (layer.kernel[axis] - 1) + 1;
          const int64_t begin = output[axis].begin * layer.stride[axis] - layer.pad_begin[axis];
          const int64_t end =
              (output[axis].end - 1) * layer.stride[axis] - layer.pad_begin[axis] + reach;
          t.input[axis] = {std::max<int64_t>(begin, 0),
                           std::min<int64_t>(end, layer.input_size[axis])};
          t.pad_begin[axis] = t.input[axis].begin - begin;
          t.pad_end[axis] = end - t.input[axis].end;
          if (t.input[axis].size() < 1) {
            return absl::InvalidArgumentError(absl::StrCat(
                "layer ", l, ": tile ", r, ",", c, " reads only padding along axis ", axis));
          }
        }
        output = t.input;
      }
      plan.tiles.push_back(std::move(tile));
    }
  }
  return plan;
}

absl::StatusOr<std::pair<int, int>> ParseGrid(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, 'x');
  int rows = 0, cols = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &rows) ||
      !absl::SimpleAtoi(parts[1], &cols) || rows < 1 || cols < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", text, "' is not RxC (a grid of rows x cols)"));
  }
  return std::make_pair(rows, cols);
}

std::vector<float> CropTileInput(absl::Span<const float> input, const std::array<int64_t, 4>& shape,
                                 const Tile& tile) {
  const std::array<Range, 2>& region = tile.layers.front().input;
  assert(static_cast<int64_t>(input.size()) == shape[0] * shape[1] * shape[2] * shape[3]);
  std::vector<float> crop;
  crop.reserve(shape[0] * shape[1] * region[0].size() * region[1].size());
  for (int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
    for (int64_t y = region[0].begin; y < region[0].end; ++y) {
      const float* row = input.data() + (plane * shape[2] + y) * shape[3];
      crop.insert(crop.end(), row + region[1].begin, row + region[1].end);
    }
  }
  return crop;
}

void PlaceTileOutput(absl::Span<const float> tile_output, const Tile& tile,
                     const std::array<int64_t, 4>& shape, absl::Span<float> output) {
  const std::array<Range, 2>& region = tile.layers.back().output;
  assert(static_cast<int64_t>(tile_output.size()) ==
         shape[0] * shape[1] * region[0].size() * region[1].size());
  assert(static_cast<int64_t>(output.size()) == shape[0] * shape[1] * shape[2] * shape[3]);
  const float* from = tile_output.data();
  for (int64_t plane = 0; plane < shape[0] * shape[1]; ++plane) {
    for (int64_t y = region[0].begin; y < region[0].end; ++y) {
      float* row = output.data() + (plane * shape[2] + y) * shape[3];
      std::copy(from, from + region[1].size(), row + region[1].begin);
      from += region[1].size();
    }
  }
}

}  // namespace edgecompress::partition
