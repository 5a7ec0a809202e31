#include "training/models/lenet.h"

#include <torch/nn/functional/activation.h>

#include "training/models/lenet_graph.h"
#include "training/ops/max_pool.h"

namespace edgecompress::training {

LeNet5::LeNet5(int64_t num_classes)
    : num_classes_(num_classes),
      conv1_(register_module("conv1",
                             torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 6, 5).padding(2)))),
      conv2_(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(6, 16, 5)))),
      fc1_(register_module("fc1", torch::nn::Linear(16 * 5 * 5, 120))),
      fc2_(register_module("fc2", torch::nn::Linear(120, 84))),
      fc3_(register_module("fc3", torch::nn::Linear(84, num_classes))) {}

torch::Tensor LeNet5::forward(torch::Tensor images) {
  // Pool and ReLU in one op, faster forward and backward than torch's
  // relu + max_pool2d(2, 2) (training/ops/max_pool.h).
  torch::Tensor x = MaxPool2dNonOverlapping(conv1_->forward(LayerInput("conv1", images)), 2,
                                            PoolInput::kRelu);
  x = MaxPool2dNonOverlapping(conv2_->forward(LayerInput("conv2", x)), 2, PoolInput::kRelu);
  x = x.flatten(1);
  x = torch::relu(fc1_->forward(LayerInput("fc1", x)));
  x = torch::relu(fc2_->forward(LayerInput("fc2", x)));
  return fc3_->forward(LayerInput("fc3", x));
}

LayerGraph LeNet5::Describe() const { return LeNet5Graph(num_classes_); }

}  // namespace edgecompress::training
