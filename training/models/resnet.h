// Residual networks (He, Zhang, Ren, Sun, "Deep Residual Learning for Image
// Recognition", CVPR 2016) for small images, in two layouts:
//
//   CreateCifar (paper Sec. 4.2, the ResNet-56 of the Distiller study): depth
//     6n + 2 (20, 32, 44, 56, 110). conv 3x3 16, BN, ReLU; three stages of n
//     BasicBlocks with 16, 32, 64 channels, the 2nd and 3rd starting with
//     stride 2; global average pool; fc.
//   Create (the ResNet-50/CIFAR-100 study; kuangliu/pytorch-cifar's layout):
//     depth 18, 34 (BasicBlock) or 50, 101, 152 (Bottleneck, expansion 4),
//     torchvision's four stages of 64, 128, 256, 512 planes, but a CIFAR stem:
//     conv 3x3 stride 1 with 64 channels, BN, ReLU and no max-pool.
//
//   BasicBlock:  conv1 3x3 (stride s), bn1, ReLU, conv2 3x3, bn2
//   Bottleneck:  conv1 1x1, bn1, ReLU, conv2 3x3 (stride s), bn2, ReLU,
//                conv3 1x1 (4x planes), bn3                 (torchvision v1.5)
//   out = ReLU(block(x) + shortcut(x)); shortcut(x) = x, or where the stride
//   or the channel count changes, downsample = conv 1x1 (stride s) + BN.
//
// The shortcut is the paper's option B (projection) everywhere, also in the
// CIFAR layout where the paper used option A (identity with zero-padded
// channels): Distiller's resnet_cifar.py does the same, and LayerGraph has no
// channel-padding op. Option B adds 2,752 parameters to every CIFAR ResNet
// with 16/32/64 channels (16*32 + 64 and 32*64 + 128), so ResNet-20 has
// 272,474 parameters for 10 classes, not the paper's 0.27M of option A
// (269,722); ResNet-56 has 855,770 (option A: 853,018).
//
// Convolutions have no bias (BN follows each). Parameter names are
// torchvision's and Distiller's: "conv1", "bn1", "layer1.0.conv1",
// "layer1.0.bn1", "layer2.0.downsample.0" (conv), "layer2.0.downsample.1"
// (BN), "fc". Convolutions start from He normal (fan out), BN from weight 1,
// bias 0, as in both; fc from LibTorch's default.
//
// Any input size works (the pool is global); Describe() records the size the
// options name. Cost at 32x32, from CountMacs: ResNet-20 40.8M MACs per image.
#ifndef EDGECOMPRESS_TRAINING_MODELS_RESNET_H_
#define EDGECOMPRESS_TRAINING_MODELS_RESNET_H_

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "training/models/classifier.h"

namespace edgecompress::training {

struct ResNetOptions {
  int depth = 20;  // CreateCifar: 6n + 2; Create: 18, 34, 50, 101 or 152
  int64_t num_classes = 10;
  int64_t input_channels = 3, input_size = 32;  // [C, H, W] = [channels, size, size]
  // Early exits: after each of these stages (0-based, ascending, before the
  // last) a side classifier, global average pool and a linear layer
  // "exits.<k>" (BranchyNet's exits, kept as cheap as a head can be).
  std::vector<int> exit_stages;
};

// One residual block; defined in resnet.cc.
class ResidualBlock;

class ResNet : public ImageClassifier {
 public:
  // kInvalidArgument for a depth that is not 6n + 2 (n >= 1), or a count < 1.
  static absl::StatusOr<std::shared_ptr<ResNet>> CreateCifar(const ResNetOptions& options);
  // kInvalidArgument for a depth other than 18, 34, 50, 101, 152, or a count < 1.
  static absl::StatusOr<std::shared_ptr<ResNet>> Create(const ResNetOptions& options);

  const ResNetOptions& options() const { return options_; }

  torch::Tensor forward(torch::Tensor images) override;
  LayerGraph Describe() const override;
  int num_exits() const override { return static_cast<int>(exits_.size()) + 1; }
  std::vector<torch::Tensor> ForwardExits(torch::Tensor images) override;

 private:
  struct Layout {
    bool bottleneck = false;
    int64_t stem_channels = 0;
    std::vector<int> blocks;          // per stage
    std::vector<int64_t> planes;      // per stage
  };
  ResNet(const ResNetOptions& options, const Layout& layout);

  ResNetOptions options_;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  std::vector<std::shared_ptr<ResidualBlock>> blocks_;  // in order, over all stages
  std::vector<std::string> block_names_;                // "layer1.0", ...
  torch::nn::Linear fc_{nullptr};
  int64_t features_ = 0;                                // fc input
  std::vector<int> exit_after_block_;                   // block index of each side exit
  std::vector<torch::nn::Linear> exits_;                // "exits.<k>"
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_RESNET_H_
