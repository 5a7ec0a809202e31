// One test binary for the whole zoo (every model family, the registry and the
// reference executor): each LibTorch test TU costs ~30 s to compile.
#include "training/models/zoo.h"

#include <torch/torch.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/models/graph_executor.h"
#include "training/models/layer_graph.h"
#include "training/models/lenet.h"
#include "training/models/mobilenet_v1.h"
#include "training/models/quantnet.h"
#include "training/models/resnet.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// A seed from gtest, so that --gtest_shuffle --gtest_random_seed=N replays.
void SeedFromGtest() { torch::manual_seed(::testing::UnitTest::GetInstance()->random_seed()); }

std::shared_ptr<ImageClassifier> Create(absl::string_view name, const ModelOptions& options) {
  absl::StatusOr<std::shared_ptr<ImageClassifier>> model = CreateModel(name, options);
  EXPECT_THAT(model, IsOk());
  return model.ok() ? *model : nullptr;
}

bool HasParameter(const torch::nn::Module& module, const std::string& name) {
  return module.named_parameters().find(name) != nullptr;
}

std::vector<int64_t> ParameterSizes(const torch::nn::Module& module, const std::string& name) {
  const torch::Tensor* tensor = module.named_parameters().find(name);
  return tensor == nullptr ? std::vector<int64_t>() : tensor->sizes().vec();
}

// Random BatchNorm affine parameters and running statistics, so that a
// description that reads the wrong tensor, or skips a BN, shows. The
// statistics are those of one random batch (momentum 1), then perturbed
// (mean by up to 0.2, variance by a factor 0.7 to 1.4): statistics drawn from
// nothing saturate every ReLU6 of MobileNet-v1 and make its logits constant.
void RandomizeBatchNorm(ImageClassifier& model, const std::vector<int64_t>& batch_sizes) {
  std::vector<std::shared_ptr<torch::nn::BatchNorm2dImpl>> bns;
  for (const std::shared_ptr<torch::nn::Module>& module : model.modules()) {
    if (auto bn = std::dynamic_pointer_cast<torch::nn::BatchNorm2dImpl>(module)) bns.push_back(bn);
  }
  torch::NoGradGuard no_grad;
  for (const auto& bn : bns) {
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
    bn->options.momentum(1.0);
  }
  model.train();
  model.forward(torch::randn(batch_sizes));
  model.eval();
  for (const auto& bn : bns) {
    bn->options.momentum(0.1);
    bn->running_mean.add_(torch::empty_like(bn->running_mean).uniform_(-0.2, 0.2));
    bn->running_var.mul_(torch::empty_like(bn->running_var).uniform_(0.7, 1.4));
  }
}

// ---------------------------------------------------------------------------
// Parameter counts.
//
// Provenance: every count is also printed by testdata/param_counts.py, which
// builds the nets independently in PyTorch (Debian's python3-torch 1.13).
// By hand, CIFAR ResNet with option-B shortcuts, 10 classes (k^2 * in * out
// per conv, 2 * channels per BN):
//   stem            3*16*9 + 32                                   =     464
//   stage 1, 2n convs of 16*16*9 + 32 = 2,336 each
//   stage 2         16*32*9 + 64 = 4,672, then (2n-1) * (32*32*9 + 64 = 9,280),
//                   downsample 16*32 + 64 = 576
//   stage 3         32*64*9 + 128 = 18,560, then (2n-1) * (64*64*9 + 128 = 36,992),
//                   downsample 32*64 + 128 = 2,176
//   fc              64*10 + 10                                    =     650
//   ResNet-20 (n=3):  464 + 14,016 + 51,648 + 205,696 + 650      = 272,474
//   ResNet-56 (n=9):  464 + 42,048 + 163,008 + 649,600 + 650     = 855,770
// (the paper's option A has no downsample: 269,722 and 853,018, "0.27M" and
// "0.85M" in He et al. 2016 Table 6).
// ResNet-18 / 10 classes 11,173,962 and ResNet-50 / 100 classes 23,705,252 are
// kuangliu/pytorch-cifar's ResNet18() and ResNet50(100) (the ResNet-50/
// CIFAR-100 study's net). MobileNet-v1 / 1000 classes 4,231,976 is the
// paper's "4.2M" and Keras' trainable count. QuantNet 545,889: thesis Table 4.1.
struct CountCase {
  const char* name;
  int64_t num_classes;
  double width_multiplier;
  int64_t parameters;
};
constexpr CountCase kCounts[] = {
    {"lenet5", 10, 1.0, 61706},          // lenet.h
    {"quantnet", 1, 1.0, 545889},        // thesis Table 4.1 (binary head)
    {"quantnet", 2, 1.0, 545889},        // two classes: the same one-logit head
    {"quantnet", 10, 1.0, 546042},       // linear3 16*10 + 10 instead of 17
    {"resnet20", 10, 1.0, 272474},
    {"resnet20_exits", 10, 1.0, 272974},  // + exits of 16*10 + 10 and 32*10 + 10
    {"resnet32", 10, 1.0, 466906},
    {"resnet56", 10, 1.0, 855770},
    {"resnet56", 100, 1.0, 861620},      // fc 64*100 + 100 instead of 650
    {"resnet18", 10, 1.0, 11173962},
    {"resnet18", 100, 1.0, 11220132},
    {"resnet50", 10, 1.0, 23520842},
    {"resnet50", 100, 1.0, 23705252},
    {"mobilenet_v1", 1000, 1.0, 4231976},
    {"mobilenet_v1", 10, 1.0, 3217226},
    {"mobilenet_v1", 10, 0.5, 823722},
    {"mobilenet_v1", 10, 0.25, 215642},
};

