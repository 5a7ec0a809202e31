// Thinning: physically remove pruned filters, so the model really shrinks.
//
// Distiller's "thinnify" (distiller/thinning.py, remove_filters) for the
// framework-free LayerGraph. Given the filters to keep in some convs:
//   1. each such conv loses its other filters: weight rows (dim 0), bias;
//   2. its output is followed through layers that keep channels apart:
//      BatchNorm (loses the same entries: weight, bias, running mean and
//      variance), ReLU, Clip, max, average and global average pooling;
//   3. where the channels are mixed the walk stops: a conv loses the
//      matching input channels (weight dim 1); a Flatten turns channel c of
//      a [C, H, W] value into features [c * H * W, (c + 1) * H * W), and the
//      Linear after it loses those input features (weight dim 1);
//   4. it refuses (kFailedPrecondition naming the layer) when the channels
//      reach an Add (a residual connection: the other branch would have to
//      lose the same channels), a grouped or depthwise conv (its groups
//      would have to shrink with them), or the model output. Distiller does
//      not thin these without extra care either; in a ResNet, prune the
//      first conv of each block (as the ResNet-56 study does), not the last.
//
// Guarantees: the thinned graph and tensors compute exactly what the
// original computes once the removed channels are zero after their last
// channel-wise layer, which ZeroRemovedChannels arranges (it zeroes the
// removed filters and their BatchNorm scale and shift), provided the
// channel-wise layers map 0 to 0 (ReLU, pooling, Clip with min <= 0 <= max).
// A conv whose filters are all kept is left alone, even if it feeds an Add.
//
// Cost: planning visits each layer's consumers once per pruned conv;
// applying copies each affected tensor once.
#ifndef EDGECOMPRESS_PRUNING_THINNING_H_
#define EDGECOMPRESS_PRUNING_THINNING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "training/models/layer_graph.h"

namespace edgecompress::pruning {

// A framework-free tensor: row-major values of `shape`.
struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;
};

// Tensors by name: "<layer>.weight", "<layer>.bias" and, for BatchNorm,
// "<layer>.running_mean" and "<layer>.running_var" (LayerGraph's names).
using TensorMap = std::map<std::string, FloatTensor>;

// What thinning does to one layer with parameters. Indices are ascending;
// std::nullopt keeps that dimension whole.
struct LayerThinning {
  int layer = 0;     // index into the original graph's layers()
  std::string name;  // its module path
  training::LayerOp op = training::LayerOp::kConv2d;  // kConv2d, kBatchNorm or kLinear
  std::optional<std::vector<int64_t>> kept_outputs;   // conv filters, BatchNorm channels
  std::optional<std::vector<int64_t>> kept_inputs;    // conv input channels, Linear features
};

struct ThinningPlan {
  std::vector<LayerThinning> layers;  // the affected layers, in graph order
};

// Plans thinning `graph` so that each conv named in `kept_filters` keeps
// exactly those filters (ascending indices, as KeptFiltersByL1 returns).
// Errors: kNotFound for a name that is no layer; kInvalidArgument for a
// layer that is not a conv, an empty, unsorted or repeated index list, or a
// graph InferShapes rejects; kOutOfRange for an index outside the conv's
// filters; kFailedPrecondition, naming the layer, where step 4 refuses.
absl::StatusOr<ThinningPlan> PlanThinning(
    const training::LayerGraph& graph,
    const std::map<std::string, std::vector<int64_t>>& kept_filters);

// The thinned graph: same layers, names and values, with the new channel and
// feature counts in the attrs. kInvalidArgument if `plan` was not made for
// `graph`.
absl::StatusOr<training::LayerGraph> ThinGraph(const training::LayerGraph& graph,
                                               const ThinningPlan& plan);

// Replaces each affected tensor of `tensors` by its thinned copy; tensors of
// unaffected layers are not touched. Every tensor of an affected layer must
// be present (kNotFound naming it) and have the original graph's shape
// (kInvalidArgument naming it and both shapes); on error nothing changes.
absl::Status ThinTensors(const training::LayerGraph& graph, const ThinningPlan& plan,
                         TensorMap& tensors);

// Masking instead of removing: zeroes the filters (weight rows and bias) the
// plan removes from each conv, and the scale and shift of the BatchNorm
// entries it removes, leaving shapes as they are. Errors as ThinTensors.
absl::Status ZeroRemovedChannels(const training::LayerGraph& graph, const ThinningPlan& plan,
                                 TensorMap& tensors);

// What ZeroRemovedChannels zeroes, as masks (1 keeps, 0 zeroes) over each
// tensor it touches, in that tensor's row-major layout: for a training loop
// that holds the removed channels at zero until the model is thinned.
// kInvalidArgument if `plan` was not made for `graph`.
absl::StatusOr<std::map<std::string, std::vector<uint8_t>>> RemovedChannelMasks(
    const training::LayerGraph& graph, const ThinningPlan& plan);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_THINNING_H_
