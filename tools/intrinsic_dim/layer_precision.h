// tools/intrinsic_dim --model's analysis as a library, so that every tool
// that chooses bit widths (tools/intrinsic_dim, tools/compress's chain) runs
// the same one: the activations of each layer of a trained ONNX classifier
// (layer_activations.h), their intrinsic dimension (dimension_estimates.h),
// and the thesis's significance rule (intrinsic_dim/bit_allocation.h) over
// the estimate chosen by `significance`.
#ifndef EDGECOMPRESS_TOOLS_INTRINSIC_DIM_LAYER_PRECISION_H_
#define EDGECOMPRESS_TOOLS_INTRINSIC_DIM_LAYER_PRECISION_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "intrinsic_dim/bit_allocation.h"
#include "nlohmann/json.hpp"
#include "onnx/onnx_pb.h"
#include "tools/intrinsic_dim/dimension_estimates.h"

namespace edgecompress::intrinsic_dim_tool {

// The estimate the significance rule reads.
enum class Significance { kTwoNnFit, kTwoNnMl, kPca };

// "twonn_fit", "twonn_ml" or "pca"; kInvalidArgument otherwise.
absl::StatusOr<Significance> ParseSignificance(absl::string_view name);

struct LayerPrecisionOptions {
  EstimateOptions estimates;
  Significance significance = Significance::kTwoNnFit;
  intrinsic_dim::BitAllocationOptions bits;
  int batch_size = 50;  // images per inference batch; divides the image count
  int num_threads = 1;  // XNNPACK threads
};

struct LayerPrecisionRow {
  std::string layer, op, value;  // as LayerActivations names them
  std::vector<size_t> shape;
  int64_t parameters = 0;
  DimensionEstimates estimates;
  intrinsic_dim::LayerPrecision precision;
};

struct LayerPrecisionAnalysis {
  std::vector<LayerPrecisionRow> layers;  // in graph order
  double memory_reduction = 1.0;          // of the chosen bit widths
};

// `images`: `num_images` NCHW inputs normalised as in training. Errors name
// the layer: kFailedPrecondition when a layer's activations admit no
// estimate (duplicates, too few distinct samples), kInvalidArgument for bad
// inputs or options, import and run errors as CollectLayerActivations gives.
absl::StatusOr<LayerPrecisionAnalysis> AnalyzeLayerPrecision(const onnx::ModelProto& model,
                                                             absl::Span<const float> images,
                                                             int64_t num_images,
                                                             const LayerPrecisionOptions& options);

// The "layers" array of tools/intrinsic_dim --model's result, which
// train_prune --low_bit_from reads: per layer its estimates (PCA's under
// `pca_key`), criterion, significance and bits.
nlohmann::json LayerPrecisionJson(const LayerPrecisionAnalysis& analysis,
                                  const std::string& pca_key);

// A fixed-width table of the same, one line per layer, for logs.
std::string FormatLayerPrecisionTable(const LayerPrecisionAnalysis& analysis);

}  // namespace edgecompress::intrinsic_dim_tool

#endif  // EDGECOMPRESS_TOOLS_INTRINSIC_DIM_LAYER_PRECISION_H_