TEST(ZooTest, ParameterCountsMatchTheReferences) {
  for (const CountCase& c : kCounts) {
    SCOPED_TRACE(absl::StrFormat("%s, %d classes, width %g", c.name, c.num_classes,
                                 c.width_multiplier));
    std::shared_ptr<ImageClassifier> model =
        Create(c.name, {.num_classes = c.num_classes, .width_multiplier = c.width_multiplier});
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(CountParameters(*model), c.parameters);
    EXPECT_EQ(GraphParameterCount(model->Describe()), c.parameters);
  }
}

// ---------------------------------------------------------------------------
// Describe() computes what forward() computes, for every model of the zoo.

ModelOptions ExecutorOptions(const std::string& name) {
  // MobileNet-v1 at CIFAR size keeps the test fast; 224 has its own test.
  if (name == "mobilenet_v1") return {.num_classes = 10, .input_size = 32};
  return {.num_classes = 10};
}

void ExpectDescriptionComputesForward(ImageClassifier& model, int64_t batch) {
  const LayerGraph graph = model.Describe();
  std::vector<int64_t> sizes = {batch};
  for (int64_t d : graph.input_shape()) sizes.push_back(d);
  RandomizeBatchNorm(model, sizes);  // leaves the model in eval mode
  ASSERT_THAT(CheckGraphTensors(graph, model), IsOk());
  EXPECT_EQ(GraphParameterCount(graph), CountParameters(model));

  const torch::Tensor images = torch::randn(sizes);
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = model.forward(images);
  }
  absl::StatusOr<torch::Tensor> actual = RunLayerGraph(graph, model, images);
  ASSERT_THAT(actual, IsOk());
  ASSERT_EQ(actual->sizes(), expected.sizes());
  const double max_diff = (*actual - expected).abs().max().item<double>();
  EXPECT_LT(max_diff, 1e-4) << "logits up to " << expected.abs().max().item<double>();
  // Not vacuous: the logits differ between samples.
  EXPECT_GT((expected[0] - expected[batch - 1]).abs().max().item<double>(), 1e-3);
}

class EveryModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryModelTest, DescriptionComputesTheForwardPass) {
  SeedFromGtest();
  std::shared_ptr<ImageClassifier> model = Create(GetParam(), ExecutorOptions(GetParam()));
  ASSERT_NE(model, nullptr);
  ExpectDescriptionComputesForward(*model, /*batch=*/2);
}

TEST_P(EveryModelTest, DescriptionIsConsistentAndEndsInTheClassScores) {
  std::shared_ptr<ImageClassifier> model = Create(GetParam(), {.num_classes = 7});
  ASSERT_NE(model, nullptr);
  absl::StatusOr<std::vector<Shape>> shapes = InferShapes(model->Describe());
  ASSERT_THAT(shapes, IsOk());
  EXPECT_EQ(shapes->back(), Shape{7});
}

