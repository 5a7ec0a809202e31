#include "lowrank/onnx_factorize.h"

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "inference/sparse/random_pruned_models.h"
#include "lowrank/factorization.h"
#include "onnx/onnx_pb.h"
#include "tools/status/status_matchers.h"
#include "training/models/layer_graph.h"

namespace edgecompress::lowrank {
namespace {

using ::testing::HasSubstr;
using training::LayerGraph;

// conv 3x3 (4 -> 8 channels, stride 2, padding 1), relu, pool, fc 8 -> 6.
onnx::ModelProto SmallModel() {
  LayerGraph graph({4, 6, 6});
  std::string x = graph.Conv2d("conv", LayerGraph::kInput,
                               {.in_channels = 4,
                                .out_channels = 8,
                                .kernel_size = 3,
                                .stride = 2,
                                .padding = 1});
  x = graph.Flatten(graph.GlobalAveragePool(graph.Relu(x)));
  graph.SetOutput(graph.Linear("fc", x, {.in_features = 8, .out_features = 6}));
  absl::StatusOr<onnx::ModelProto> model =
      inference::sparse::RandomPrunedModel(graph, {.sparsity = 0.0, .seed = 3});
  EXPECT_THAT(model.status(), IsOk());
  return *model;
}

std::vector<float> Outputs(const onnx::ModelProto& model) {
  absl::StatusOr<inference::OnnxModel> imported =
      inference::OnnxModel::ImportBytes(model.SerializeAsString(), {.batch_size = 2});
  EXPECT_THAT(imported.status(), IsOk());
  absl::StatusOr<inference::OnnxRuntime> runtime = imported->Build(1);
  EXPECT_THAT(runtime.status(), IsOk());
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> input(2 * 4 * 6 * 6);
  for (float& v : input) v = uniform(rng);
  std::vector<float> output(runtime->output_size());
  EXPECT_THAT(runtime->Run(input, absl::MakeSpan(output)), IsOk());
  return output;
}

// Replaces "<layer>.weight" by its best rank-`rank` approximation.
void Project(onnx::ModelProto& model, const std::string& layer, int rank) {
  for (onnx::TensorProto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.name() != layer + ".weight") continue;
    std::vector<float> w(tensor.raw_data().size() / sizeof(float));
    std::memcpy(w.data(), tensor.raw_data().data(), tensor.raw_data().size());
    const int rows = static_cast<int>(tensor.dims(0));
    ASSERT_THAT(ProjectToRank(absl::MakeSpan(w), rows, static_cast<int>(w.size()) / rows, rank),
                IsOk());
    tensor.set_raw_data(w.data(), w.size() * sizeof(float));
  }
}

void ExpectClose(const std::vector<float>& actual, const std::vector<float>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_NEAR(actual[i], expected[i], 1e-4 * std::max(1.0f, std::abs(expected[i]))) << i;
  }
}

// A model whose layers already have rank r (what low-rank training leaves)
// runs the same factorised at r: conv is 8 x 36 (rank 3), fc 6 x 8 (rank 2).
TEST(OnnxFactorizeTest, FactorisedModelComputesTheSame) {
  onnx::ModelProto model = SmallModel();
  Project(model, "conv", 3);
  Project(model, "fc", 2);
  const std::vector<float> expected = Outputs(model);
  const int nodes = model.graph().node_size();

  absl::StatusOr<std::vector<FactorizedLayer>> layers =
      FactorizeOnnxLayers(model, {{"conv", 3}, {"fc", 2}});
  ASSERT_THAT(layers.status(), IsOk());
  ASSERT_EQ(layers->size(), 2u);
  EXPECT_EQ((*layers)[0].op_type, "Conv");
  EXPECT_EQ((*layers)[0].rows, 8);
  EXPECT_EQ((*layers)[0].cols, 36);
  EXPECT_EQ((*layers)[0].weights_before, 288);
  EXPECT_EQ((*layers)[0].weights_after, 3 * (8 + 36));
  EXPECT_LT((*layers)[0].relative_error, 1e-5);
  EXPECT_EQ((*layers)[1].op_type, "Gemm");
  EXPECT_EQ((*layers)[1].weights_after, 2 * (6 + 8));
  EXPECT_EQ(model.graph().node_size(), nodes + 2);
  ExpectClose(Outputs(model), expected);
}

