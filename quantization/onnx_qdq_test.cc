#include "quantization/onnx_qdq.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::quantization {
namespace {

using ::testing::HasSubstr;

onnx::ModelProto ReadModel(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream bytes;
  bytes << file.rdbuf();
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(bytes.str())) << path;
  return model;
}

int CountOps(const onnx::ModelProto& model, const std::string& op) {
  int count = 0;
  for (const onnx::NodeProto& node : model.graph().node()) count += node.op_type() == op;
  return count;
}

std::vector<float> Infer(const onnx::ModelProto& model, const std::vector<float>& input) {
  absl::StatusOr<inference::OnnxModel> imported =
      inference::OnnxModel::ImportBytes(model.SerializeAsString(), {.batch_size = 1});
  EXPECT_THAT(imported, IsOk());
  absl::StatusOr<inference::OnnxRuntime> runtime = imported->Build(1);
  EXPECT_THAT(runtime, IsOk());
  std::vector<float> output(runtime->output_size());
  EXPECT_THAT(runtime->Run(input, absl::MakeSpan(output)), IsOk());
  return output;
}

onnx::NodeProto* AddNode(onnx::GraphProto& graph, const std::string& op,
                         const std::vector<std::string>& inputs, const std::string& output) {
  onnx::NodeProto* node = graph.add_node();
  node->set_op_type(op);
  for (const std::string& input : inputs) node->add_input(input);
  node->add_output(output);
  return node;
}

// LeNet's shape: x -> conv1 -> Relu -> MaxPool -> {conv2a, conv2b} -> Add
// -> Flatten -> fc -> logits. Ranges observed at the layers' inputs land on
// the activations that carry QDQ pairs: the graph input, the fused Relu's
// output (through MaxPool; conv2a and conv2b read it both: the union), the
// Add (through Flatten). The logits are left to calibration.
TEST(ActivationRangesFromLayerInputsTest, WalksBackThroughGridKeepingOps) {
  onnx::ModelProto model;
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.add_input()->set_name("x");
  for (const char* weight : {"conv1.weight", "conv2a.weight", "conv2b.weight", "fc.weight"}) {
    graph.add_initializer()->set_name(weight);
  }
  AddNode(graph, "Conv", {"x", "conv1.weight"}, "c1");
  AddNode(graph, "Relu", {"c1"}, "r1");
  AddNode(graph, "MaxPool", {"r1"}, "p1");
  AddNode(graph, "Conv", {"p1", "conv2a.weight"}, "c2a");
  AddNode(graph, "Conv", {"p1", "conv2b.weight"}, "c2b");
  AddNode(graph, "Add", {"c2a", "c2b"}, "sum");
  AddNode(graph, "Flatten", {"sum"}, "flat");
  AddNode(graph, "Gemm", {"flat", "fc.weight"}, "logits");
  graph.add_output()->set_name("logits");

  const std::map<std::string, Range> observed = {{"conv1", {-1.0f, 1.0f}},
                                                 {"conv2a", {0.0f, 4.0f}},
                                                 {"conv2b", {0.0f, 6.0f}},
                                                 {"fc", {-3.0f, 2.0f}},
                                                 {"not_in_model", {0.0f, 9.0f}}};
  absl::StatusOr<std::map<std::string, Range>> ranges =
      ActivationRangesFromLayerInputs(model, observed);
  ASSERT_THAT(ranges, IsOk());
  ASSERT_EQ(ranges->size(), 3u);
  EXPECT_EQ(ranges->at("x").max, 1.0f);
  EXPECT_EQ(ranges->at("r1").max, 6.0f);
  EXPECT_EQ(ranges->at("sum").min, -3.0f);
  EXPECT_EQ(ranges->count("logits"), 0u);
}

