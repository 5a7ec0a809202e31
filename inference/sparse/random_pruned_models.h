// Untrained models with magnitude-pruned weights, for measuring sparse
// inference without training: a LayerGraph (training/models/layer_graph.h,
// no LibTorch), He-initialised random weights, per-layer magnitude pruning
// (pruning/magnitude.h) of the layers our SpMM kernels run, and the ONNX
// export (training/onnx/onnx_export.h, BatchNorm folded; folding keeps zeros).
//
//   ASSIGN_OR_RETURN(training::LayerGraph graph, MobileNetV1Graph({.input_size = 224}));
//   ASSIGN_OR_RETURN(onnx::ModelProto model, RandomPrunedModel(graph, {.sparsity = 0.9}));
//
// Weights: conv and linear ~ N(0, 2 / fan_in) (He et al. 2015), fan_in =
// in_channels / groups * k * k; biases 0; BatchNorm gamma ~ U[0.5, 1.5],
// beta ~ U[-0.1, 0.1], running mean ~ U[-0.1, 0.1], running var ~
// U[0.5, 1.5]; all from one std::mt19937_64(seed) in layer order.
// Pruning: every 1x1 group-1 convolution and every linear layer (and, with
// prune_all_convs, every other convolution except the first and depthwise
// ones) gets exactly floor(sparsity * size) zeros by |w| (MagnitudeMask;
// ties to the lowest index). Latency does not depend on the values, only on
// the zero pattern, so untrained weights measure what trained ones would
// (with trained weights zeros cluster by channel; here they are uniform).
#ifndef EDGECOMPRESS_INFERENCE_SPARSE_RANDOM_PRUNED_MODELS_H_
#define EDGECOMPRESS_INFERENCE_SPARSE_RANDOM_PRUNED_MODELS_H_

#include <onnx/onnx_pb.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "training/models/layer_graph.h"

namespace edgecompress::inference::sparse {

struct MobileNetV1GraphOptions {
  int64_t input_size = 224;       // H = W
  double width_multiplier = 1.0;  // channels max(floor(c * a), 8), as training/models
  int64_t num_classes = 1000;
};

// MobileNet-v1 exactly as training/models/mobilenet_v1.h describes it (same
// layer names), built without the torch module. kInvalidArgument for an
// input_size < 32, a width multiplier outside (0, 4] or num_classes < 1.
absl::StatusOr<training::LayerGraph> MobileNetV1Graph(const MobileNetV1GraphOptions& options);

// CIFAR ResNet-20 (He et al. 2016, section 4.2) as training/models/resnet.h
// has it: 3x3 stem (16), three stages of three basic blocks (16, 32, 64),
// the first block of stages 2 and 3 with stride 2 and a 1x1 projection
// shortcut ("downsample"), global pool, fc. Input [3, input_size, input_size].
absl::StatusOr<training::LayerGraph> ResNet20Graph(int64_t input_size = 32,
                                                   int64_t num_classes = 10);

struct RandomPruneOptions {
  double sparsity = 0.9;  // fraction in [0, 1]
  bool prune_all_convs = false;
  uint64_t seed = 1;
};

// kInvalidArgument for a sparsity outside [0, 1] or an invalid graph.
absl::StatusOr<onnx::ModelProto> RandomPrunedModel(const training::LayerGraph& graph,
                                                   const RandomPruneOptions& options);

}  // namespace edgecompress::inference::sparse

#endif  // EDGECOMPRESS_INFERENCE_SPARSE_RANDOM_PRUNED_MODELS_H_