// Replaces "<layer>.weight" by its best rank-`rank` approximation as a
// spatial matrix [(C kh) x (O kw)].
void ProjectSpatially(onnx::ModelProto& model, const std::string& layer, int rank) {
  for (onnx::TensorProto& tensor : *model.mutable_graph()->mutable_initializer()) {
    if (tensor.name() != layer + ".weight") continue;
    std::vector<float> w(tensor.raw_data().size() / sizeof(float));
    std::memcpy(w.data(), tensor.raw_data().data(), tensor.raw_data().size());
    const int o = tensor.dims(0), c = tensor.dims(1), kh = tensor.dims(2), kw = tensor.dims(3);
    std::vector<float> m = SpatialMatrix(w, o, c, kh, kw);
    ASSERT_THAT(ProjectToRank(absl::MakeSpan(m), c * kh, o * kw, rank), IsOk());
    w = KernelFromSpatialMatrix(m, o, c, kh, kw);
    tensor.set_raw_data(w.data(), w.size() * sizeof(float));
  }
}

// The spatial split (a 3x1 then a 1x3 Conv, the stride 2 and padding 1 split
// between them) of a kernel of spatial rank 2: the conv's matrix is
// [4 * 3, 8 * 3] = 12 x 24, 2 * (12 + 24) = 72 weights instead of 288.
TEST(OnnxFactorizeTest, SpatialSplitComputesTheSame) {
  onnx::ModelProto model = SmallModel();
  ProjectSpatially(model, "conv", 2);
  const std::vector<float> expected = Outputs(model);
  absl::StatusOr<std::vector<FactorizedLayer>> layers =
      FactorizeOnnxLayers(model, {{"conv", LayerRank(2, /*spatial=*/true)}});
  ASSERT_THAT(layers.status(), IsOk());
  EXPECT_EQ((*layers)[0].rows, 12);
  EXPECT_EQ((*layers)[0].cols, 24);
  EXPECT_EQ((*layers)[0].weights_after, 72);
  EXPECT_LT((*layers)[0].relative_error, 1e-5);
  std::vector<std::string> kernels;
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.op_type() != "Conv") continue;
    for (const onnx::AttributeProto& a : node.attribute()) {
      if (a.name() == "kernel_shape") kernels.push_back(absl::StrCat(a.ints(0), "x", a.ints(1)));
    }
  }
  EXPECT_THAT(kernels, ::testing::ElementsAre("3x1", "1x3"));
  ExpectClose(Outputs(model), expected);
  EXPECT_THAT(FactorizeOnnxLayers(model, {{"fc", LayerRank(1, true)}}).status().message(),
              HasSubstr("a spatial split is for a Conv"));
}

// Below the weight's rank the error is reported, not hidden.
TEST(OnnxFactorizeTest, ReportsTheTruncationError) {
  onnx::ModelProto model = SmallModel();
  absl::StatusOr<std::vector<FactorizedLayer>> layers = FactorizeOnnxLayers(model, {{"fc", 1}});
  ASSERT_THAT(layers.status(), IsOk());
  EXPECT_GT((*layers)[0].relative_error, 0.1);
}

TEST(OnnxFactorizeTest, ErrorsLeaveTheModelUnchanged) {
  onnx::ModelProto model = SmallModel();
  const std::string before = model.SerializeAsString();
  EXPECT_THAT(FactorizeOnnxLayers(model, {{"conv", 2}, {"fc9", 1}}).status().message(),
              HasSubstr("layer 'fc9': no initializer 'fc9.weight'"));
  EXPECT_THAT(FactorizeOnnxLayers(model, {{"fc", 7}}).status().message(),
              HasSubstr("layer 'fc': rank 7 is outside 1..6"));
  EXPECT_EQ(model.SerializeAsString(), before);
  // A weight another node reads too (here an Identity) is not replaced.
  onnx::NodeProto* reader = model.mutable_graph()->add_node();
  reader->set_op_type("Identity");
  reader->add_input("fc.weight");
  reader->add_output("fc.weight.copy");
  EXPECT_THAT(FactorizeOnnxLayers(model, {{"fc", 2}}).status().message(),
              HasSubstr("'fc.weight' is read by 2 inputs, not one"));
}

}  // namespace
}  // namespace edgecompress::lowrank
