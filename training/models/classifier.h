// The interface every model in the zoo implements: NCHW float images in,
// unnormalised class scores (logits) out, and a LayerGraph describing the
// same computation. Training loops, pruning adapters and exporters take an
// ImageClassifier and never a concrete model.
//
// LayerInputHook is the one way into a forward pass from outside: every model
// passes the input of each convolution and linear layer through LayerInput()
// before the layer runs. Quantization-aware training installs a hook that
// fake-quantizes what the layers read (their weights it quantizes in place);
// LibTorch's C++ modules have no forward hooks of their own, and wrapping a
// layer would change the module tree that checkpoints and pruning name.
#ifndef EDGECOMPRESS_TRAINING_MODELS_CLASSIFIER_H_
#define EDGECOMPRESS_TRAINING_MODELS_CLASSIFIER_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>

#include "absl/strings/string_view.h"

#include "training/models/layer_graph.h"

namespace edgecompress::training {

class LayerInputHook {
 public:
  virtual ~LayerInputHook() = default;
  // `layer` is the layer's module path ("conv1", "layer2.0.downsample.0"),
  // its parameters' names without ".weight"; returns what the layer computes
  // with. Gradients flow through the returned tensor.
  virtual torch::Tensor OnLayerInput(absl::string_view layer, const torch::Tensor& input) = 0;
};

class ImageClassifier : public torch::nn::Module {
 public:
  // images: [batch, channels, height, width]; returns [batch, num_classes].
  virtual torch::Tensor forward(torch::Tensor images) = 0;

  // The forward pass as layers named by module path (layer_graph.h); an
  // early-exit model's side classifiers are its side outputs.
  virtual LayerGraph Describe() const = 0;

  // Early-exit networks (BranchyNet, Teerapittayanon et al. 2016): the
  // logits of every exit, side classifiers first, the final one (what
  // forward() returns) last. A model without side exits has one.
  virtual int num_exits() const { return 1; }
  virtual std::vector<torch::Tensor> ForwardExits(torch::Tensor images) {
    return {forward(std::move(images))};
  }

  // Not owned; nullptr removes it. One hook at a time: a second replaces the first.
  void set_layer_input_hook(LayerInputHook* hook) { layer_input_hook_ = hook; }
  LayerInputHook* layer_input_hook() const { return layer_input_hook_; }

  // `input` through the hook, or unchanged without one. Called by forward()
  // (and the model's blocks) on the input of every conv and linear layer.
  torch::Tensor LayerInput(absl::string_view layer, const torch::Tensor& input) const {
    return layer_input_hook_ == nullptr ? input : layer_input_hook_->OnLayerInput(layer, input);
  }

 private:
  LayerInputHook* layer_input_hook_ = nullptr;
};

// Number of trainable scalars (weights and biases; BatchNorm running
// statistics are buffers and do not count).
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_CLASSIFIER_H_
