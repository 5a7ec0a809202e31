#include "pruning/sensitivity.h"

#include <algorithm>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::pruning {

std::vector<double> DefaultSensitivitySparsities() {
  return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
}

absl::StatusOr<SensitivityTable> AnalyzeSensitivity(absl::Span<const std::string> layers,
                                                    absl::Span<const double> sparsities,
                                                    double dense_accuracy,
                                                    const EvaluatePrunedLayer& evaluate) {
  if (layers.empty()) return absl::InvalidArgumentError("no layers to analyse");
  if (sparsities.empty()) return absl::InvalidArgumentError("no sparsities to analyse");
  std::set<std::string> seen;
  for (const std::string& layer : layers) {
    if (!seen.insert(layer).second) {
      return absl::InvalidArgumentError(absl::StrCat("layer '", layer, "' is listed twice"));
    }
  }
  for (size_t i = 0; i < sparsities.size(); ++i) {
    if (!(sparsities[i] >= 0.0 && sparsities[i] < 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("sparsity must be a fraction in [0, 1), got %g", sparsities[i]));
    }
    if (i > 0 && !(sparsities[i] > sparsities[i - 1])) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "sparsities must be ascending: %g after %g", sparsities[i], sparsities[i - 1]));
    }
  }
  SensitivityTable table;
  table.dense_accuracy = dense_accuracy;
  table.layers.assign(layers.begin(), layers.end());
  table.sparsities.assign(sparsities.begin(), sparsities.end());
  for (const std::string& layer : layers) {
    for (double sparsity : sparsities) {
      absl::StatusOr<double> accuracy = evaluate(layer, sparsity);
      if (!accuracy.ok()) {
        return absl::Status(accuracy.status().code(),
                            absl::StrFormat("sensitivity of '%s' at sparsity %g: %s", layer,
                                            sparsity, accuracy.status().message()));
      }
      table.rows.push_back({layer, sparsity, *accuracy, dense_accuracy - *accuracy});
    }
  }
  return table;
}

double MaxSparsityWithinDrop(const SensitivityTable& table, const std::string& layer,
                             double max_drop) {
  double best = 0.0;
  for (const SensitivityRow& row : table.rows) {
    if (row.layer != layer) continue;
    // Rows of a layer are in ascending sparsity: stop at the first miss.
    if (!(row.drop <= max_drop)) break;
    best = row.sparsity;
  }
  return best;
}

std::string SensitivityCsv(const SensitivityTable& table) {
  std::string csv = "layer,sparsity,accuracy,drop\n";
  for (const SensitivityRow& row : table.rows) {
    absl::StrAppendFormat(&csv, "%s,%g,%.6g,%.6g\n", row.layer, row.sparsity, row.accuracy,
                          row.drop);
  }
  return csv;
}

nlohmann::json SensitivityJson(const SensitivityTable& table) {
  nlohmann::json json = {{"dense_accuracy", table.dense_accuracy},
                         {"sparsities", table.sparsities},
                         {"rows", nlohmann::json::array()}};
  for (const SensitivityRow& row : table.rows) {
    json["rows"].push_back({{"layer", row.layer},
                            {"sparsity", row.sparsity},
                            {"accuracy", row.accuracy},
                            {"drop", row.drop}});
  }
  return json;
}

std::string FormatSensitivityTable(const SensitivityTable& table) {
  size_t width = 5;
  for (const std::string& layer : table.layers) width = std::max(width, layer.size());
  std::string text = absl::StrFormat("accuracy with one layer pruned (dense: %.2f)\n%-*s",
                                     table.dense_accuracy, width, "layer");
  for (double sparsity : table.sparsities) absl::StrAppendFormat(&text, " %7.0f%%", 100 * sparsity);
  text += "\n";
  for (size_t l = 0; l < table.layers.size(); ++l) {
    absl::StrAppendFormat(&text, "%-*s", width, table.layers[l]);
    for (size_t s = 0; s < table.sparsities.size(); ++s) {
      absl::StrAppendFormat(&text, " %8.2f", table.rows[l * table.sparsities.size() + s].accuracy);
    }
    text += "\n";
  }
  return text;
}

}  // namespace edgecompress::pruning
