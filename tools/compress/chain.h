// The whole second half of compression in one run, each stage starting from
// the one before and measured the same way (the thesis's pipeline, seeds/004
// Sec. 3.3, followed by Deep Compression's weight sharing, Han et al. 2016):
//
//   1 trained         the fp32 model: a train_prune checkpoint, evaluated, or
//                     one trained here for `dense_epochs`;
//   2 bit_allocation  the intrinsic dimension of every layer's activations on
//                     `id_samples` test images and the significance rule
//                     (tools/intrinsic_dim/layer_precision.h): significant
//                     layers 2 bits, the others 1, first and last fp32;
//   3 low_bit_qat     train_prune with those layers' weights at their bits
//                     (quantization/low_bit_callback.h), `qat_epochs` from
//                     stage 1's weights;
//   4 clustering      k-means weight sharing of every layer (weight_sharing.h)
//                     on stage 3's model: a low-bit layer already holds at
//                     most 2^b values and keeps them, an fp32 layer is cut to
//                     `clusters` values, without retraining;
//   5 cluster_qat     train_prune --cluster from stage 3's weights for
//                     `cluster_epochs`: the centroids train and every layer
//                     keeps at most its stage 4 count of values
//                     (clustering/cluster_callback.h).
//
// Every stage with a model reports its ONNX file's top-1 on the whole test
// split, run by inference/ as a user would deploy it, its stored size
// (stored_size.h: per layer, index bits, codebook and biases), the
// compression against stage 1 and the thesis's memory-reduction ratio
// 32 sum P / sum P_l b_l. Stage directories under `output_dir` hold each
// train_prune run's outputs (1_trained/, 3_low_bit_qat/, 5_cluster_qat/) and
// the shared models (4_clustering/model.onnx); output_dir/model.onnx is the
// final model and report.json the whole report, rewritten after every stage
// so an interrupted chain keeps what it measured.
#ifndef EDGECOMPRESS_TOOLS_COMPRESS_CHAIN_H_
#define EDGECOMPRESS_TOOLS_COMPRESS_CHAIN_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tools/intrinsic_dim/layer_precision.h"
#include "training/metrics_sink.h"
#include "training/progress_bar.h"

namespace edgecompress::compress {

struct CompressChainConfig {
  std::string model = "lenet5";
  std::string dataset = "fashion_mnist";
  std::string data_dir;  // empty: the dataset's default
  // A train_prune checkpoint.pt of `model` on `dataset` (fp32, unpruned);
  // empty: stage 1 trains one for `dense_epochs` at `dense_learning_rate`.
  std::string checkpoint;
  int dense_epochs = 20;
  double dense_learning_rate = 0.05;
  // Stage 2: test images analysed and the rule's options.
  int id_samples = 1000;
  intrinsic_dim_tool::LayerPrecisionOptions precision;
  // Stages 3 and 5: SGD with momentum 0.9, cosine from `learning_rate`.
  int qat_epochs = 5;
  int clusters = 16;
  int cluster_epochs = 2;
  double learning_rate = 0.01;
  int64_t batch_size = 64;
  uint64_t seed = 1;
  int threads = 2;  // XNNPACK threads of every evaluation
  std::string output_dir;  // required
  std::map<std::string, std::string> flags;  // recorded in the report
};

// Errors: kInvalidArgument/kNotFound/kDataLoss for bad options and inputs
// (naming them), kFailedPrecondition when the analysis leaves no layer below
// 32 bits or a layer's activations admit no estimate, kInternal when an
// output cannot be written. A training stage that is ruined (diverged or at
// chance) stops the chain with kAborted after writing the report so far.
// `sink` gets one history row per stage (step = stage number) and the final
// numbers as the summary; `log` one-line progress and the stage table.
absl::StatusOr<nlohmann::json> RunCompressChain(const CompressChainConfig& config,
                                                training::MetricsSink* sink,
                                                training::ProgressBar& progress, std::FILE* log);

}  // namespace edgecompress::compress

#endif  // EDGECOMPRESS_TOOLS_COMPRESS_CHAIN_H_
