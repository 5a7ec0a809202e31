#include "training/models/resnet.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "training/ops/batch_norm.h"

namespace edgecompress::training {
namespace {

struct ConvShape {
  int64_t in = 0, out = 0, kernel = 3, stride = 1;
};

struct BlockShape {
  bool bottleneck = false;
  int64_t in_channels = 0, planes = 0, stride = 1;

  int64_t out_channels() const { return bottleneck ? 4 * planes : planes; }
  bool has_downsample() const { return stride != 1 || in_channels != out_channels(); }
  // The residual branch's convolutions, each followed by its BN; ReLU between them.
  std::vector<ConvShape> convs() const {
    if (!bottleneck) return {{in_channels, planes, 3, stride}, {planes, planes, 3, 1}};
    return {{in_channels, planes, 1, 1}, {planes, planes, 3, stride}, {planes, 4 * planes, 1, 1}};
  }
};

torch::nn::Conv2d MakeConv(const ConvShape& c) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(c.in, c.out, c.kernel)
                             .stride(c.stride)
                             .padding(c.kernel / 2)
                             .bias(false));
  // He et al. 2015 normal with fan out, as torchvision and Distiller initialise.
  torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
  return conv;
}

Conv2dAttrs ConvAttrs(const ConvShape& c) {
  return {.in_channels = c.in, .out_channels = c.out, .kernel_size = c.kernel,
          .stride = c.stride, .padding = c.kernel / 2, .bias = false};
}

absl::Status ValidateCounts(const ResNetOptions& o) {
  if (o.num_classes < 1 || o.input_channels < 1 || o.input_size < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ResNet needs num_classes, input_channels and input_size >= 1, got %d, %d, %d",
        o.num_classes, o.input_channels, o.input_size));
  }
  return absl::OkStatus();
}

}  // namespace

class ResidualBlock : public torch::nn::Module {
 public:
  // `prefix` is the block's module path ("layer1.0"), for its layers' names.
  ResidualBlock(const BlockShape& shape, const std::string& prefix) : shape_(shape) {
    const std::vector<ConvShape> convs = shape.convs();
    for (size_t i = 0; i < convs.size(); ++i) {
      conv_names_.push_back(absl::StrCat(prefix, ".conv", i + 1));
      convs_.push_back(register_module(absl::StrCat("conv", i + 1), MakeConv(convs[i])));
      bns_.push_back(register_module(absl::StrCat("bn", i + 1),
                                     torch::nn::BatchNorm2d(convs[i].out)));
    }
    if (shape.has_downsample()) {
      downsample_name_ = absl::StrCat(prefix, ".downsample.0");
      downsample_conv_ = MakeConv({shape.in_channels, shape.out_channels(), 1, shape.stride});
      downsample_bn_ = torch::nn::BatchNorm2d(shape.out_channels());
      // Registered as one Sequential for the parameter names
      // ("downsample.0.weight"), called piece by piece in forward().
      register_module("downsample", torch::nn::Sequential(downsample_conv_, downsample_bn_));
    }
  }

  // `model` owns the block; its LayerInput() sees every conv's input.
  // BatchNorm2dForward fuses each BN with the ReLU and the residual addition
  // that follow it.
  torch::Tensor forward(const torch::Tensor& x, const ImageClassifier& model) {
    const torch::Tensor shortcut =
        downsample_conv_
            ? BatchNorm2dForward(*downsample_bn_,
                                 downsample_conv_->forward(model.LayerInput(downsample_name_, x)))
            : x;
    torch::Tensor y = x;
    for (size_t i = 0; i < convs_.size(); ++i) {
      const bool last = i + 1 == convs_.size();
      y = BatchNorm2dForward(*bns_[i], convs_[i]->forward(model.LayerInput(conv_names_[i], y)),
                             {.residual = last ? shortcut : torch::Tensor(), .relu = true});
    }
    return y;
  }

