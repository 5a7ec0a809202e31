#include "tools/compress/weight_sharing.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"
#include "training/onnx/float_tensor.h"

namespace edgecompress::compress {
namespace {

int64_t Elements(const onnx::TensorProto& tensor) {
  int64_t elements = 1;
  for (int64_t dim : tensor.dims()) elements *= dim;
  return elements;
}

}  // namespace

absl::StatusOr<WeightSharingResult> ShareWeights(const onnx::ModelProto& model,
                                                 const WeightSharingOptions& options) {
  if (options.bias_bits < 1 || options.bias_bits > 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("bias_bits is ", options.bias_bits, "; must be in [1, 32]"));
  }
  WeightSharingResult result;
  result.model = model;
  onnx::GraphProto& graph = *result.model.mutable_graph();
  std::map<std::string, onnx::TensorProto*> initializers;
  for (onnx::TensorProto& tensor : *graph.mutable_initializer()) {
    initializers[tensor.name()] = &tensor;
  }
  for (const onnx::NodeProto& node : graph.node()) {
    if ((node.op_type() != "Conv" && node.op_type() != "Gemm") || node.input_size() < 2) continue;
    const auto weight = initializers.find(node.input(1));
    if (weight == initializers.end()) continue;  // a computed weight: not ours to share
    SharedLayer layer;
    layer.name = node.name().empty() ? node.output(0) : node.name();
    layer.op = node.op_type();
    layer.weight = node.input(1);
    const std::string what = absl::StrCat("node '", layer.name, "' (", layer.op, ") weight");
    ASSIGN_OR_RETURN(std::vector<float> values,
                     training::FloatTensorValues(
                         *weight->second, absl::StrCat(what, " '", weight->second->name(), "'")));
    for (int i = 2; i < node.input_size(); ++i) {
      if (const auto bias = initializers.find(node.input(i)); bias != initializers.end()) {
        layer.other_parameters += Elements(*bias->second);
      }
    }

    std::vector<float> nonzero;
    for (float w : values) {
      if (w != 0.0f) nonzero.push_back(w);
    }
    std::vector<uint16_t> clusters;
    std::vector<float> shared;  // the non-zero weights' centroids, in order
    std::vector<float> distinct = nonzero;
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    if (!nonzero.empty() && static_cast<int64_t>(distinct.size()) <= options.num_clusters) {
      // Already shared (train_prune --cluster): the values are the codebook,
      // and sharing changes nothing.
      layer.clusters = static_cast<int32_t>(distinct.size());
      for (float w : nonzero) {
        clusters.push_back(static_cast<uint16_t>(
            std::lower_bound(distinct.begin(), distinct.end(), w) - distinct.begin()));
      }
      shared = nonzero;
    } else if (!nonzero.empty()) {
      layer.clusters = std::min<int32_t>(options.num_clusters, static_cast<int32_t>(nonzero.size()));
      ASSIGN_OR_RETURN(clustering::KMeansResult kmeans,
                       clustering::KMeans1D(nonzero, {.num_clusters = layer.clusters,
                                                      .init = options.init,
                                                      .seed = options.seed}));
      clusters = std::move(kmeans.assignments);
      for (uint16_t cluster : clusters) shared.push_back(kmeans.centroids[cluster]);
    } else {
      layer.clusters = 1;  // an empty layer still needs a (one-entry) codebook
    }
    // Sized from the pruned positions, before sharing: a centroid that
    // happens to be 0 is still a stored entry.
    const int index_bits = layer.op == "Conv" ? options.conv_index_bits : options.fc_index_bits;
    ASSIGN_OR_RETURN(layer.size, clustering::SparseCodedSize(values, clusters, layer.clusters,
                                                             {.index_bits = index_bits}));
    size_t j = 0;
    for (float& w : values) {
      if (w != 0.0f) w = shared[j++];
    }
    onnx::TensorProto& tensor = *weight->second;
    tensor.clear_float_data();
    tensor.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()),
                                    values.size() * sizeof(float)));
    result.dense_bits += 32 * (layer.size.weights + layer.other_parameters);
    result.coded_bits += layer.size.total_bits + layer.other_parameters * options.bias_bits;
    result.layers.push_back(std::move(layer));
  }
  if (result.layers.empty()) {
    return absl::NotFoundError("the model has no Conv or Gemm node with a constant weight");
  }
  return result;
}

}  // namespace edgecompress::compress