// torchvision's ResNet-18 exported with its 20 BatchNormalization nodes kept
// (inference/testdata/make_models.py): every one follows a Conv that nothing
// else reads, so all fold; the folded model computes the same logits (the
// importer folds BatchNormalization the same way, in float), and then
// quantizes, which the unfolded model refuses.
TEST(FoldBatchNormsTest, ResNet18FoldsCompletely) {
  const onnx::ModelProto model = ReadModel("inference/testdata/resnet18.onnx");
  ASSERT_EQ(CountOps(model, "BatchNormalization"), 20);
  EXPECT_EQ(ActivationsToQuantize(model).status().code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<FoldedModel> folded = FoldBatchNorms(model);
  ASSERT_THAT(folded, IsOk());
  EXPECT_EQ(folded->folded, 20);
  EXPECT_EQ(CountOps(folded->model, "BatchNormalization"), 0);
  EXPECT_EQ(CountOps(folded->model, "Conv"), CountOps(model, "Conv"));

  std::vector<float> input(3 * 224 * 224);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.001f * i);
  const std::vector<float> expected = Infer(model, input);
  const std::vector<float> got = Infer(folded->model, input);
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i], expected[i], 1e-3 + 1e-3 * std::fabs(expected[i])) << i;
  }
  absl::StatusOr<onnx::ModelProto> dynamic = QuantizeModel(folded->model, PtqMode::kDynamic, {});
  EXPECT_THAT(dynamic, IsOk());
}

// A Conv (2 output channels, 1x1, no bias) followed by BatchNormalization
// with epsilon 0, by hand:
//   W = {3, 5}, gamma = {2, 6}, beta = {1, -1}, mean = {0.5, 2}, var = {4, 9}
//   s = gamma / sqrt(var) = {1, 2}; W' = W s = {3, 10};
//   b' = (0 - mean) s + beta = {0.5, -5}.
TEST(FoldBatchNormsTest, FormulaByHand) {
  onnx::ModelProto model;
  onnx::GraphProto& graph = *model.mutable_graph();
  auto add = [&](const std::string& name, std::vector<int64_t> dims, std::vector<float> values) {
    onnx::TensorProto& t = *graph.add_initializer();
    t.set_name(name);
    t.set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t.add_dims(d);
    for (float v : values) t.add_float_data(v);
  };
  add("w", {2, 1, 1, 1}, {3, 5});
  add("gamma", {2}, {2, 6});
  add("beta", {2}, {1, -1});
  add("mean", {2}, {0.5f, 2});
  add("var", {2}, {4, 9});
  onnx::NodeProto& conv = *graph.add_node();
  conv.set_op_type("Conv");
  conv.add_input("x");
  conv.add_input("w");
  conv.add_output("c");
  onnx::NodeProto& bn = *graph.add_node();
  bn.set_op_type("BatchNormalization");
  for (const char* input : {"c", "gamma", "beta", "mean", "var"}) bn.add_input(input);
  bn.add_output("y");
  onnx::AttributeProto& eps = *bn.add_attribute();
  eps.set_name("epsilon");
  eps.set_type(onnx::AttributeProto::FLOAT);
  eps.set_f(0.0f);
  graph.add_output()->set_name("y");

  absl::StatusOr<FoldedModel> folded = FoldBatchNorms(model);
  ASSERT_THAT(folded, IsOk());
  ASSERT_EQ(folded->folded, 1);
  const onnx::GraphProto& g = folded->model.graph();
  ASSERT_EQ(g.node_size(), 1);
  EXPECT_EQ(g.node(0).output(0), "y");
  ASSERT_EQ(g.initializer_size(), 2);  // BN parameters and the old weight are gone
  std::map<std::string, std::vector<float>> values;
  for (const onnx::TensorProto& t : g.initializer()) {
    std::vector<float> v(t.raw_data().size() / sizeof(float));
    std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
    values[t.name()] = v;
  }
  EXPECT_EQ(values["y_folded_weight"], (std::vector<float>{3, 10}));
  EXPECT_EQ(values["y_folded_bias"], (std::vector<float>{0.5f, -5}));
}

TEST(FoldBatchNormsTest, RejectsTrainingMode) {
  onnx::ModelProto model;
  onnx::NodeProto& bn = *model.mutable_graph()->add_node();
  bn.set_op_type("BatchNormalization");
  for (const char* input : {"c", "gamma", "beta", "mean", "var"}) bn.add_input(input);
  bn.add_output("y");
  bn.add_output("running_mean");
  EXPECT_THAT(FoldBatchNorms(model).status().message(), HasSubstr("training mode"));
}

// Binary16 goldens (IEEE 754): 1 = 0x3C00, -2 = 0xC000, 65504 = 0x7BFF (max),
// 65520 rounds to infinity 0x7C00, 2^-24 = 0x0001 (smallest subnormal),
// 1 + 2^-11 is a tie between 1 and 1 + 2^-10 and rounds to even (0x3C00).
TEST(FloatToHalfTest, Goldens) {
  EXPECT_EQ(FloatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(FloatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);
}

}  // namespace
}  // namespace edgecompress::quantization
