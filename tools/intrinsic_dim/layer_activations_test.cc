#include "tools/intrinsic_dim/layer_activations.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::intrinsic_dim_tool {
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

// inference/testdata's small_cnn (PyTorch-exported, input [N, 3, 16, 16],
// see make_models.py) ends in `softmax(4 * (x @ matmul_weight))`: its last
// layer is that MatMul, whose activation through the model's own softmax
// must give the model's output; every layer reports its initializers.
TEST(LayerActivationsTest, LastLayerIsTheModelOutput) {
  const std::string path = "inference/testdata/small_cnn.onnx";
  const onnx::ModelProto model = ReadModel(path);
  std::vector<float> images(4 * 3 * 16 * 16);
  for (size_t i = 0; i < images.size(); ++i) images[i] = std::sin(0.37f * i);

  absl::StatusOr<std::vector<LayerActivations>> layers =
      CollectLayerActivations(model, images, 4, 2, 1);
  ASSERT_THAT(layers, IsOk());
  ASSERT_GE(layers->size(), 2u);
  for (const LayerActivations& layer : *layers) {
    EXPECT_GT(layer.parameters, 0) << layer.layer;
    EXPECT_EQ(layer.shape[0], 4u) << layer.layer;
    size_t elements = 1;
    for (size_t size : layer.shape) elements *= size;
    EXPECT_EQ(layer.values.size(), elements) << layer.layer;
  }

  absl::StatusOr<inference::OnnxModel> full =
      inference::OnnxModel::ImportFile(path, {.batch_size = 4});
  ASSERT_THAT(full, IsOk());
  absl::StatusOr<inference::OnnxRuntime> runtime = full->Build(1);
  ASSERT_THAT(runtime, IsOk());
  std::vector<float> logits(runtime->output_size());
  ASSERT_THAT(runtime->Run(images, absl::MakeSpan(logits)), IsOk());
  const LayerActivations& last = layers->back();
  EXPECT_EQ(last.op, "MatMul");
  EXPECT_EQ(last.parameters, 32 * 10);
  ASSERT_EQ(last.shape, (std::vector<size_t>{4, 10}));
  for (size_t n = 0; n < 4; ++n) {
    double sum = 0;
    for (size_t c = 0; c < 10; ++c) sum += std::exp(4.0 * last.values[n * 10 + c]);
    for (size_t c = 0; c < 10; ++c) {
      EXPECT_NEAR(std::exp(4.0 * last.values[n * 10 + c]) / sum, logits[n * 10 + c], 1e-5);
    }
  }
}

TEST(LayerActivationsTest, RejectsPartialBatches) {
  const onnx::ModelProto model = ReadModel("inference/testdata/small_cnn.onnx");
  std::vector<float> images(3 * 3 * 16 * 16);
  EXPECT_THAT(CollectLayerActivations(model, images, 3, 2, 1).status().message(),
              HasSubstr("not whole batches of 2"));
  onnx::ModelProto empty;
  EXPECT_THAT(CollectLayerActivations(empty, images, 2, 2, 1).status().message(),
              HasSubstr("no Conv, Gemm or MatMul"));
}

}  // namespace
}  // namespace edgecompress::intrinsic_dim_tool
