#include "training/onnx/torch_export.h"

#include <spawn.h>
#include <sys/wait.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet.h"
#include "training/onnx/onnx_file.h"

extern char** environ;

namespace edgecompress::training {
namespace {

namespace F = torch::nn::functional;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The largest |a - b| the exported model may differ from LibTorch by (float32
// accumulation order differs between the two runtimes).
constexpr double kTolerance = 1e-4;

// Conv+BN+ReLU twice, a residual Add, a BatchNorm after the Add (not
// foldable: a BatchNormalization node), ReLU6, max-pool, a depthwise strided
// convolution, an average pool counting its padding, global average pool,
// flatten and linear: every LayerOp, on a [3, 8, 8] input.
class ResidualNet : public ImageClassifier {
 public:
  ResidualNet()
      : conv0_(register_module("conv0", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 8, 3)
                                                              .padding(1)
                                                              .bias(false)))),
        bn0_(register_module("bn0", torch::nn::BatchNorm2d(8))),
        conv1_(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3)
                                                              .padding(2)
                                                              .dilation(2)
                                                              .groups(2)))),
        bn1_(register_module("bn1",
                             torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(8).eps(1e-3)))),
        bn2_(register_module("bn2", torch::nn::BatchNorm2d(8))),
        conv2_(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(8, 8, 3)
                                                              .stride(2)
                                                              .padding(1)
                                                              .groups(8)))),
        fc_(register_module("fc", torch::nn::Linear(8, 5))) {}

  torch::Tensor forward(torch::Tensor x) override {
    const torch::Tensor a = torch::relu(bn0_->forward(conv0_->forward(x)));
    const torch::Tensor b = torch::relu(bn1_->forward(conv1_->forward(a)));
    torch::Tensor y = bn2_->forward(a + b);
    y = F::max_pool2d(torch::clamp(y, 0.0, 6.0), F::MaxPool2dFuncOptions(2));
    y = F::avg_pool2d(conv2_->forward(y), F::AvgPool2dFuncOptions(3).stride(1).padding(1));
    y = F::adaptive_avg_pool2d(y, F::AdaptiveAvgPool2dFuncOptions(1)).flatten(1);
    return fc_->forward(y);
  }

  LayerGraph Describe() const override {
    LayerGraph graph({3, 8, 8});
    const std::string a = graph.Relu(graph.BatchNorm(
        "bn0",
        graph.Conv2d("conv0", LayerGraph::kInput,
                     {.in_channels = 3, .out_channels = 8, .kernel_size = 3, .padding = 1,
                      .bias = false}),
        {.channels = 8}));
    const std::string b = graph.Relu(graph.BatchNorm(
        "bn1",
        graph.Conv2d("conv1", a,
                     {.in_channels = 8, .out_channels = 8, .kernel_size = 3, .padding = 2,
                      .dilation = 2, .groups = 2}),
        {.channels = 8, .epsilon = 1e-3}));
    std::string x = graph.BatchNorm("bn2", graph.Add(a, b), {.channels = 8});
    x = graph.MaxPool(graph.Clip(x, {.min = 0.0f, .max = 6.0f}), {.kernel_size = 2, .stride = 2});
    x = graph.Conv2d("conv2", x,
                     {.in_channels = 8, .out_channels = 8, .kernel_size = 3, .stride = 2,
                      .padding = 1, .groups = 8});
    x = graph.AveragePool(x, {.kernel_size = 3, .stride = 1, .padding = 1});
    x = graph.Flatten(graph.GlobalAveragePool(x));
    graph.Linear("fc", x, {.in_features = 8, .out_features = 5});
    return graph;
  }

  // Fresh BatchNorms are the identity (mean 0, var 1, gamma 1, beta 0), which
  // would make folding trivially right: give them statistics to fold.
  void RandomizeBatchNorms() {
    torch::NoGradGuard no_grad;
    for (torch::nn::BatchNorm2d* bn : {&bn0_, &bn1_, &bn2_}) {
      (*bn)->weight.uniform_(0.5, 1.5);
      (*bn)->bias.uniform_(-0.5, 0.5);
      (*bn)->running_mean.uniform_(-0.5, 0.5);
      (*bn)->running_var.uniform_(0.5, 2.0);
    }
  }

 private:
  torch::nn::Conv2d conv0_;
  torch::nn::BatchNorm2d bn0_;
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_, bn2_;
  torch::nn::Conv2d conv2_;
  torch::nn::Linear fc_;
};

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string Runfile(const std::string& path) {
  const char* dir = std::getenv("TEST_SRCDIR");
  return std::string(dir != nullptr ? dir : ".") + "/" + path;
}

