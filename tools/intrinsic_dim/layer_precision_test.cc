#include "tools/intrinsic_dim/layer_precision.h"

#include <onnx/onnx_pb.h>

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/intrinsic_dim/layer_activations.h"
#include "tools/status/status_matchers.h"
#include "training/onnx/onnx_file.h"

namespace edgecompress::intrinsic_dim_tool {
namespace {

using ::testing::HasSubstr;

onnx::ModelProto SmallCnn() {
  absl::StatusOr<onnx::ModelProto> model =
      training::ReadOnnxFile("inference/testdata/small_cnn.onnx");
  EXPECT_THAT(model, IsOk());
  return model.value_or(onnx::ModelProto());
}

// Distinct pseudo-random images of small_cnn's [3, 16, 16] input.
std::vector<float> Images(int count) {
  std::vector<float> images(count * 3 * 16 * 16);
  for (size_t i = 0; i < images.size(); ++i) images[i] = std::sin(0.37f * i + 0.001f * i * i);
  return images;
}

// The analysis is the estimators and the rule applied to the collected
// activations: recomputed here layer by layer from the same inputs.
TEST(LayerPrecisionTest, AppliesTheRuleToTheChosenEstimate) {
  const onnx::ModelProto model = SmallCnn();
  const std::vector<float> images = Images(40);
  for (const Significance significance :
       {Significance::kTwoNnFit, Significance::kTwoNnMl, Significance::kPca}) {
    const LayerPrecisionOptions options{.significance = significance,
                                        .bits = {.delta = 0.5},
                                        .batch_size = 20};
    absl::StatusOr<LayerPrecisionAnalysis> analysis =
        AnalyzeLayerPrecision(model, images, 40, options);
    ASSERT_THAT(analysis, IsOk());
    absl::StatusOr<std::vector<LayerActivations>> activations =
        CollectLayerActivations(model, images, 40, 20, 1);
    ASSERT_THAT(activations, IsOk());
    ASSERT_EQ(analysis->layers.size(), activations->size());
    std::vector<double> dimensions;
    std::vector<intrinsic_dim::LayerSize> sizes;
    for (size_t l = 0; l < activations->size(); ++l) {
      const LayerActivations& a = (*activations)[l];
      absl::StatusOr<DimensionEstimates> e = EstimateDimensions(a.values, a.shape);
      ASSERT_THAT(e, IsOk());
      const LayerPrecisionRow& row = analysis->layers[l];
      EXPECT_EQ(row.layer, a.layer);
      EXPECT_EQ(row.parameters, a.parameters);
      EXPECT_DOUBLE_EQ(row.estimates.twonn_fit, e->twonn_fit);
      EXPECT_EQ(row.estimates.pca, e->pca);
      dimensions.push_back(significance == Significance::kPca ? static_cast<double>(e->pca)
                           : significance == Significance::kTwoNnMl ? e->twonn_ml
                                                                    : e->twonn_fit);
    }
    absl::StatusOr<std::vector<intrinsic_dim::LayerPrecision>> want =
        intrinsic_dim::AllocateBits(dimensions, options.bits);
    ASSERT_THAT(want, IsOk());
    for (size_t l = 0; l < want->size(); ++l) {
      EXPECT_EQ(analysis->layers[l].precision.bits, (*want)[l].bits) << l;
      EXPECT_EQ(analysis->layers[l].precision.criterion, (*want)[l].criterion) << l;
      sizes.push_back({analysis->layers[l].parameters, (*want)[l].bits});
    }
    EXPECT_EQ(analysis->layers.front().precision.bits, 32);
    EXPECT_EQ(analysis->layers.back().precision.bits, 32);
    EXPECT_DOUBLE_EQ(analysis->memory_reduction, *intrinsic_dim::MemoryReduction(sizes));

    const nlohmann::json json = LayerPrecisionJson(*analysis, "pca_95");
    ASSERT_EQ(json.size(), analysis->layers.size());
    EXPECT_TRUE(json[0]["criterion"].is_null());
    EXPECT_EQ(json[1]["bits"], analysis->layers[1].precision.bits);
    EXPECT_EQ(json[1]["pca_95"], analysis->layers[1].estimates.pca);
    EXPECT_THAT(FormatLayerPrecisionTable(*analysis), HasSubstr(analysis->layers[1].layer));
  }
}

// Identical images give every layer duplicate points: no TwoNN estimate,
// reported as the layer's failure, not as bad input.
TEST(LayerPrecisionTest, DuplicateActivationsNameTheLayer) {
  const onnx::ModelProto model = SmallCnn();
  const std::vector<float> images(4 * 3 * 16 * 16, 0.5f);
  const absl::Status status = AnalyzeLayerPrecision(model, images, 4, {.batch_size = 2}).status();
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("layer '"));
}

TEST(LayerPrecisionTest, ParsesSignificanceNames) {
  EXPECT_EQ(*ParseSignificance("twonn_fit"), Significance::kTwoNnFit);
  EXPECT_EQ(*ParseSignificance("twonn_ml"), Significance::kTwoNnMl);
  EXPECT_EQ(*ParseSignificance("pca"), Significance::kPca);
  EXPECT_THAT(ParseSignificance("mle").status().message(), HasSubstr("expected twonn_fit"));
}

}  // namespace
}  // namespace edgecompress::intrinsic_dim_tool
