// Hooks into the training loop, through which pruning, quantization and
// clustering act on a model without training/ knowing any of them.
//
// Order within one optimizer step:
//   forward, loss, backward
//   OnAfterBackward   gradients exist: e.g. zero the gradients of pruned weights
//   optimizer step
//   OnStepEnd         weights updated: e.g. re-apply masks, because momentum
//                     and weight decay revive pruned weights (Distiller's
//                     scheduler.on_minibatch_end does the same)
// and per epoch OnEpochBegin before the first step (e.g. recompute masks for
// the epoch's target sparsity) and OnEpochEnd after evaluation.
//
// A callback returning an error stops training with that error.
#ifndef EDGECOMPRESS_TRAINING_CALLBACK_H_
#define EDGECOMPRESS_TRAINING_CALLBACK_H_

#include <cstdint>

#include "absl/status/status.h"
#include "training/metrics_sink.h"

namespace edgecompress::training {

struct StepInfo {
  int epoch = 0;                // 0-based
  int64_t step = 0;             // 0-based within the epoch
  int64_t steps_per_epoch = 0;
  int64_t global_step = 0;      // epoch * steps_per_epoch + step
  double learning_rate = 0.0;
};

class TrainingCallback {
 public:
  virtual ~TrainingCallback() = default;

  virtual absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) {
    return absl::OkStatus();
  }
  virtual absl::Status OnAfterBackward(const StepInfo& step) { return absl::OkStatus(); }
  virtual absl::Status OnStepEnd(const StepInfo& step) { return absl::OkStatus(); }
  // `metrics` holds the epoch's numbers (train_loss, val_top1, ...); a
  // callback may add its own (e.g. sparsity), which are logged with them.
  virtual absl::Status OnEpochEnd(int epoch, MetricValues& metrics) { return absl::OkStatus(); }
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_CALLBACK_H_
