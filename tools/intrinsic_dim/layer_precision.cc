#include "tools/intrinsic_dim/layer_precision.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/intrinsic_dim/layer_activations.h"
#include "tools/status/status_macros.h"

namespace edgecompress::intrinsic_dim_tool {

absl::StatusOr<Significance> ParseSignificance(absl::string_view name) {
  if (name == "twonn_fit") return Significance::kTwoNnFit;
  if (name == "twonn_ml") return Significance::kTwoNnMl;
  if (name == "pca") return Significance::kPca;
  return absl::InvalidArgumentError(
      absl::StrCat("significance '", name, "': expected twonn_fit, twonn_ml or pca"));
}

absl::StatusOr<LayerPrecisionAnalysis> AnalyzeLayerPrecision(const onnx::ModelProto& model,
                                                             absl::Span<const float> images,
                                                             int64_t num_images,
                                                             const LayerPrecisionOptions& options) {
  ASSIGN_OR_RETURN(std::vector<LayerActivations> activations,
                   CollectLayerActivations(model, images, num_images, options.batch_size,
                                           options.num_threads));
  LayerPrecisionAnalysis analysis;
  std::vector<double> dimensions;
  for (LayerActivations& layer : activations) {
    absl::StatusOr<DimensionEstimates> e =
        EstimateDimensions(layer.values, layer.shape, options.estimates);
    if (!e.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("layer '", layer.layer, "': ", e.status().message()));
    }
    dimensions.push_back(options.significance == Significance::kPca ? static_cast<double>(e->pca)
                         : options.significance == Significance::kTwoNnMl ? e->twonn_ml
                                                                          : e->twonn_fit);
    analysis.layers.push_back({.layer = std::move(layer.layer),
                               .op = std::move(layer.op),
                               .value = std::move(layer.value),
                               .shape = std::move(layer.shape),
                               .parameters = layer.parameters,
                               .estimates = *e});
  }
  ASSIGN_OR_RETURN(const std::vector<intrinsic_dim::LayerPrecision> precisions,
                   intrinsic_dim::AllocateBits(dimensions, options.bits));
  std::vector<intrinsic_dim::LayerSize> sizes;
  for (size_t l = 0; l < analysis.layers.size(); ++l) {
    analysis.layers[l].precision = precisions[l];
    sizes.push_back({analysis.layers[l].parameters, precisions[l].bits});
  }
  ASSIGN_OR_RETURN(analysis.memory_reduction, intrinsic_dim::MemoryReduction(sizes));
  return analysis;
}

nlohmann::json LayerPrecisionJson(const LayerPrecisionAnalysis& analysis,
                                  const std::string& pca_key) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerPrecisionRow& row : analysis.layers) {
    const DimensionEstimates& e = row.estimates;
    layers.push_back({{"layer", row.layer},
                      {"op", row.op},
                      {"value", row.value},
                      {"shape", row.shape},
                      {"parameters", row.parameters},
                      {"n_points", e.n_points},
                      {"dimension", e.dimension},
                      {"twonn_ml", e.twonn_ml},
                      {"twonn_fit", e.twonn_fit},
                      {pca_key, e.pca},
                      {"pca_points", e.pca_points},
                      {"duplicates", e.duplicates},
                      {"criterion", row.precision.criterion
                                        ? nlohmann::json(*row.precision.criterion)
                                        : nlohmann::json()},
                      {"significant", row.precision.significant},
                      {"bits", row.precision.bits}});
  }
  return layers;
}

std::string FormatLayerPrecisionTable(const LayerPrecisionAnalysis& analysis) {
  std::string table = absl::StrFormat("%-16s %-7s %12s %9s %9s %6s %10s %5s\n", "layer", "op",
                                      "parameters", "twonn_ml", "twonn_fit", "pca", "criterion",
                                      "bits");
  for (const LayerPrecisionRow& row : analysis.layers) {
    const std::string criterion =
        row.precision.criterion ? absl::StrFormat("%.2f", *row.precision.criterion) : "-";
    absl::StrAppendFormat(&table, "%-16s %-7s %12d %9.2f %9.2f %6d %10s %5d\n", row.layer,
                          row.op, row.parameters, row.estimates.twonn_ml,
                          row.estimates.twonn_fit, row.estimates.pca, criterion,
                          row.precision.bits);
  }
  return table;
}

}  // namespace edgecompress::intrinsic_dim_tool
