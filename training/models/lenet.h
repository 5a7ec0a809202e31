// LeNet-5 (LeCun et al. 1998) in its modern form, for 28x28 grey images:
//
//   conv 1->6 5x5 pad 2, ReLU, max-pool 2    ->  6 x 14 x 14
//   conv 6->16 5x5,      ReLU, max-pool 2    -> 16 x 5 x 5
//   fc 400->120, ReLU; fc 120->84, ReLU; fc 84->10
//
// ReLU and max-pooling replace the paper's scaled tanh and subsampling, as
// in the PyTorch examples the Fashion-MNIST benchmarks use. 61,706
// parameters: 156 + 2,416 (convs) + 48,120 + 10,164 + 850 (fully connected).
#ifndef EDGECOMPRESS_TRAINING_MODELS_LENET_H_
#define EDGECOMPRESS_TRAINING_MODELS_LENET_H_

#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include "training/models/classifier.h"

namespace edgecompress::training {

class LeNet5 : public ImageClassifier {
 public:
  explicit LeNet5(int64_t num_classes = 10);
  int64_t num_classes() const { return num_classes_; }

  torch::Tensor forward(torch::Tensor images) override;
  LayerGraph Describe() const override;

 private:
  int64_t num_classes_;
  torch::nn::Conv2d conv1_, conv2_;
  torch::nn::Linear fc1_, fc2_, fc3_;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_LENET_H_