  // Appends the block to `graph` reading `x`; returns the block's output.
  std::string Describe(LayerGraph& graph, const std::string& prefix, const std::string& x) const {
    const std::vector<ConvShape> convs = shape_.convs();
    std::string y = x;
    for (size_t i = 0; i < convs.size(); ++i) {
      y = graph.Conv2d(absl::StrCat(prefix, ".conv", i + 1), y, ConvAttrs(convs[i]));
      y = graph.BatchNorm(absl::StrCat(prefix, ".bn", i + 1), y, {.channels = convs[i].out});
      if (i + 1 < convs.size()) y = graph.Relu(y);
    }
    std::string shortcut = x;
    if (shape_.has_downsample()) {
      shortcut = graph.Conv2d(
          absl::StrCat(prefix, ".downsample.0"), x,
          ConvAttrs({shape_.in_channels, shape_.out_channels(), 1, shape_.stride}));
      shortcut = graph.BatchNorm(absl::StrCat(prefix, ".downsample.1"), shortcut,
                                 {.channels = shape_.out_channels()});
    }
    return graph.Relu(graph.Add(y, shortcut));
  }

 private:
  BlockShape shape_;
  std::vector<torch::nn::Conv2d> convs_;
  std::vector<std::string> conv_names_;  // "layer1.0.conv1", ...
  std::vector<torch::nn::BatchNorm2d> bns_;
  torch::nn::Conv2d downsample_conv_{nullptr};
  torch::nn::BatchNorm2d downsample_bn_{nullptr};
  std::string downsample_name_;  // its conv's: "layer2.0.downsample.0"
};

absl::StatusOr<std::shared_ptr<ResNet>> ResNet::CreateCifar(const ResNetOptions& options) {
  if (options.depth < 8 || (options.depth - 2) % 6 != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "CIFAR ResNet depth must be 6n + 2 with n >= 1 (20, 32, 44, 56, 110), got %d",
        options.depth));
  }
  if (absl::Status status = ValidateCounts(options); !status.ok()) return status;
  for (size_t i = 0; i < options.exit_stages.size(); ++i) {
    const int stage = options.exit_stages[i];
    if (stage < 0 || stage >= 2 || (i > 0 && stage <= options.exit_stages[i - 1])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "exit stages must be ascending in [0, 2) (before the last of 3 stages), got %d", stage));
    }
  }
  const int n = (options.depth - 2) / 6;
  return std::shared_ptr<ResNet>(new ResNet(
      options, {.bottleneck = false, .stem_channels = 16, .blocks = {n, n, n},
                .planes = {16, 32, 64}}));
}

absl::StatusOr<std::shared_ptr<ResNet>> ResNet::Create(const ResNetOptions& options) {
  Layout layout;
  layout.stem_channels = 64;
  layout.planes = {64, 128, 256, 512};
  switch (options.depth) {
    case 18: layout.blocks = {2, 2, 2, 2}; break;
    case 34: layout.blocks = {3, 4, 6, 3}; break;
    case 50: layout.blocks = {3, 4, 6, 3}; layout.bottleneck = true; break;
    case 101: layout.blocks = {3, 4, 23, 3}; layout.bottleneck = true; break;
    case 152: layout.blocks = {3, 8, 36, 3}; layout.bottleneck = true; break;
    default:
      return absl::InvalidArgumentError(absl::StrFormat(
          "ResNet depth must be 18, 34, 50, 101 or 152, got %d", options.depth));
  }
  if (absl::Status status = ValidateCounts(options); !status.ok()) return status;
  if (!options.exit_stages.empty()) {
    return absl::InvalidArgumentError("early exits are built for the CIFAR ResNets only");
  }
  return std::shared_ptr<ResNet>(new ResNet(options, layout));
}

