#include "tools/compress/weight_sharing.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::compress {
namespace {

using ::testing::HasSubstr;

onnx::TensorProto FloatTensor(const std::string& name, std::vector<int64_t> dims,
                              const std::vector<float>& values, bool raw) {
  onnx::TensorProto tensor;
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tensor.add_dims(d);
  if (raw) {
    tensor.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()),
                                    values.size() * sizeof(float)));
  } else {
    for (float v : values) tensor.add_float_data(v);
  }
  return tensor;
}

std::vector<float> Values(const onnx::TensorProto& tensor) {
  std::vector<float> values(tensor.raw_data().size() / sizeof(float));
  std::memcpy(values.data(), tensor.raw_data().data(), tensor.raw_data().size());
  return values;
}

// A Gemm [4 x 6] (raw_data, half zeros, 12 distinct non-zeros) with a bias
// of 4 and a Conv [2, 1, 2, 2] (float_data, no zeros) without bias.
onnx::ModelProto TwoLayers() {
  onnx::ModelProto model;
  onnx::GraphProto& graph = *model.mutable_graph();
  std::vector<float> fc(24, 0.0f);
  for (int i = 0; i < 12; ++i) fc[2 * i + 1] = (i % 2 ? -1.0f : 1.0f) * (0.1f + 0.05f * i);
  *graph.add_initializer() = FloatTensor("fc.weight", {4, 6}, fc, true);
  *graph.add_initializer() = FloatTensor("fc.bias", {4}, {1, 2, 3, 4}, true);
  *graph.add_initializer() =
      FloatTensor("conv.weight", {2, 1, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}, false);
  onnx::NodeProto& conv = *graph.add_node();
  conv.set_op_type("Conv");
  conv.set_name("conv");
  conv.add_input("x");
  conv.add_input("conv.weight");
  conv.add_output("c");
  onnx::NodeProto& gemm = *graph.add_node();
  gemm.set_op_type("Gemm");
  gemm.set_name("fc");
  gemm.add_input("f");
  gemm.add_input("fc.weight");
  gemm.add_input("fc.bias");
  gemm.add_output("y");
  return model;
}

TEST(ShareWeightsTest, SharesNonZerosAndKeepsZeros) {
  const onnx::ModelProto model = TwoLayers();
  absl::StatusOr<WeightSharingResult> result =
      ShareWeights(model, {.num_clusters = 4, .conv_index_bits = 8, .fc_index_bits = 5});
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->layers.size(), 2u);
  const SharedLayer& conv = result->layers[0];
  const SharedLayer& fc = result->layers[1];
  EXPECT_EQ(conv.op, "Conv");
  EXPECT_EQ(conv.clusters, 4);
  EXPECT_EQ(conv.size.nonzeros, 8);
  EXPECT_EQ(conv.other_parameters, 0);
  EXPECT_EQ(fc.op, "Gemm");
  EXPECT_EQ(fc.size.weights, 24);
  EXPECT_EQ(fc.size.nonzeros, 12);
  EXPECT_EQ(fc.other_parameters, 4);

  const std::vector<float> shared = Values(result->model.graph().initializer(0));
  std::set<float> distinct;
  for (size_t i = 0; i < shared.size(); ++i) {
    if (i % 2 == 0) {
      EXPECT_EQ(shared[i], 0.0f) << i;  // pruned stays pruned
    } else {
      EXPECT_NE(shared[i], 0.0f) << i;
      distinct.insert(shared[i]);
    }
  }
  EXPECT_LE(distinct.size(), 4u);
  // The conv's 1..8 in 4 linear clusters: {1,2}, {3,4}, {5,6}, {7,8} -> means.
  EXPECT_EQ(Values(result->model.graph().initializer(2)),
            (std::vector<float>{1.5f, 1.5f, 3.5f, 3.5f, 5.5f, 5.5f, 7.5f, 7.5f}));
  EXPECT_EQ(result->model.graph().initializer(2).float_data_size(), 0);

  EXPECT_EQ(result->dense_bits, 32 * (8 + 24 + 4));
  EXPECT_EQ(result->coded_bits, conv.size.total_bits + fc.size.total_bits + 32 * 4);
}

// Weights that already take at most k values keep them exactly.
TEST(ShareWeightsTest, AlreadySharedWeightsStayExact) {
  onnx::ModelProto model = TwoLayers();
  *model.mutable_graph()->mutable_initializer(2) =
      FloatTensor("conv.weight", {2, 1, 2, 2}, {0.5f, -0.25f, 0, 0.5f, 0.125f, 0.125f, -0.25f, 0}, true);
  absl::StatusOr<WeightSharingResult> result = ShareWeights(model, {.num_clusters = 3});
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->layers[0].clusters, 3);
  EXPECT_EQ(Values(result->model.graph().initializer(2)),
            (std::vector<float>{0.5f, -0.25f, 0, 0.5f, 0.125f, 0.125f, -0.25f, 0}));
}

TEST(ShareWeightsTest, RejectsBadModels) {
  onnx::ModelProto model = TwoLayers();
  model.mutable_graph()->mutable_initializer(2)->add_float_data(9.0f);
  EXPECT_THAT(ShareWeights(model, {}).status().message(),
              HasSubstr("node 'conv' (Conv) weight 'conv.weight' has 9 floats for dims of 8"));
  model = TwoLayers();
  model.mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::INT8);
  EXPECT_THAT(ShareWeights(model, {}).status().message(), HasSubstr("is not FLOAT"));
  EXPECT_EQ(ShareWeights(onnx::ModelProto(), {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ShareWeights(TwoLayers(), {.bias_bits = 0}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace edgecompress::compress
