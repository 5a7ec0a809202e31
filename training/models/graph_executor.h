// A reference executor of a LayerGraph on LibTorch, for tests (testonly).
//
// It answers "does Describe() compute what forward() computes?" without an
// exporter: every layer runs as the torch functional op of its LayerOp, with
// the tensors "<name>.weight", "<name>.bias", "<name>.running_mean" and
// "<name>.running_var" taken from a module's named_parameters() and
// named_buffers(). BatchNorm runs in its inference form (running
// statistics), so compare against the module in eval() mode.
//
//   CheckGraphTensors: every tensor the graph names exists with the size its
//     attributes imply, and every parameter of the module is named by some
//     layer (nothing trained is left out of the description).
//   GraphParameterCount: the trainable scalars the attributes imply (conv and
//     linear weights and biases; BatchNorm weight and bias, as every BN of the
//     zoo is affine); equals CountParameters(module) for a faithful graph.
//   RunLayerGraph: CheckGraphTensors, InferShapes, then the layers in order.
//
// Layer semantics, as layer_graph.h defines them: conv2d and pools with one
// square kernel, stride and symmetric padding; average pooling counts padding
// as zeros; global average pool keeps [C, 1, 1]; flatten is C-major.
// Cost: one pass of the model's ops, no gradients; keeps every value alive.
#ifndef EDGECOMPRESS_TRAINING_MODELS_GRAPH_EXECUTOR_H_
#define EDGECOMPRESS_TRAINING_MODELS_GRAPH_EXECUTOR_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "training/models/layer_graph.h"

namespace edgecompress::training {

// kNotFound naming the first tensor the graph names that `module` lacks;
// kInvalidArgument naming a tensor of the wrong size, or a module parameter
// that no layer names.
absl::Status CheckGraphTensors(const LayerGraph& graph, const torch::nn::Module& module);

int64_t GraphParameterCount(const LayerGraph& graph);

// `images`: [batch, C, H, W] with [C, H, W] = graph.input_shape(). Returns the
// graph's output, batch first. Errors of CheckGraphTensors and InferShapes;
// kInvalidArgument for images of another shape or a LibTorch error.
absl::StatusOr<torch::Tensor> RunLayerGraph(const LayerGraph& graph,
                                            const torch::nn::Module& module,
                                            const torch::Tensor& images);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_GRAPH_EXECUTOR_H_
