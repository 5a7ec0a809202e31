// What a pruned model costs: per layer and in total, its parameters,
// non-zeros, size in bytes (dense and sparse-encoded) and multiply-
// accumulates (dense and effective), as train_prune reports them.
//
// Conventions:
//   - Dense size: 4 bytes per parameter (fp32), every parameter of the model.
//   - Sparse-encoded size: each pruned tensor as a bitmap (1 bit per weight,
//     rounded up to whole bytes) plus its non-zero values at 4 bytes; tensors
//     that are not pruned stay dense. A bitmap beats index lists above ~3%
//     sparsity for fp32 and is what DeepSparse-style engines and
//     TF-MOT's compressed export assume; compression with zip is not counted.
//   - Effective MACs: a layer's dense MACs times its weight density
//     (non-zeros / weights), assuming a sparse kernel skips every zero weight.
//     This is the best case; inference/ measures what really happens.
#ifndef EDGECOMPRESS_PRUNING_SPARSITY_REPORT_H_
#define EDGECOMPRESS_PRUNING_SPARSITY_REPORT_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "training/models/layer_graph.h"

namespace edgecompress::pruning {

struct TensorCount {
  int64_t size = 0;
  int64_t zeros = 0;
};

struct LayerReport {
  std::string name;         // layer name in the graph (conv or linear)
  int64_t weights = 0, zeros = 0;
  double sparsity = 0.0;    // zeros / weights
  int64_t dense_macs = 0, effective_macs = 0;
};

struct SparsityReport {
  std::vector<LayerReport> layers;  // every conv and linear, in graph order
  int64_t parameters = 0;           // all parameters, weights and biases
  int64_t nonzero_parameters = 0;
  double sparsity = 0.0;            // over the layers' weights only
  int64_t dense_bytes = 0, sparse_bytes = 0;
  int64_t dense_macs = 0, effective_macs = 0;
};

// `tensors` maps every parameter name of the model ("conv1.weight",
// "conv1.bias", ...) to its size and zero count; `pruned` names the tensors
// stored sparse. kInvalidArgument when a layer's weight is missing or its
// size disagrees with the graph.
absl::StatusOr<SparsityReport> MakeSparsityReport(const training::LayerGraph& graph,
                                                  const std::map<std::string, TensorCount>& tensors,
                                                  const std::vector<std::string>& pruned);

// A fixed-width table: one row per layer and a total row.
std::string FormatSparsityTable(const SparsityReport& report);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_SPARSITY_REPORT_H_