// Runs `model_path` on ONNX Runtime through ort_run.js with `input` (float
// NCHW) and returns its output `output_name`, flattened. Any failure, a
// missing runtime included, is an error: this test never skips.
absl::StatusOr<std::vector<float>> RunOnOnnxRuntime(const std::string& model_path,
                                                    const torch::Tensor& input,
                                                    const std::string& output_name) {
  const std::string script = Runfile("edgecompress/training/onnx/ort_run.js");
  const std::string ort = Runfile("onnxruntime_node/node_modules/onnxruntime-node");
  for (const std::string& path : {script, ort + "/package.json"}) {
    if (!std::filesystem::exists(path)) {
      return absl::NotFoundError(absl::StrCat(path, " is missing; run third_party/setup.sh"));
    }
  }
  const torch::Tensor contiguous = input.contiguous();
  const std::string input_path = model_path + ".input.f32";
  const std::string output_path = model_path + ".output.f32";
  std::ofstream(input_path, std::ios::binary)
      .write(reinterpret_cast<const char*>(contiguous.data_ptr<float>()),
             contiguous.numel() * sizeof(float));
  std::vector<std::string> args = {"node", script, ort, model_path, input_path,
                                   absl::StrJoin(input.sizes(), ","), output_name, output_path};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (const int error = posix_spawnp(&pid, "node", nullptr, nullptr, argv.data(), environ);
      error != 0) {
    return absl::ErrnoToStatus(error, "cannot start node");
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::InternalError(absl::StrCat("node ort_run.js failed (wait status ", status, ")"));
  }
  std::ifstream file(output_path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<float> output(bytes.size() / sizeof(float));
  std::memcpy(output.data(), bytes.data(), output.size() * sizeof(float));
  return output;
}

// Exports `model` (whose forward gave `expected` on `input`) to a file, runs
// the file on ONNX Runtime and returns the largest absolute difference.
double RoundTripDiff(const ImageClassifier& model, const std::string& name,
                     const torch::Tensor& input, const torch::Tensor& expected) {
  const std::string path = TempPath(name + ".onnx");
  EXPECT_THAT(ExportOnnxFile(model, path), IsOk());
  absl::StatusOr<std::vector<float>> actual = RunOnOnnxRuntime(path, input, "logits");
  EXPECT_THAT(actual, IsOk());
  if (!actual.ok()) return INFINITY;
  EXPECT_EQ(static_cast<int64_t>(actual->size()), expected.numel());
  if (static_cast<int64_t>(actual->size()) != expected.numel()) return INFINITY;
  const torch::Tensor got =
      torch::from_blob(actual->data(), expected.sizes(), torch::kFloat).clone();
  const double diff = (got - expected).abs().max().item<double>();
  std::cout << name << ": max |onnxruntime - libtorch| = " << diff << " over " << expected.numel()
            << " logits\n";
  return diff;
}

std::vector<std::string> OpTypes(const onnx::ModelProto& model) {
  std::vector<std::string> types;
  for (const onnx::NodeProto& node : model.graph().node()) types.push_back(node.op_type());
  return types;
}

TEST(TorchExportTest, LeNetMatchesLibTorchOnOnnxRuntime) {
  torch::manual_seed(5);
  LeNet5 model;
  model.eval();
  // Batch 1 and 3 through one file: the batch dimension is symbolic.
  for (int64_t batch : {1, 3}) {
    SCOPED_TRACE(batch);
    const torch::Tensor input = torch::randn({batch, 1, 28, 28});
    torch::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      expected = model.forward(input);
    }
    ASSERT_GT(expected.abs().max().item<double>(), 1e-2);  // a comparison of zeros proves nothing
    const double diff = RoundTripDiff(model, absl::StrCat("lenet_batch", batch), input, expected);
    EXPECT_LT(diff, kTolerance);
    RecordProperty(absl::StrCat("lenet_batch", batch, "_max_abs_diff"), absl::StrCat(diff));
  }
}

