// The interface every model in the zoo implements: NCHW float images in,
// unnormalised class scores (logits) out, and a LayerGraph describing the
// same computation. Training loops, pruning adapters and exporters take an
// ImageClassifier and never a concrete model.
#ifndef EDGECOMPRESS_TRAINING_MODELS_CLASSIFIER_H_
#define EDGECOMPRESS_TRAINING_MODELS_CLASSIFIER_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>

#include "training/models/layer_graph.h"

namespace edgecompress::training {

class ImageClassifier : public torch::nn::Module {
 public:
  // images: [batch, channels, height, width]; returns [batch, num_classes].
  virtual torch::Tensor forward(torch::Tensor images) = 0;

  // The forward pass as layers named by module path (layer_graph.h).
  virtual LayerGraph Describe() const = 0;
};

// Number of trainable scalars (weights and biases; BatchNorm running
// statistics are buffers and do not count).
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_CLASSIFIER_H_
