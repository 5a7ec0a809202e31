// Deep Compression's second and third stages on an ONNX model: weight
// sharing by k-means per layer, then the Huffman-coded size of every pruned,
// shared layer (clustering/sparse_coding.h). The first stage, pruning, is
// train_prune's; its model.onnx carries the zeros.
//
// Per Conv and Gemm node with a constant weight, in graph order:
//   1. k-means (clustering/kmeans.h) over the layer's non-zero weights only,
//      as the paper does (zeros stay zero and cost no cluster); a layer that
//      already holds at most num_clusters distinct non-zero values (trained
//      with train_prune --cluster) keeps them as its codebook, losslessly;
//   2. every non-zero weight replaced by its centroid, in place, so the
//      result is a plain fp32 ONNX file that inference/ runs unchanged and
//      whose accuracy is the shared model's;
//   3. the layer's coded size: relative index (conv_index_bits for Conv, the
//      paper's 8; fc_index_bits for Gemm, its 5), Huffman-coded gaps and
//      cluster symbols, the codebook, the Huffman tables. Biases, and every
//      other parameter, are stored at bias_bits each (the paper's tables
//      count weights only; we count everything the model needs).
// The dense size is 32 bits per parameter of the same layers.
#ifndef EDGECOMPRESS_TOOLS_COMPRESS_WEIGHT_SHARING_H_
#define EDGECOMPRESS_TOOLS_COMPRESS_WEIGHT_SHARING_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "clustering/kmeans.h"
#include "clustering/sparse_coding.h"

namespace edgecompress::compress {

struct WeightSharingOptions {
  int32_t num_clusters = 16;
  clustering::KMeansInit init = clustering::KMeansInit::kLinear;  // the paper's best
  uint64_t seed = 0;
  int conv_index_bits = 8, fc_index_bits = 5;
  int bias_bits = 32;
};

struct SharedLayer {
  std::string name, op, weight;  // node name, "Conv"/"Gemm", weight initializer
  int32_t clusters = 0;          // codebook entries: <= num_clusters
  int64_t other_parameters = 0;  // bias elements, stored at bias_bits
  clustering::LayerCodedSize size;
};

struct WeightSharingResult {
  onnx::ModelProto model;  // weights replaced by their centroids
  std::vector<SharedLayer> layers;
  int64_t dense_bits = 0;  // 32 * every parameter of the layers
  int64_t coded_bits = 0;  // sum of total_bits + other_parameters * bias_bits
};

// kInvalidArgument naming the node for a weight that is not a FLOAT
// initializer or whose data does not match its dims, and for options out of
// range; kNotFound when the model has no Conv or Gemm with a constant weight.
absl::StatusOr<WeightSharingResult> ShareWeights(const onnx::ModelProto& model,
                                                 const WeightSharingOptions& options);

}  // namespace edgecompress::compress

#endif  // EDGECOMPRESS_TOOLS_COMPRESS_WEIGHT_SHARING_H_