TEST(TorchExportTest, ResidualNetMatchesLibTorchOnOnnxRuntime) {
  torch::manual_seed(7);
  ResidualNet model;
  model.RandomizeBatchNorms();
  model.eval();
  absl::StatusOr<onnx::ModelProto> exported = ExportOnnx(model);
  ASSERT_THAT(exported, IsOk());
  // bn0 and bn1 fold into their convolutions; bn2 follows the Add and stays.
  EXPECT_THAT(OpTypes(*exported),
              ElementsAre("Conv", "Relu", "Conv", "Relu", "Add", "BatchNormalization", "Clip",
                          "MaxPool", "Conv", "AveragePool", "GlobalAveragePool", "Flatten",
                          "Gemm"));

  const torch::Tensor input = 3.0 * torch::randn({3, 3, 8, 8});  // wide enough to reach ReLU6's 6
  torch::Tensor expected;
  {
    torch::NoGradGuard no_grad;
    expected = model.forward(input);
  }
  ASSERT_GT(expected.abs().max().item<double>(), 1e-2);
  const double diff = RoundTripDiff(model, "residual_net", input, expected);
  EXPECT_LT(diff, kTolerance);
  RecordProperty("residual_net_max_abs_diff", absl::StrCat(diff));
}

// Export always uses running statistics: a module in train() mode exports the
// same model as in eval() mode, and keeps its mode.
TEST(TorchExportTest, TrainModeExportsRunningStatistics) {
  torch::manual_seed(11);
  ResidualNet model;
  model.RandomizeBatchNorms();
  model.eval();
  absl::StatusOr<onnx::ModelProto> eval_export = ExportOnnx(model);
  model.train();
  absl::StatusOr<onnx::ModelProto> train_export = ExportOnnx(model);
  ASSERT_THAT(eval_export, IsOk());
  ASSERT_THAT(train_export, IsOk());
  EXPECT_EQ(train_export->SerializeAsString(), eval_export->SerializeAsString());
  EXPECT_TRUE(model.is_training());
}

TEST(TorchExportTest, ConvertsDoubleParametersToFloat) {
  torch::manual_seed(13);
  LeNet5 model;
  model.to(torch::kDouble);
  absl::StatusOr<onnx::ModelProto> exported = ExportOnnx(model);
  ASSERT_THAT(exported, IsOk());
  const torch::Tensor bias = model.named_parameters()["fc2.bias"].to(torch::kFloat);
  int found = 0;
  for (const onnx::TensorProto& tensor : exported->graph().initializer()) {
    if (tensor.name() != "fc2.bias") continue;
    ++found;
    ASSERT_EQ(tensor.raw_data().size(), 84 * sizeof(float));
    EXPECT_EQ(std::memcmp(tensor.raw_data().data(), bias.data_ptr<float>(), 84 * sizeof(float)), 0);
  }
  EXPECT_EQ(found, 1);
}

// A model whose description names a module it does not have.
class MislabeledNet : public ImageClassifier {
 public:
  MislabeledNet() : fc_(register_module("fc", torch::nn::Linear(4, 2))) {}
  torch::Tensor forward(torch::Tensor x) override { return fc_->forward(x.flatten(1)); }
  LayerGraph Describe() const override {
    LayerGraph graph({4, 1, 1});
    graph.Linear("head", graph.Flatten(LayerGraph::kInput), {.in_features = 4, .out_features = 2});
    return graph;
  }

 private:
  torch::nn::Linear fc_;
};

TEST(TorchExportTest, ErrorsNameTheParameterOrThePath) {
  EXPECT_THAT(ExportOnnx(MislabeledNet()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'head.weight'")));
  const std::string path = TempPath("no/such/dir/lenet.onnx");
  EXPECT_THAT(ExportOnnxFile(LeNet5(), path),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(path)));
}

}  // namespace
}  // namespace edgecompress::training