// Records the layers it sees; replaces their inputs by zeros when asked.
class RecordingHook : public LayerInputHook {
 public:
  explicit RecordingHook(bool zero) : zero_(zero) {}
  torch::Tensor OnLayerInput(absl::string_view layer, const torch::Tensor& input) override {
    layers.emplace_back(layer);
    return zero_ ? torch::zeros_like(input) : input;
  }
  std::vector<std::string> layers;

 private:
  bool zero_;
};

TEST_P(EveryModelTest, LayerInputHookSeesEveryConvAndLinearInputOnce) {
  SeedFromGtest();
  std::shared_ptr<ImageClassifier> model = Create(GetParam(), ExecutorOptions(GetParam()));
  ASSERT_NE(model, nullptr);
  const LayerGraph graph = model->Describe();
  std::vector<int64_t> sizes = {2};
  for (int64_t d : graph.input_shape()) sizes.push_back(d);
  RandomizeBatchNorm(*model, sizes);  // leaves the model in eval mode
  const torch::Tensor images = torch::randn(sizes);
  torch::NoGradGuard no_grad;

  std::vector<std::string> weight_layers;  // conv and linear weights have rank >= 2
  for (const auto& parameter : model->named_parameters()) {
    const std::string& name = parameter.key();
    if (parameter.value().dim() >= 2) weight_layers.push_back(name.substr(0, name.rfind('.')));
  }
  RecordingHook identity(/*zero=*/false);
  model->set_layer_input_hook(&identity);
  // Every exit's layers too (side classifiers of early-exit models); the
  // last exit is forward()'s.
  const std::vector<torch::Tensor> exits = model->ForwardExits(images);
  ASSERT_EQ(static_cast<int>(exits.size()), model->num_exits());
  const torch::Tensor with_identity = exits.back();
  model->set_layer_input_hook(nullptr);
  EXPECT_TRUE(torch::equal(with_identity, model->forward(images)));
  std::sort(identity.layers.begin(), identity.layers.end());
  std::sort(weight_layers.begin(), weight_layers.end());
  EXPECT_EQ(identity.layers, weight_layers);

  // What the hook returns is what the layers read: zero inputs everywhere
  // leave only biases and BatchNorm shifts, the same for every image.
  RecordingHook zero(/*zero=*/true);
  model->set_layer_input_hook(&zero);
  const torch::Tensor with_zeros = model->forward(images);
  EXPECT_TRUE(torch::allclose(with_zeros[0], with_zeros[1]));
  EXPECT_FALSE(torch::allclose(with_identity[0], with_identity[1]));
}

