#include "training/models/quantnet.h"

#include <torch/nn/init.h>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "training/models/quantnet_graph.h"

namespace edgecompress::training {
namespace {

// Output extent of a 3x3 stride-2 window with padding 1: ceil(size / 2),
// TensorFlow's "same".
int64_t Halve(int64_t size) { return (size + 1) / 2; }

// The thesis' He normal (before ReLU) or Glorot normal (before the sigmoid)
// weights and zero biases.
template <typename Layer>
Layer HeInit(Layer layer) {
  torch::nn::init::kaiming_normal_(layer->weight, /*a=*/0, torch::kFanIn, torch::kReLU);
  torch::nn::init::zeros_(layer->bias);
  return layer;
}

}  // namespace

absl::StatusOr<std::shared_ptr<QuantNet>> QuantNet::Create(const QuantNetOptions& options) {
  if (options.num_classes < 1 || options.input_channels < 1 || options.input_size < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "QuantNet needs num_classes, input_channels and input_size >= 1, got %d, %d, %d",
        options.num_classes, options.input_channels, options.input_size));
  }
  return std::shared_ptr<QuantNet>(new QuantNet(options));
}

QuantNet::QuantNet(const QuantNetOptions& options) : options_(options) {
  const int64_t side = Halve(Halve(options.input_size));
  features_ = 64 * side * side;
  conv1_ = register_module(
      "conv1", HeInit(torch::nn::Conv2d(
                   torch::nn::Conv2dOptions(options.input_channels, 32, 3).stride(2).padding(1))));
  conv2_ = register_module(
      "conv2", HeInit(torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3).stride(2).padding(1))));
  dropout_ = register_module("dropout", torch::nn::Dropout(0.1));
  linear1_ = register_module("linear1", HeInit(torch::nn::Linear(features_, 128)));
  linear2_ = register_module("linear2", HeInit(torch::nn::Linear(128, 16)));
  linear3_ = register_module("linear3", torch::nn::Linear(16, options.num_classes));
  torch::nn::init::xavier_normal_(linear3_->weight);
  torch::nn::init::zeros_(linear3_->bias);
}

torch::Tensor QuantNet::forward(torch::Tensor images) {
  torch::Tensor x = torch::relu(conv1_->forward(LayerInput("conv1", images)));
  x = dropout_->forward(torch::relu(conv2_->forward(LayerInput("conv2", x)))).flatten(1);
  x = torch::relu(linear1_->forward(LayerInput("linear1", x)));
  x = torch::relu(linear2_->forward(LayerInput("linear2", x)));
  return linear3_->forward(LayerInput("linear3", x));
}

LayerGraph QuantNet::Describe() const {
  return QuantNetGraph(options_.num_classes, options_.input_channels, options_.input_size);
}

}  // namespace edgecompress::training
