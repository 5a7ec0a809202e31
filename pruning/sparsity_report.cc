#include "pruning/sparsity_report.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"

namespace edgecompress::pruning {

absl::StatusOr<SparsityReport> MakeSparsityReport(const training::LayerGraph& graph,
                                                  const std::map<std::string, TensorCount>& tensors,
                                                  const std::vector<std::string>& pruned) {
  ASSIGN_OR_RETURN(const std::vector<training::LayerMacs> macs, training::MacsPerLayer(graph));
  SparsityReport report;
  int64_t layer_weights = 0, layer_zeros = 0;
  for (const training::LayerMacs& layer : macs) {
    const auto it = tensors.find(layer.name + ".weight");
    if (it == tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat("no tensor '", layer.name, ".weight'"));
    }
    if (it->second.size != layer.weights) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "'%s.weight' has %d entries, the graph says %d", layer.name, it->second.size,
          layer.weights));
    }
    LayerReport row = {.name = layer.name, .weights = layer.weights, .zeros = it->second.zeros};
    row.sparsity = row.weights > 0 ? static_cast<double>(row.zeros) / row.weights : 0.0;
    row.dense_macs = layer.macs;
    // Exact integer arithmetic: macs is a multiple of weights for conv and linear.
    row.effective_macs = layer.weights > 0
                             ? layer.macs / layer.weights * (layer.weights - row.zeros)
                             : 0;
    layer_weights += row.weights;
    layer_zeros += row.zeros;
    report.dense_macs += row.dense_macs;
    report.effective_macs += row.effective_macs;
    report.layers.push_back(std::move(row));
  }
  for (const auto& [name, count] : tensors) {
    report.parameters += count.size;
    report.nonzero_parameters += count.size - count.zeros;
    report.dense_bytes += 4 * count.size;
    const bool sparse = std::find(pruned.begin(), pruned.end(), name) != pruned.end();
    report.sparse_bytes += sparse ? (count.size + 7) / 8 + 4 * (count.size - count.zeros)
                                  : 4 * count.size;
  }
  for (const std::string& name : pruned) {
    if (tensors.find(name) == tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat("pruned tensor '", name, "' is not in the model"));
    }
  }
  report.sparsity = layer_weights > 0 ? static_cast<double>(layer_zeros) / layer_weights : 0.0;
  return report;
}

std::string FormatSparsityTable(const SparsityReport& report) {
  std::string table = absl::StrFormat("%-28s %12s %12s %9s %14s %14s\n", "layer", "weights",
                                      "zeros", "sparsity", "MACs", "effective MACs");
  for (const LayerReport& layer : report.layers) {
    absl::StrAppendFormat(&table, "%-28s %12d %12d %8.2f%% %14d %14d\n", layer.name, layer.weights,
                          layer.zeros, 100.0 * layer.sparsity, layer.dense_macs,
                          layer.effective_macs);
  }
  int64_t weights = 0, zeros = 0;
  for (const LayerReport& layer : report.layers) {
    weights += layer.weights;
    zeros += layer.zeros;
  }
  absl::StrAppendFormat(&table, "%-28s %12d %12d %8.2f%% %14d %14d\n", "total", weights, zeros,
                        100.0 * report.sparsity, report.dense_macs, report.effective_macs);
  absl::StrAppendFormat(&table, "parameters %d (non-zero %d); size %d bytes dense, %d sparse (%.2fx)\n",
                        report.parameters, report.nonzero_parameters, report.dense_bytes,
                        report.sparse_bytes,
                        report.sparse_bytes > 0
                            ? static_cast<double>(report.dense_bytes) / report.sparse_bytes
                            : 0.0);
  return table;
}

}  // namespace edgecompress::pruning
