// MobileNet-v1 (Howard et al., "MobileNets: Efficient Convolutional Neural
// Networks for Mobile Vision Applications", 2017, Table 1), laid out so that
// XNNPACK's NCHW sparse-inference path takes the whole body:
//
//   conv1 3x3 stride 2 padding 1 (C -> 32a), bn1, ReLU6
//   13 depthwise-separable blocks "blocks.<i>", i = 0..12:
//     depthwise 3x3 stride s padding 1 (groups = channels), depthwise_bn, ReLU6
//     pointwise 1x1 (-> c), pointwise_bn, ReLU6
//     (c, s) = (64,1) (128,2) (128,1) (256,2) (256,1) (512,2) 5x(512,1)
//              (1024,2) (1024,1), each c times the width multiplier a
//   global average pool, fc (-> num_classes, with bias)
//
// XNNPACK (src/subgraph.c, xnn_check_nchw_compatibility) runs in NCHW exactly
// this chain: a first 3x3 stride-2 padding-1 convolution on 3 input channels,
// depthwise 3x3 convolutions with padding 1 and stride 1 or 2, 1x1 stride-1
// unpadded convolutions (the sparse SpMM kernels: these are the weights to
// prune), clamps (ReLU6 = clip [0, 6]) and the global average pool. It takes
// the path only when more than 2/3 of all 1x1 weights are zero. BN is folded
// into each conv on export; the fc runs after the pool in NHWC.
// With other input channel counts the net trains, but XNNPACK runs it dense.
//
// Width multiplier a: channels = max(floor(c * a), 8), TF-Slim's mobilenet_v1
// rounding (depth_multiplier with min_depth 8); Keras uses int(c * a).
// Convolutions have no bias. Parameters at 1000 classes: 4,231,976 (the
// paper's 4.2M; testdata/param_counts.py; Keras' MobileNet(alpha=1.0) has the
// same trainable count); 569M MACs at 224x224 (Table 8: 569 million mult-adds).
//
// 32x32 inputs (CIFAR) reach 1x1 after the fifth stride 2; the net is the same.
#ifndef EDGECOMPRESS_TRAINING_MODELS_MOBILENET_V1_H_
#define EDGECOMPRESS_TRAINING_MODELS_MOBILENET_V1_H_

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "training/models/classifier.h"

namespace edgecompress::training {

struct MobileNetV1Options {
  int64_t num_classes = 10;
  int64_t input_channels = 3, input_size = 224;  // [C, H, W] = [channels, size, size]
  double width_multiplier = 1.0;                 // a fraction in (0, 4]: 0.25, 0.5, 0.75, 1
};

// One depthwise-separable block; defined in mobilenet_v1.cc.
class DepthwiseSeparableBlock;

class MobileNetV1 : public ImageClassifier {
 public:
  // kInvalidArgument for a count < 1 or a width multiplier outside (0, 4]
  // (a percentage like 75 is the usual mistake).
  static absl::StatusOr<std::shared_ptr<MobileNetV1>> Create(const MobileNetV1Options& options);

  const MobileNetV1Options& options() const { return options_; }

  torch::Tensor forward(torch::Tensor images) override;
  LayerGraph Describe() const override;

 private:
  explicit MobileNetV1(const MobileNetV1Options& options);

  MobileNetV1Options options_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<std::shared_ptr<DepthwiseSeparableBlock>> blocks_;
  torch::nn::Linear fc_{nullptr};
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_MOBILENET_V1_H_
