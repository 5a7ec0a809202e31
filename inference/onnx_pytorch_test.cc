// Models exported by PyTorch (inference/testdata/make_models.py, run by
// Bazel genrules): our XNNPACK outputs against PyTorch's on the same input.
//
// Tolerance: |ours - pytorch| <= 1e-4 * max(1, |pytorch|), absolute below 1
// and relative above; logits here are O(0.1..5). Both sides are fp32 with
// different summation orders (and BatchNorm folded in double by us, by the
// exporter or not at all by PyTorch), so exact equality is not expected; the
// largest difference is printed to show the margin.
//
// One binary, one cc_test target per model (see BUILD), so the large models
// run in parallel and each stays well under 30 s.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace inference {
namespace {

using ::testing::ElementsAre;

constexpr double kTolerance = 1e-4;
constexpr char kTestdata[] = "inference/testdata/";

std::vector<float> ReadFloats(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << "cannot open " << path;
  const std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<float> values(bytes.size() / sizeof(float));
  std::copy(bytes.begin(), bytes.begin() + values.size() * sizeof(float),
            reinterpret_cast<char*>(values.data()));
  return values;
}

// Imports `name`, runs it on its input and compares with PyTorch's output.
void ExpectMatchesPyTorch(const std::string& name, int num_threads, OnnxImportStats* stats,
                          const OnnxImportOptions& options = {}) {
  SCOPED_TRACE(absl::StrCat(name, ", ", num_threads, " threads"));
  const std::string prefix = absl::StrCat(kTestdata, name);
  const std::vector<float> input = ReadFloats(prefix + "_input.bin");
  const std::vector<float> expected = ReadFloats(prefix + "_output.bin");
  absl::StatusOr<OnnxModel> model = OnnxModel::ImportFile(prefix + ".onnx", options);
  ASSERT_THAT(model, IsOk());
  *stats = model->stats();
  absl::StatusOr<OnnxRuntime> runtime = model->Build(num_threads);
  ASSERT_THAT(runtime, IsOk());
  ASSERT_EQ(runtime->input_size(), input.size());
  ASSERT_EQ(runtime->output_size(), expected.size());
  std::vector<float> output(expected.size());
  ASSERT_THAT(runtime->Run(input, absl::MakeSpan(output)), IsOk());
  double max_diff = 0.0, max_expected = 0.0;
  size_t mismatches = 0;
  for (size_t i = 0; i < output.size(); ++i) {
    const double diff = std::abs(double{output[i]} - expected[i]);
    max_diff = std::max(max_diff, diff);
    max_expected = std::max(max_expected, std::abs(double{expected[i]}));
    if (!(diff <= kTolerance * std::max(1.0, std::abs(double{expected[i]})))) ++mismatches;
  }
  EXPECT_EQ(mismatches, 0u) << "max |diff| " << max_diff;
  std::printf("%s, %d threads: max |ours - pytorch| = %.3g over %zu outputs (max |pytorch| %.3g)\n",
              name.c_str(), num_threads, max_diff, output.size(), max_expected);
}

// Conv+BN folded 3 times, one BN after an Add as multiply+add, MaxPool with
// ceil_mode, dilated depthwise, grouped conv, HardSwish, squeeze-excite,
// AvgPool via Pad (count_include_pad), x.view(x.size(0), -1) through
// Shape/Gather/Unsqueeze/Concat/Reshape, Gemm, Clip, MatMul, Softmax.
TEST(OnnxPyTorchTest, SmallCnn) {
  OnnxImportOptions batch_of_two;  // the exported batch dimension is symbolic
  batch_of_two.batch_size = 2;
  OnnxImportStats stats;
  ExpectMatchesPyTorch("small_cnn", 1, &stats, batch_of_two);
  EXPECT_EQ(stats.folded_batch_norms, 3);
  EXPECT_EQ(stats.unfolded_batch_norms, 1);
  EXPECT_GT(stats.folded_constant_nodes, 0);
  ExpectMatchesPyTorch("small_cnn", 2, &stats, batch_of_two);

  // Batch 1 on the first sample gives the first row of PyTorch's output.
  const std::vector<float> input = ReadFloats(absl::StrCat(kTestdata, "small_cnn_input.bin"));
  const std::vector<float> expected = ReadFloats(absl::StrCat(kTestdata, "small_cnn_output.bin"));
  OnnxImportOptions options;
  options.batch_size = 1;
  absl::StatusOr<OnnxModel> model =
      OnnxModel::ImportFile(absl::StrCat(kTestdata, "small_cnn.onnx"), options);
  ASSERT_THAT(model, IsOk());
  EXPECT_THAT(model->input_shape(), ElementsAre(1, 3, 16, 16));
  absl::StatusOr<OnnxRuntime> runtime = model->Build(1);
  ASSERT_THAT(runtime, IsOk());
  std::vector<float> output(10);
  ASSERT_THAT(
      runtime->Run(absl::MakeConstSpan(input).subspan(0, 3 * 16 * 16), absl::MakeSpan(output)),
      IsOk());
  for (size_t i = 0; i < 10; ++i) EXPECT_NEAR(output[i], expected[i], kTolerance);
}

// torchvision ResNet-18, BatchNormalization kept by the exporter: all 20
// fold into their convolutions.
TEST(OnnxPyTorchTest, ResNet18) {
  OnnxImportStats stats;
  ExpectMatchesPyTorch("resnet18", 1, &stats);
  EXPECT_EQ(stats.folded_batch_norms, 20);
  EXPECT_EQ(stats.unfolded_batch_norms, 0);
}

// torchvision MobileNetV2 exported in eval mode (BatchNorm already folded,
// Clip with Constant bounds, 17 depthwise convolutions), on two threads too.
TEST(OnnxPyTorchTest, MobileNetV2) {
  OnnxImportStats stats;
  ExpectMatchesPyTorch("mobilenet_v2", 1, &stats);
  EXPECT_EQ(stats.folded_batch_norms, 0);
  ExpectMatchesPyTorch("mobilenet_v2", 2, &stats);
}

}  // namespace
}  // namespace inference
}  // namespace edgecompress