INSTANTIATE_TEST_SUITE_P(Zoo, EveryModelTest, ::testing::ValuesIn(ModelNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST(ZooTest, MobileNetV1At224ComputesTheForwardPass) {
  SeedFromGtest();
  std::shared_ptr<ImageClassifier> model =
      Create("mobilenet_v1", {.num_classes = 10, .width_multiplier = 0.25});
  ASSERT_NE(model, nullptr);
  ExpectDescriptionComputesForward(*model, /*batch=*/2);
}

// Fashion-MNIST's 1x28x28 through a CIFAR net: the stride-2 stages give 14, 7.
TEST(ZooTest, ResNetsAndQuantNetTakeOtherInputShapes) {
  SeedFromGtest();
  for (const char* name : {"resnet20", "resnet18", "quantnet"}) {
    SCOPED_TRACE(name);
    std::shared_ptr<ImageClassifier> model =
        Create(name, {.num_classes = 10, .input_channels = 1, .input_size = 28});
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->Describe().input_shape(), (Shape{1, 28, 28}));
    ExpectDescriptionComputesForward(*model, /*batch=*/2);
  }
  // QuantNet's linear1 reads 64 * ceil(ceil(28 / 2) / 2)^2 = 64 * 49 features.
  std::shared_ptr<ImageClassifier> quantnet =
      Create("quantnet", {.num_classes = 1, .input_channels = 1, .input_size = 28});
  ASSERT_NE(quantnet, nullptr);
  EXPECT_THAT(ParameterSizes(*quantnet, "linear1.weight"), ElementsAre(128, 64 * 49));
}

// ---------------------------------------------------------------------------
// CIFAR ResNets and ResNet-18/50.

TEST(ResNetTest, CifarNamesFollowDistiller) {
  std::shared_ptr<ImageClassifier> model = Create("resnet20", {});
  ASSERT_NE(model, nullptr);
  for (const char* name :
       {"conv1.weight", "bn1.weight", "layer1.0.conv1.weight", "layer1.0.bn1.weight",
        "layer1.2.conv2.weight", "layer2.0.downsample.0.weight", "layer2.0.downsample.1.bias",
        "layer3.0.downsample.0.weight", "layer3.2.bn2.weight", "fc.weight", "fc.bias"}) {
    EXPECT_TRUE(HasParameter(*model, name)) << name;
  }
  // 16 -> 16 at stride 1: identity shortcut; no 4th stage; no conv bias.
  EXPECT_FALSE(HasParameter(*model, "layer1.0.downsample.0.weight"));
  EXPECT_FALSE(HasParameter(*model, "layer4.0.conv1.weight"));
  EXPECT_FALSE(HasParameter(*model, "conv1.bias"));
  EXPECT_THAT(ParameterSizes(*model, "layer2.0.downsample.0.weight"), ElementsAre(32, 16, 1, 1));
  EXPECT_THAT(ParameterSizes(*model, "layer3.0.conv1.weight"), ElementsAre(64, 32, 3, 3));
  EXPECT_TRUE(model->named_buffers().find("layer1.0.bn1.running_var") != nullptr);
}

// Depth = weighted layers on the main path: convs (not the shortcut
// projections) plus the fc. 6n + 2 for the CIFAR nets; 18 and 50.
TEST(ResNetTest, DepthCountsTheWeightedLayers) {
  for (const auto& [name, depth] : std::vector<std::pair<std::string, int>>{
           {"resnet20", 20}, {"resnet32", 32}, {"resnet56", 56}, {"resnet18", 18},
           {"resnet50", 50}}) {
    SCOPED_TRACE(name);
    std::shared_ptr<ImageClassifier> model = Create(name, {});
    ASSERT_NE(model, nullptr);
    int weighted = 0, projections = 0;
    const LayerGraph graph = model->Describe();
    for (const Layer& layer : graph.layers()) {
      if (layer.op != LayerOp::kConv2d && layer.op != LayerOp::kLinear) continue;
      (layer.name.find("downsample") != std::string::npos ? projections : weighted) += 1;
    }
    EXPECT_EQ(weighted, depth);
    // One projection where a stage changes shape; ResNet-50's layer1 also
    // widens 64 -> 256.
    EXPECT_EQ(projections, name == "resnet50" ? 4 : name == "resnet18" ? 3 : 2);
  }
}

TEST(ResNetTest, CifarStemResNetsFollowTorchvisionNames) {
  std::shared_ptr<ImageClassifier> resnet50 = Create("resnet50", {.num_classes = 100});
  ASSERT_NE(resnet50, nullptr);
  EXPECT_THAT(ParameterSizes(*resnet50, "conv1.weight"), ElementsAre(64, 3, 3, 3));  // CIFAR stem
  EXPECT_THAT(ParameterSizes(*resnet50, "layer1.0.downsample.0.weight"),
              ElementsAre(256, 64, 1, 1));
  EXPECT_THAT(ParameterSizes(*resnet50, "layer2.0.conv2.weight"), ElementsAre(128, 128, 3, 3));
  EXPECT_THAT(ParameterSizes(*resnet50, "layer4.2.conv3.weight"), ElementsAre(2048, 512, 1, 1));
  EXPECT_THAT(ParameterSizes(*resnet50, "fc.weight"), ElementsAre(100, 2048));
  // No max-pool: the stem keeps 32x32 for layer1.
  absl::StatusOr<std::vector<Shape>> shapes = InferShapes(resnet50->Describe());
  ASSERT_THAT(shapes, IsOk());
  EXPECT_EQ((*shapes)[1], (Shape{64, 32, 32}));
  const LayerGraph graph = resnet50->Describe();
  for (const Layer& layer : graph.layers()) {
    EXPECT_NE(layer.op, LayerOp::kMaxPool) << layer.output;
  }

  std::shared_ptr<ImageClassifier> resnet18 = Create("resnet18", {});
  ASSERT_NE(resnet18, nullptr);
  EXPECT_FALSE(HasParameter(*resnet18, "layer1.0.downsample.0.weight"));
  EXPECT_THAT(ParameterSizes(*resnet18, "layer4.1.conv2.weight"), ElementsAre(512, 512, 3, 3));
  EXPECT_THAT(ParameterSizes(*resnet18, "fc.weight"), ElementsAre(10, 512));
}

// ResNet-20 MACs at 32x32, 10 classes, k^2 * in * out * H' * W' per conv:
//   stem 9*3*16*1024 = 442,368; stage 1 6 * 9*16*16*1024 = 14,155,776;
//   stage 2 9*16*32*256 + 5 * 9*32*32*256 + 16*32*256 = 13,107,200;
//   stage 3 9*32*64*64 + 5 * 9*64*64*64 + 32*64*64 = 13,107,200; fc 640.
//   Total 40,813,184: the option-A figure usually quoted, 40.55M, plus the
//   two projections' 262,144.
TEST(ResNetTest, CountsResNet20Macs) {
  std::shared_ptr<ImageClassifier> model = Create("resnet20", {});
  ASSERT_NE(model, nullptr);
  EXPECT_THAT(CountMacs(model->Describe()), IsOkAndHolds(40813184));
}

TEST(ResNetTest, RejectsDepthsOfTheOtherLayout) {
  EXPECT_THAT(ResNet::CreateCifar({.depth = 21}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("6n + 2")));
  EXPECT_THAT(ResNet::CreateCifar({.depth = 2}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ResNet::Create({.depth = 20}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("18, 34, 50, 101 or 152")));
  EXPECT_THAT(ResNet::CreateCifar({.depth = 44}), IsOk());
  EXPECT_THAT(ResNet::Create({.depth = 18, .num_classes = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_classes")));
}

// ---------------------------------------------------------------------------
// MobileNet-v1.

// The layout XNNPACK's NCHW path accepts (mobilenet_v1.h): first conv 3x3
// stride 2 padding 1 on 3 channels; depthwise 3x3 padding 1, stride 1 or 2;
// 1x1 convs with stride 1, no padding; clips; then a global average pool.
TEST(MobileNetV1Test, HasTheLayoutOfXnnpacksSparsePath) {
  std::shared_ptr<ImageClassifier> model = Create("mobilenet_v1", {});
  ASSERT_NE(model, nullptr);
  const LayerGraph graph = model->Describe();
  int depthwise = 0, pointwise = 0;
  bool first = true;
  for (const Layer& layer : graph.layers()) {
    if (layer.op == LayerOp::kRelu) ADD_FAILURE() << "ReLU instead of ReLU6 after " << layer.inputs[0];
    if (layer.op == LayerOp::kClip) {
      EXPECT_EQ(std::get<ClipAttrs>(layer.attrs).min, 0.0f);
      EXPECT_EQ(std::get<ClipAttrs>(layer.attrs).max, 6.0f);
    }
    if (layer.op != LayerOp::kConv2d) continue;
    SCOPED_TRACE(layer.name);
    const auto& a = std::get<Conv2dAttrs>(layer.attrs);
    if (first) {
      EXPECT_EQ(layer.name, "conv1");
      EXPECT_EQ(a.in_channels, 3);
      EXPECT_EQ(a.kernel_size, 3);
      EXPECT_EQ(a.stride, 2);
      EXPECT_EQ(a.padding, 1);
      first = false;
    } else if (a.kernel_size == 3) {
      ++depthwise;
      EXPECT_THAT(layer.name, HasSubstr(".depthwise"));
      EXPECT_EQ(a.groups, a.in_channels);
      EXPECT_EQ(a.out_channels, a.in_channels);
      EXPECT_EQ(a.padding, 1);
      EXPECT_TRUE(a.stride == 1 || a.stride == 2);
    } else {
      ++pointwise;
      EXPECT_THAT(layer.name, HasSubstr(".pointwise"));
      EXPECT_EQ(a.kernel_size, 1);
      EXPECT_EQ(a.stride, 1);
      EXPECT_EQ(a.padding, 0);
      EXPECT_EQ(a.groups, 1);
    }
  }
  EXPECT_EQ(depthwise, 13);
  EXPECT_EQ(pointwise, 13);
  const std::vector<Layer>& layers = graph.layers();
  ASSERT_GE(layers.size(), 3u);
  EXPECT_EQ(layers[layers.size() - 3].op, LayerOp::kGlobalAveragePool);
  EXPECT_EQ(layers.back().name, "fc");
}

// Howard et al. 2017 Table 8: 1.0 MobileNet-224 has 569 million mult-adds
// (and 4.2M parameters); 0.25 MobileNet-224, 41 million (0.5M).
TEST(MobileNetV1Test, MacsMatchThePaper) {
  for (const auto& [width, millions] :
       std::vector<std::pair<double, int64_t>>{{1.0, 569}, {0.25, 41}}) {
    SCOPED_TRACE(width);
    std::shared_ptr<ImageClassifier> model =
        Create("mobilenet_v1", {.num_classes = 1000, .width_multiplier = width});
    ASSERT_NE(model, nullptr);
    absl::StatusOr<int64_t> macs = CountMacs(model->Describe());
    ASSERT_THAT(macs, IsOk());
    EXPECT_EQ((*macs + 500000) / 1000000, millions) << *macs;
  }
}

TEST(MobileNetV1Test, WidthMultiplierRoundsDownWithAFloorOfEight) {
  std::shared_ptr<ImageClassifier> model =
      Create("mobilenet_v1", {.input_size = 32, .width_multiplier = 0.2});
  ASSERT_NE(model, nullptr);
  // 32 * 0.2 = 6.4 -> 8; 64 * 0.2 = 12.8 -> 12; 1024 * 0.2 = 204.8 -> 204.
  EXPECT_THAT(ParameterSizes(*model, "conv1.weight"), ElementsAre(8, 3, 3, 3));
  EXPECT_THAT(ParameterSizes(*model, "blocks.0.pointwise.weight"), ElementsAre(12, 8, 1, 1));
  EXPECT_THAT(ParameterSizes(*model, "fc.weight"), ElementsAre(10, 204));
}

// ---------------------------------------------------------------------------
// QuantNet.

// Thesis Table 4.1, with linear1's printed 534,416 corrected to 4096*128 + 128.
TEST(QuantNetTest, LayersHaveTheThesisParameterCounts) {
  absl::StatusOr<std::shared_ptr<QuantNet>> model = QuantNet::Create({});
  ASSERT_THAT(model, IsOk());
  std::vector<int64_t> per_layer;
  for (const char* layer : {"conv1", "conv2", "linear1", "linear2", "linear3"}) {
    const auto parameters = (*model)->named_parameters();
    per_layer.push_back(parameters[std::string(layer) + ".weight"].numel() +
                        parameters[std::string(layer) + ".bias"].numel());
  }
  EXPECT_THAT(per_layer, ElementsAre(896, 18496, 524416, 2064, 17));
  EXPECT_EQ(CountParameters(**model), 545889);
}

TEST(QuantNetTest, OneLogitPerImageAndDropoutOnlyInTraining) {
  SeedFromGtest();
  absl::StatusOr<std::shared_ptr<QuantNet>> model = QuantNet::Create({});
  ASSERT_THAT(model, IsOk());
  const torch::Tensor images = torch::randn({4, 3, 32, 32});
  torch::NoGradGuard no_grad;
  (*model)->eval();
  const torch::Tensor logits = (*model)->forward(images);
  EXPECT_EQ(logits.sizes(), (torch::IntArrayRef{4, 1}));
  EXPECT_TRUE(torch::equal(logits, (*model)->forward(images)));
  (*model)->train();
  EXPECT_FALSE(torch::equal((*model)->forward(images), (*model)->forward(images)));
}

// ---------------------------------------------------------------------------
// The registry.

TEST(ZooTest, NamesTheModelsOfTheIssue) {
  EXPECT_THAT(ModelNames(), ElementsAre("lenet5", "quantnet", "resnet20", "resnet20_exits",
                                        "resnet32", "resnet56", "resnet18", "resnet50",
                                        "mobilenet_v1"));
}

TEST(ZooTest, CifarResNetsTakeExitStages) {
  SeedFromGtest();
  std::shared_ptr<ImageClassifier> model = Create("resnet32", {.exit_stages = {1}});
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model->num_exits(), 2);
  EXPECT_EQ(model->Describe().side_outputs().size(), 1u);
  EXPECT_THAT(CreateModel("lenet5", {.exit_stages = {0}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("takes no exit stages")));
  EXPECT_THAT(CreateModel("resnet20", {.exit_stages = {2}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("exit stages must be")));
}

TEST(ZooTest, UnknownNameListsTheZoo) {
  const auto model = CreateModel("resnet19", {});
  EXPECT_THAT(model, StatusIs(absl::StatusCode::kNotFound, HasSubstr("'resnet19'")));
  for (const std::string& name : ModelNames()) {
    EXPECT_THAT(model, StatusIs(absl::StatusCode::kNotFound, HasSubstr(name)));
  }
}

TEST(ZooTest, RejectsOptionsAModelCannotTake) {
  EXPECT_THAT(CreateModel("resnet20", {.width_multiplier = 0.5}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("resnet20")));
  EXPECT_THAT(CreateModel("mobilenet_v1", {.width_multiplier = 75}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("percentage")));
  EXPECT_THAT(CreateModel("mobilenet_v1", {.width_multiplier = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CreateModel("lenet5", {.input_channels = 3, .input_size = 32}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 x 28 x 28")));
  EXPECT_THAT(CreateModel("resnet56", {.num_classes = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_classes")));
  EXPECT_THAT(CreateModel("quantnet", {.input_size = -32}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input_size")));
}

TEST(ZooTest, UnsetInputIsTheNativeOne) {
  for (const auto& [name, shape] : std::vector<std::pair<std::string, Shape>>{
           {"lenet5", {1, 28, 28}}, {"resnet20", {3, 32, 32}}, {"mobilenet_v1", {3, 224, 224}}}) {
    std::shared_ptr<ImageClassifier> model = Create(name, {});
    ASSERT_NE(model, nullptr);
    EXPECT_EQ(model->Describe().input_shape(), shape) << name;
  }
}

// ---------------------------------------------------------------------------
// The executor itself.

// A module with one conv, for the executor's own checks.
struct OneConv : torch::nn::Module {
  OneConv() : conv(register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 2, 3)))) {}
  torch::nn::Conv2d conv;
};

LayerGraph OneConvGraph(int64_t out_channels) {
  LayerGraph graph({1, 4, 4});
  graph.Conv2d("conv", LayerGraph::kInput,
               {.in_channels = 1, .out_channels = out_channels, .kernel_size = 3});
  return graph;
}

TEST(GraphExecutorTest, ReportsMissingMismatchedAndUndescribedTensors) {
  OneConv module;
  EXPECT_THAT(CheckGraphTensors(OneConvGraph(2), module), IsOk());
  EXPECT_THAT(CheckGraphTensors(OneConvGraph(3), module),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'conv.weight'")));

  LayerGraph renamed({1, 4, 4});
  renamed.Conv2d("conv2", LayerGraph::kInput, {.in_channels = 1, .out_channels = 2, .kernel_size = 3});
  EXPECT_THAT(CheckGraphTensors(renamed, module),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'conv2.weight'")));

  LayerGraph no_bias({1, 4, 4});
  no_bias.Conv2d("conv", LayerGraph::kInput,
                 {.in_channels = 1, .out_channels = 2, .kernel_size = 3, .bias = false});
  EXPECT_THAT(CheckGraphTensors(no_bias, module),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'conv.bias'")));
  EXPECT_EQ(GraphParameterCount(OneConvGraph(2)), 2 * 9 + 2);

  EXPECT_THAT(RunLayerGraph(OneConvGraph(2), module, torch::zeros({1, 1, 5, 5})),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[batch, 1, 4, 4]")));
}

// Average pooling counts padding as zeros (layer_graph.h): a 3x3 window at a
// corner of an all-ones 4x4 image covers 4 ones of 9 cells.
TEST(GraphExecutorTest, AveragePoolCountsPaddingAsZeros) {
  torch::nn::Module empty;
  LayerGraph graph({1, 4, 4});
  graph.AveragePool(LayerGraph::kInput, {.kernel_size = 3, .stride = 1, .padding = 1});
  absl::StatusOr<torch::Tensor> out = RunLayerGraph(graph, empty, torch::ones({1, 1, 4, 4}));
  ASSERT_THAT(out, IsOk());
  EXPECT_NEAR((*out)[0][0][0][0].item<float>(), 4.0f / 9.0f, 1e-6);
  EXPECT_NEAR((*out)[0][0][1][1].item<float>(), 1.0f, 1e-6);
}

}  // namespace
}  // namespace edgecompress::training