ResNet::ResNet(const ResNetOptions& options, const Layout& layout) : options_(options) {
  conv1_ = register_module("conv1", MakeConv({options.input_channels, layout.stem_channels, 3, 1}));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(layout.stem_channels));
  int64_t channels = layout.stem_channels;
  for (size_t stage = 0; stage < layout.blocks.size(); ++stage) {
    const std::string stage_name = absl::StrCat("layer", stage + 1);
    torch::nn::ModuleList stage_modules = register_module(stage_name, torch::nn::ModuleList());
    for (int i = 0; i < layout.blocks[stage]; ++i) {
      const BlockShape shape = {.bottleneck = layout.bottleneck,
                                .in_channels = channels,
                                .planes = layout.planes[stage],
                                .stride = stage > 0 && i == 0 ? 2 : 1};
      block_names_.push_back(absl::StrCat(stage_name, ".", i));
      auto block = std::make_shared<ResidualBlock>(shape, block_names_.back());
      stage_modules->push_back(block);  // registered as "<i>"
      blocks_.push_back(std::move(block));
      channels = shape.out_channels();
    }
    if (std::find(options.exit_stages.begin(), options.exit_stages.end(), stage) !=
        options.exit_stages.end()) {
      exit_after_block_.push_back(static_cast<int>(blocks_.size()) - 1);
      exits_.push_back(torch::nn::Linear(channels, options.num_classes));
    }
  }
  if (!exits_.empty()) {
    torch::nn::ModuleList exits = register_module("exits", torch::nn::ModuleList());
    for (const torch::nn::Linear& exit : exits_) exits->push_back(exit);  // "exits.<k>"
  }
  features_ = channels;
  fc_ = register_module("fc", torch::nn::Linear(features_, options.num_classes));
}

torch::Tensor ResNet::forward(torch::Tensor images) {
  torch::Tensor x =
      BatchNorm2dForward(*bn1_, conv1_->forward(LayerInput("conv1", images)), {.relu = true});
  for (const std::shared_ptr<ResidualBlock>& block : blocks_) x = block->forward(x, *this);
  return fc_->forward(LayerInput("fc", x.mean({2, 3})));  // global average pool
}

std::vector<torch::Tensor> ResNet::ForwardExits(torch::Tensor images) {
  std::vector<torch::Tensor> logits;
  torch::Tensor x =
      BatchNorm2dForward(*bn1_, conv1_->forward(LayerInput("conv1", images)), {.relu = true});
  size_t next_exit = 0;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i]->forward(x, *this);
    if (next_exit < exits_.size() && exit_after_block_[next_exit] == static_cast<int>(i)) {
      const std::string name = absl::StrCat("exits.", next_exit);
      logits.push_back(exits_[next_exit]->forward(LayerInput(name, x.mean({2, 3}))));
      ++next_exit;
    }
  }
  logits.push_back(fc_->forward(LayerInput("fc", x.mean({2, 3}))));
  return logits;
}

LayerGraph ResNet::Describe() const {
  LayerGraph graph({options_.input_channels, options_.input_size, options_.input_size});
  const int64_t stem = conv1_->options.out_channels();
  std::string x = graph.Conv2d(
      "conv1", LayerGraph::kInput,
      ConvAttrs({options_.input_channels, stem, 3, 1}));
  x = graph.Relu(graph.BatchNorm("bn1", x, {.channels = stem}));
  std::vector<std::string> side_outputs;
  size_t next_exit = 0;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i]->Describe(graph, block_names_[i], x);
    if (next_exit < exits_.size() && exit_after_block_[next_exit] == static_cast<int>(i)) {
      const torch::nn::LinearOptions& o = exits_[next_exit]->options;
      side_outputs.push_back(graph.Linear(absl::StrCat("exits.", next_exit),
                                          graph.Flatten(graph.GlobalAveragePool(x)),
                                          {.in_features = o.in_features(),
                                           .out_features = o.out_features()}));
      ++next_exit;
    }
  }
  x = graph.Flatten(graph.GlobalAveragePool(x));
  graph.SetOutput(
      graph.Linear("fc", x, {.in_features = features_, .out_features = options_.num_classes}));
  for (const std::string& side : side_outputs) graph.AddSideOutput(side);
  return graph;
}

}  // namespace edgecompress::training
