#include "training/models/mobilenet_v1.h"

#include <torch/nn/init.h>
#include <torch/nn/modules/container/modulelist.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {
namespace {

struct BlockConfig {
  int64_t channels, stride;
};
// Howard et al. 2017, Table 1: the output channels and stride of each block.
constexpr BlockConfig kBlocks[] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1},
                                   {512, 2}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
                                   {512, 1}, {1024, 2}, {1024, 1}};
constexpr int64_t kStemChannels = 32;
constexpr ClipAttrs kRelu6 = {.min = 0.0f, .max = 6.0f};

// TF-Slim's rounding: floor, but never fewer than 8 channels.
int64_t Width(int64_t channels, double multiplier) {
  return std::max<int64_t>(static_cast<int64_t>(std::floor(channels * multiplier)), 8);
}

torch::nn::Conv2d MakeConv(int64_t in, int64_t out, int64_t kernel, int64_t stride,
                           int64_t groups) {
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(in, out, kernel)
                             .stride(stride)
                             .padding(kernel / 2)
                             .groups(groups)
                             .bias(false));
  torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
  return conv;
}

torch::Tensor Relu6(const torch::Tensor& x) { return torch::clamp(x, 0.0, 6.0); }

}  // namespace

class DepthwiseSeparableBlock : public torch::nn::Module {
 public:
  // `prefix` is the block's module path ("blocks.0"), for its layers' names.
  DepthwiseSeparableBlock(int64_t in, int64_t out, int64_t stride, const std::string& prefix)
      : in_(in), out_(out), stride_(stride),
        depthwise_name_(absl::StrCat(prefix, ".depthwise")),
        pointwise_name_(absl::StrCat(prefix, ".pointwise")) {
    depthwise_ = register_module("depthwise", MakeConv(in, in, 3, stride, /*groups=*/in));
    depthwise_bn_ = register_module("depthwise_bn", torch::nn::BatchNorm2d(in));
    pointwise_ = register_module("pointwise", MakeConv(in, out, 1, 1, /*groups=*/1));
    pointwise_bn_ = register_module("pointwise_bn", torch::nn::BatchNorm2d(out));
  }

  // `model` owns the block; its LayerInput() sees both convs' inputs.
  torch::Tensor forward(const torch::Tensor& x, const ImageClassifier& model) {
    const torch::Tensor y =
        Relu6(depthwise_bn_->forward(depthwise_->forward(model.LayerInput(depthwise_name_, x))));
    return Relu6(pointwise_bn_->forward(pointwise_->forward(model.LayerInput(pointwise_name_, y))));
  }

  std::string Describe(LayerGraph& graph, const std::string& prefix, const std::string& x) const {
    std::string y = graph.Conv2d(absl::StrCat(prefix, ".depthwise"), x,
                                 {.in_channels = in_, .out_channels = in_, .kernel_size = 3,
                                  .stride = stride_, .padding = 1, .groups = in_, .bias = false});
    y = graph.Clip(graph.BatchNorm(absl::StrCat(prefix, ".depthwise_bn"), y, {.channels = in_}),
                   kRelu6);
    y = graph.Conv2d(absl::StrCat(prefix, ".pointwise"), y,
                     {.in_channels = in_, .out_channels = out_, .bias = false});
    return graph.Clip(
        graph.BatchNorm(absl::StrCat(prefix, ".pointwise_bn"), y, {.channels = out_}), kRelu6);
  }

  int64_t out_channels() const { return out_; }

 private:
  int64_t in_, out_, stride_;
  std::string depthwise_name_, pointwise_name_;  // "blocks.0.depthwise", ...
  torch::nn::Conv2d depthwise_{nullptr}, pointwise_{nullptr};
  torch::nn::BatchNorm2d depthwise_bn_{nullptr}, pointwise_bn_{nullptr};
};

absl::StatusOr<std::shared_ptr<MobileNetV1>> MobileNetV1::Create(
    const MobileNetV1Options& options) {
  if (options.num_classes < 1 || options.input_channels < 1 || options.input_size < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MobileNet-v1 needs num_classes, input_channels and input_size >= 1, got %d, %d, %d",
        options.num_classes, options.input_channels, options.input_size));
  }
  // Written so that NaN fails too.
  if (!(options.width_multiplier > 0.0 && options.width_multiplier <= 4.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "MobileNet-v1 width_multiplier %g is outside (0, 4]; it is a fraction (0.75), not a "
        "percentage",
        options.width_multiplier));
  }
  return std::shared_ptr<MobileNetV1>(new MobileNetV1(options));
}

MobileNetV1::MobileNetV1(const MobileNetV1Options& options) : options_(options) {
  const int64_t stem = Width(kStemChannels, options.width_multiplier);
  conv1_ = register_module("conv1", MakeConv(options.input_channels, stem, 3, 2, /*groups=*/1));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(stem));
  torch::nn::ModuleList blocks = register_module("blocks", torch::nn::ModuleList());
  int64_t channels = stem;
  for (const BlockConfig& config : kBlocks) {
    const int64_t out = Width(config.channels, options.width_multiplier);
    auto block = std::make_shared<DepthwiseSeparableBlock>(
        channels, out, config.stride, absl::StrCat("blocks.", blocks_.size()));
    blocks->push_back(block);  // registered as "<i>"
    blocks_.push_back(std::move(block));
    channels = out;
  }
  fc_ = register_module("fc", torch::nn::Linear(channels, options.num_classes));
}

torch::Tensor MobileNetV1::forward(torch::Tensor images) {
  torch::Tensor x = Relu6(bn1_->forward(conv1_->forward(LayerInput("conv1", images))));
  for (const std::shared_ptr<DepthwiseSeparableBlock>& block : blocks_) x = block->forward(x, *this);
  return fc_->forward(LayerInput("fc", x.mean({2, 3})));  // global average pool
}

LayerGraph MobileNetV1::Describe() const {
  LayerGraph graph({options_.input_channels, options_.input_size, options_.input_size});
  const int64_t stem = conv1_->options.out_channels();
  std::string x = graph.Conv2d("conv1", LayerGraph::kInput,
                               {.in_channels = options_.input_channels, .out_channels = stem,
                                .kernel_size = 3, .stride = 2, .padding = 1, .bias = false});
  x = graph.Clip(graph.BatchNorm("bn1", x, {.channels = stem}), kRelu6);
  for (size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i]->Describe(graph, absl::StrCat("blocks.", i), x);
  }
  x = graph.Flatten(graph.GlobalAveragePool(x));
  graph.Linear("fc", x,
               {.in_features = blocks_.back()->out_channels(),
                .out_features = options_.num_classes});
  return graph;
}

}  // namespace edgecompress::training
