// train_prune's job as a library: train (and prune) a zoo model on a named
// dataset and report every number a user needs to judge the result.
//
// Steps:
//   1. Load the dataset's train and test splits; normalise with the training
//      split's per-channel statistics.
//   2. Build the model by name; load the recipe against its layers, if any;
//      optionally continue from a checkpoint
//      (`resume`, the run's own) .
//   3. Evaluate before training (the dense or loaded baseline).
//   4. Train with Trainer (distilling from a teacher checkpoint if given);
//      each pruning modifier is a training callback: GMP and constant
//      pruning (GradualPruningCallback), AC/DC (AcDcPruningCallback) and L1
//      filter pruning (FilterPruningCallback).
//   5. Evaluate after; build the sparsity report (per layer non-zeros, bytes
//      dense and bitmap-encoded, MACs dense and effective); optionally run
//      the sensitivity analysis (each layer pruned alone, no retraining).
//   6. Write into `output_dir`: checkpoint.pt (the model as trained, removed
//      filters zero, so a run resumes), model.onnx (BatchNorm folded; pruned
//      weights stored as zeros; filters removed by thinning modifiers
//      physically gone, with their BatchNorm entries and the next layer's
//      input channels), result.json, sparsity.txt, sparsity.svg (target and
//      measured sparsity per epoch) and accuracy.svg (test top-1 per epoch);
//      for an early-exit model also model_exits.onnx, the same weights with
//      the side exits as outputs (not thinned or factorised), and every
//      exit's test top-1 in the result.
//   7. Optionally measure model.onnx's latency on the inference runtime
//      (tools/bench's MeasurePoint, batch 1), so that one run reports the
//      three things a trade-off search weighs: accuracy, latency and size.
// The result JSON (schema in README) names every figure; a run whose loss
// diverged or whose accuracy fell to chance is flagged "ruined". Epoch rows
// and the summary also go to `sink` (a W&B-compatible run in the tool).
#ifndef EDGECOMPRESS_TOOLS_TRAIN_PRUNE_PIPELINE_H_
#define EDGECOMPRESS_TOOLS_TRAIN_PRUNE_PIPELINE_H_

#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lowrank/factorization.h"
#include "nlohmann/json.hpp"
#include "pruning/gradual_pruning_callback.h"
#include "tools/bench/benchmark_runner.h"
#include "training/data_parallel.h"
#include "training/metrics_sink.h"
#include "training/trainer.h"

namespace edgecompress::tools {

struct PruningConfig {
  pruning::GradualPruningOptions schedule;
  // Parameters to prune by exact name; empty: every conv and linear weight
  // except the first conv and the last linear layer (which are small and
  // sensitive: SparseML's and the studies' recipes exclude them too).
  std::vector<std::string> parameters;
};

// Sensitivity analysis after training: which structure is pruned per layer.
enum class Sensitivity { kNone, kWeights, kFilters };

struct TrainPruneConfig {
  std::string model = "lenet5";
  // Early exits after these stages of a CIFAR ResNet (training/models/zoo.h);
  // the trainer then trains every exit (TrainerOptions::exit_loss_weights).
  std::vector<int> exit_stages;
  std::string dataset = "fashion_mnist";
  std::string data_dir;  // empty: the dataset's default
  int64_t batch_size = 64;
  uint64_t seed = 1;
  // Random crop (padding 4) and horizontal flip of training images, in
  // `data_workers` threads; unset: on for 3-channel datasets (the CIFAR
  // recipe), off for grey ones (MNIST digits must not be mirrored).
  std::optional<bool> augment;
  int data_workers = 1;
  training::TrainerOptions trainer;  // num_classes is filled in from the dataset
  std::optional<PruningConfig> pruning;
  // A YAML recipe (pruning/recipe.h) replaces `pruning`, the epoch count and
  // the learning-rate schedule; `recipe_overrides` are its "name=value"
  // variable overrides. The effective recipe is written as recipe.yaml.
  std::string recipe_path;
  std::vector<std::string> recipe_overrides;
  // Start from the weights of this checkpoint.pt (a train_prune run of the
  // same model and dataset; only the weights are taken); empty: initialise.
  // With trainer.epochs == 0 the loaded model is only evaluated (and
  // analysed).
  std::string dense_checkpoint;
  // After training, prune each layer alone at 0.1 .. 0.9 without retraining
  // and record the test top-1 (pruning/sensitivity.h); sensitivity.csv.
  Sensitivity sensitivity = Sensitivity::kNone;
  // Knowledge distillation (TrainerOptions::distillation_*) from a
  // checkpoint.pt of `teacher_model` (empty: `model`) trained on the same
  // dataset; empty path: none.
  std::string teacher_checkpoint;
  std::string teacher_model;
  // Data-parallel training over processes when world_size > 1: batch_size is
  // the global batch, split evenly over the ranks; only rank 0 writes
  // output_dir (the others return their result).
  training::DataParallelOptions data_parallel;
  std::string output_dir;  // empty: write nothing but return the result
  // Layers trained with the thesis's low-bit weights (quantization/
  // low_bit_callback.h), bits by module name, from `low_bit_start_epoch` on;
  // not combined with pruning.
  std::map<std::string, int> low_bit;
  int low_bit_start_epoch = 0;
  // Low-bit training also quantizes those layers' inputs, as the thesis does
  // (LowBitCallback's activation quantizer). Off by default: model.onnx
  // cannot express it (inference/ has no Sign or Round), so the deployed
  // model would compute differently from the trained one.
  bool low_bit_activations = false;
  // int8 quantization-aware training (quantization/int8_qat_callback.h) of
  // every conv and linear layer from this epoch on, or from a recipe's
  // !QuantizationModifier; unset: off. model.onnx then holds the weights on
  // their int8 grid in fp32 and model_int8.onnx the QDQ model with the
  // activation ranges training observed (int8_export.h).
  std::optional<int> int8_qat_start_epoch;
  // Deep Compression's weight sharing trained in (clustering/
  // cluster_callback.h): at `cluster_start_epoch` every conv and linear
  // weight's non-zeros are clustered into `cluster` values and the centroids
  // train from then on; 0: off. Must start after pruning has ended, and not
  // with AC/DC, whose masks keep changing.
  int cluster = 0;
  int cluster_start_epoch = 0;
  // Low-rank factorisation trained in (lowrank/low_rank_callback.h): from
  // `low_rank_start_epoch` each named layer's weight is kept at the rank its
  // rule gives, and model.onnx has the layer split into its two factors
  // (lowrank/onnx_factorize.h). Not combined with pruning, low-bit training
  // or clustering.
  std::map<std::string, lowrank::RankRule> low_rank;
  int low_rank_start_epoch = 0;
  // Step 7 with this engine (needs output_dir).
  std::optional<bench::Engine> bench_engine;
  int bench_threads = 1;
  double bench_min_seconds = 1.0;
  bool resume = false;     // continue from output_dir/checkpoint.pt
  // Flags to record in the result's context.
  std::map<std::string, std::string> flags;
};

// Errors: kNotFound/kDataLoss/kInvalidArgument from the inputs (named),
// kInternal when an output cannot be written. `log` gets one-line progress
// messages (epochs, the sparsity table); `progress` draws the bar.
absl::StatusOr<nlohmann::json> RunTrainPrune(const TrainPruneConfig& config,
                                             training::MetricsSink* sink,
                                             training::ProgressBar& progress, std::FILE* log);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_TRAIN_PRUNE_PIPELINE_H_
