// The ONNX side of fused-tile partitioning (tiling.h): which first layers of
// a model are fused, the small model each device runs for its tile, and the
// model the gateway runs on the stitched result.
//
// FindFusedPrefix walks from the graph input through a chain of nodes, each
// reading the one before as its only data input and being its only reader:
// Conv and MaxPool (spatial layers, counted) and the pointwise Relu, Clip,
// LeakyRelu, Sigmoid, HardSigmoid, HardSwish and BatchNormalization between
// them. It stops after `fused_layers` spatial layers and the pointwise nodes
// that follow the last one; that value is the cut. Weights and other operands
// are initializers or Constant nodes.
//
// TileModel is the prefix with the tile's input shape and, on every spatial
// node, the tile's own padding (explicit pads, auto_pad NOTSET, ceil_mode 0:
// tiling.h's arithmetic already holds ceil_mode's extra window as end
// padding). Conv pads with zeros and MaxPool ignores padding, as the whole
// model does, so each tile computes its region of the cut exactly.
// RestModel is every node after the prefix, reading the cut as its input.
//
// Not supported (kUnimplemented naming the node): auto_pad SAME_*, a branch
// inside the prefix (a value read twice), AveragePool (its count_include_pad
// divisor changes at tile borders), anything else in the chain.
#ifndef EDGECOMPRESS_PARTITION_TILE_MODELS_H_
#define EDGECOMPRESS_PARTITION_TILE_MODELS_H_

#include <onnx/onnx_pb.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "partition/tiling.h"

namespace edgecompress::partition {

struct FusedPrefix {
  onnx::ModelProto model;         // the whole model, as given
  std::vector<int> nodes;         // graph indices of the chain, in order
  std::vector<int> spatial_nodes;  // graph indices of its Conv and MaxPool, one per layer
  std::vector<SpatialLayer> layers;
  std::string input_name, cut_name;
  std::array<int64_t, 4> input_shape = {}, cut_shape = {};  // NCHW
};

// `batch` replaces the input's first dimension (needed when it is symbolic).
// kInvalidArgument for fused_layers < 1, a model with more spatial layers
// asked than its chain has, or an input that is not NCHW float with known
// C, H and W; kUnimplemented as above.
absl::StatusOr<FusedPrefix> FindFusedPrefix(const onnx::ModelProto& model, int fused_layers,
                                            int64_t batch);

// The model of one tile of PlanTiles(prefix.layers, ...): input
// prefix.input_name [N, C, rows, cols] of the tile's input region, output
// prefix.cut_name of its output region.
onnx::ModelProto TileModel(const FusedPrefix& prefix, const Tile& tile);

// The rest of the model: input prefix.cut_name [N, C, H, W] (the whole cut),
// the original outputs. kUnimplemented when a later node reads a value of
// the prefix other than the cut (a skip connection around it).
absl::StatusOr<onnx::ModelProto> RestModel(const FusedPrefix& prefix);

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_TILE_MODELS_H_
