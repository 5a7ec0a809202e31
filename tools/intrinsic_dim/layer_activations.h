// Activations of a trained ONNX classifier's layers on a batch of images,
// for intrinsic-dimension analysis (the thesis, seeds/004, Sec. 3.3.2).
//
// A "layer" is a Conv, Gemm or MatMul node. Its activation is the value the
// next layer reads, as Keras's Conv2D(activation="relu") outputs it: the
// node's output, followed through BatchNormalization, Relu and Clip nodes as
// long as each is the value's only consumer. Each activation is computed by
// importing the model with that value as its output into inference/ (nodes
// after it are not run) and running the images through it in batches.
//
// Cost: one partial forward pass per layer and image, O(layers x model).
#ifndef EDGECOMPRESS_TOOLS_INTRINSIC_DIM_LAYER_ACTIVATIONS_H_
#define EDGECOMPRESS_TOOLS_INTRINSIC_DIM_LAYER_ACTIVATIONS_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::intrinsic_dim_tool {

struct LayerActivations {
  std::string layer;            // the Conv/Gemm/MatMul node's name (its output if unnamed)
  std::string op;               // "Conv", "Gemm", "MatMul"
  std::string value;            // the activation's ONNX name
  int64_t parameters = 0;       // elements of the node's initializer inputs (weights, bias)
  std::vector<size_t> shape;    // ONNX shape, batch first: [N, C, H, W] or [N, F]
  std::vector<float> values;    // row-major, shape's product
};

// `images` are `num_images` NCHW inputs of the model's input shape, already
// normalised as in training. kInvalidArgument when the model has no layer or
// num_images is not a multiple of batch_size; import and run errors name
// the layer.
absl::StatusOr<std::vector<LayerActivations>> CollectLayerActivations(
    const onnx::ModelProto& model, absl::Span<const float> images, int64_t num_images,
    int batch_size, int num_threads);

}  // namespace edgecompress::intrinsic_dim_tool

#endif  // EDGECOMPRESS_TOOLS_INTRINSIC_DIM_LAYER_ACTIVATIONS_H_
