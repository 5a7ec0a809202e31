// Supervised training of an ImageClassifier: the loop every compression
// method runs inside.
//
// Per epoch: callbacks' OnEpochBegin; for each batch, forward, loss
// (cross-entropy with optional label smoothing, plus knowledge distillation
// from a teacher), backward, OnAfterBackward, optional gradient-norm
// clipping, optimizer step, OnStepEnd; then evaluation on the validation set
// (top-1, top-5, loss), OnEpochEnd, a history row to the metrics sink, and a
// checkpoint when a path is set. The learning rate is set before every step
// from an LrSchedule at the fractional epoch.
//
// Knowledge distillation (Hinton et al. 2015): with teacher logits t, student
// logits s and temperature T,
//   loss = alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)
// (T^2 keeps the soft-target gradients on the scale of the hard ones).
//
// A run is "ruined" (flagged, training stops, result still returned) when the
// loss stops being finite, or when after `ruined_check_epochs` epochs the
// validation (else training) top-1 is below `ruined_chance_factor` x chance
// (chance = 100 / classes): pruning too hard commonly ends there, and the
// remaining epochs would be wasted. Early stopping ends a run whose
// validation top-1 has not improved by `min_delta` for `patience` epochs.
//
// Threads: LibTorch's intra-op pool is process-wide; callers set it.
// Weight initialisation draws from LibTorch's default generator, which
// checkpoints save and restore.
#ifndef EDGECOMPRESS_TRAINING_TRAINER_H_
#define EDGECOMPRESS_TRAINING_TRAINER_H_

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "training/batch_source.h"
#include "training/callback.h"
#include "training/lr_schedule.h"
#include "training/metrics_sink.h"
#include "training/models/classifier.h"
#include "training/progress_bar.h"

namespace edgecompress::training {

enum class OptimizerKind { kSgd, kAdam };

// "sgd" or "adam".
absl::StatusOr<OptimizerKind> ParseOptimizerKind(absl::string_view name);

struct OptimizerOptions {
  OptimizerKind kind = OptimizerKind::kSgd;
  double momentum = 0.9;  // sgd
  bool nesterov = false;  // sgd
  double weight_decay = 0.0;
  double adam_beta1 = 0.9, adam_beta2 = 0.999, adam_epsilon = 1e-8;
};

struct TrainerOptions {
  int epochs = 1;
  OptimizerOptions optimizer;
  LrScheduleOptions lr_schedule;
  double label_smoothing = 0.0;  // in [0, 1)
  double max_grad_norm = 0.0;    // clip the global L2 norm; 0 disables
  // Distillation: off when `teacher` is null. The teacher is not owned and
  // runs in eval mode without gradients.
  ImageClassifier* teacher = nullptr;
  double distillation_temperature = 4.0, distillation_alpha = 0.9;
  // Early-exit models (ImageClassifier::num_exits() > 1) train on the
  // weighted sum of every exit's cross-entropy (BranchyNet's joint loss),
  // one weight per exit, side exits first; empty: 1 for each. Distillation
  // and the reported training accuracy use the final exit.
  std::vector<double> exit_loss_weights;
  int early_stopping_patience = 0;  // epochs; 0 disables
  double early_stopping_min_delta = 0.0;
  int ruined_check_epochs = 1;
  double ruined_chance_factor = 1.5;
  // Classes of the labels. A model with one logit z is a binary (sigmoid)
  // classifier of labels 0 and 1: it trains on binary cross-entropy and
  // predicts 1 when z > 0 (the thesis' QuantNet head).
  int num_classes = 10;
  int64_t eval_batch_size = 1000;
  // Feed training and validation batches in channels-last (NHWC) layout.
  // Convolutions then run oneDNN's NHWC kernels and the zoo's
  // BatchNorm+ReLU(+residual) the fused kernel of training/ops: a ResNet-20
  // step is 1.2-1.4x faster here (training/throughput). Parameters and their
  // gradients stay NCHW. Results equal NCHW training up to float rounding
  // (different summation orders).
  bool channels_last = true;
  // When set, a checkpoint is written atomically after every epoch.
  std::string checkpoint_path;
};

struct EvalStats {
  double loss = 0.0;  // mean cross-entropy
  double top1 = 0.0;  // percent
  double top5 = 0.0;  // percent, of the top min(5, classes): 100 up to 5 classes
  int64_t count = 0;
};

// Evaluates without gradients, in eval mode, `batch_size` samples at a time,
// on channels-last batches when `channels_last` (as TrainerOptions'; the
// same LibTorch ran ResNet-20's eval-mode forward ~1.4x faster so here;
// results equal NCHW's up to float rounding).
EvalStats Evaluate(ImageClassifier& model, const TensorDataset& data, int64_t batch_size = 1000,
                   bool channels_last = false);

struct TrainResult {
  // One row per epoch: epoch, learning_rate, train_loss, train_top1,
  // [val_loss, val_top1, val_top5], seconds, images_per_second, and
  // whatever callbacks added. Includes rows restored from a checkpoint.
  std::vector<MetricValues> history;
  bool ruined = false;
  std::string ruined_reason;
  bool stopped_early = false;
};

class Trainer {
 public:
  // Builds the optimizer over `model`'s parameters; kInvalidArgument for bad
  // options. `model` must outlive the trainer.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(ImageClassifier& model,
                                                         const TrainerOptions& options);

  // Continues from a checkpoint written by a run with the same model and
  // options: the next Fit starts after its last completed epoch.
  absl::Status Resume(absl::string_view checkpoint_path);

  // Trains the remaining epochs. `validation` may be null (then top-1 checks
  // use the training numbers); `sink` may be null.
  absl::StatusOr<TrainResult> Fit(BatchSource& train, const TensorDataset* validation,
                                  absl::Span<TrainingCallback* const> callbacks,
                                  MetricsSink* sink, ProgressBar& progress);

  torch::optim::Optimizer& optimizer() { return *optimizer_; }
  int completed_epochs() const { return completed_epochs_; }

 private:
  Trainer(ImageClassifier& model, const TrainerOptions& options, LrSchedule schedule,
          std::unique_ptr<torch::optim::Optimizer> optimizer);

  ImageClassifier& model_;
  TrainerOptions options_;
  LrSchedule schedule_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  int completed_epochs_ = 0;
  std::vector<MetricValues> history_;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_TRAINER_H_
