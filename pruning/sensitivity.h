// Sensitivity analysis: how much accuracy each layer loses when it alone is
// pruned, to choose per-layer sparsities or the layers to leave dense.
//
// Han et al., "Learning both Weights and Connections" (2015), Fig. 6; Li et
// al., "Pruning Filters for Efficient ConvNets" (2017), Fig. 2; Distiller's
// perform_sensitivity_analysis, which the ResNet-56 study's layer groups
// came from. For each layer and each sparsity:
//   1. the caller prunes that layer alone to that sparsity (magnitude masks,
//      or filters for structured sensitivity) on a copy of the dense model;
//   2. evaluates it on held-out data, without retraining;
//   3. returns the accuracy, which is recorded with its drop from the dense
//      model's: drop = dense - accuracy (positive: worse).
// The driver knows no framework: the evaluation is a callback, and it calls
// it layer by layer, sparsities in the order given (Distiller's order).
//
// Cost: layers * sparsities evaluations, which dominate everything else.
#ifndef EDGECOMPRESS_PRUNING_SENSITIVITY_H_
#define EDGECOMPRESS_PRUNING_SENSITIVITY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "nlohmann/json.hpp"

namespace edgecompress::pruning {

// Accuracy (in the caller's unit, e.g. top-1 percent) of the model with only
// `layer` pruned to `sparsity`. An error stops the analysis.
using EvaluatePrunedLayer =
    std::function<absl::StatusOr<double>(const std::string& layer, double sparsity)>;

struct SensitivityRow {
  std::string layer;
  double sparsity = 0.0;
  double accuracy = 0.0;
  double drop = 0.0;  // dense_accuracy - accuracy
};

struct SensitivityTable {
  double dense_accuracy = 0.0;
  std::vector<std::string> layers;    // as given
  std::vector<double> sparsities;     // as given, ascending
  std::vector<SensitivityRow> rows;   // layer-major: rows[l * sparsities.size() + s]
};

// 0.1, 0.2, ..., 0.9.
std::vector<double> DefaultSensitivitySparsities();

// Runs the analysis. Errors: kInvalidArgument for no layers, a repeated
// layer, no sparsities, or sparsities that are not ascending fractions in
// [0, 1); an evaluation's error, with the layer and sparsity prepended.
absl::StatusOr<SensitivityTable> AnalyzeSensitivity(absl::Span<const std::string> layers,
                                                    absl::Span<const double> sparsities,
                                                    double dense_accuracy,
                                                    const EvaluatePrunedLayer& evaluate);

// The highest sparsity s of the table such that `layer` loses at most
// `max_drop` at s and at every lower sparsity of the table (accuracy is not
// always monotone in sparsity; a later recovery does not count); 0 when even
// the lowest loses more, or the layer is not in the table.
double MaxSparsityWithinDrop(const SensitivityTable& table, const std::string& layer,
                             double max_drop);

// "layer,sparsity,accuracy,drop" and one line per row.
std::string SensitivityCsv(const SensitivityTable& table);

// {"dense_accuracy": ..., "sparsities": [...], "rows": [{"layer", "sparsity",
// "accuracy", "drop"}, ...]}, for a tool's JSON result.
nlohmann::json SensitivityJson(const SensitivityTable& table);

// A fixed-width table: one line per layer, one accuracy column per sparsity.
std::string FormatSensitivityTable(const SensitivityTable& table);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_SENSITIVITY_H_
