// Gradual magnitude pruning inside the training loop: a TrainingCallback
// that follows a CubicSchedule given in epochs and enforces the masks.
//
// The schedule is written in epochs (as recipes are); the callback turns it
// into optimizer steps when it learns the epoch length:
//   begin_step = start_epoch * steps_per_epoch
//   end_step   = end_epoch * steps_per_epoch      (inclusive: final sparsity there)
//   frequency  = max(1, round(update_frequency * steps_per_epoch))
// Fractional epochs are allowed (update every 0.5 epoch). Per step:
//   OnAfterBackward  zero the gradients of pruned weights, so they do not
//                    feed the momentum buffers;
//   OnStepEnd        on an update step, recompute masks by magnitude for the
//                    schedule's target; on every step re-apply the masks
//                    (momentum and weight decay revive pruned weights).
// Before start_epoch nothing is masked; after end_epoch the final masks
// stay enforced, so fine-tuning keeps the sparsity.
//
// Constant sparsity is the degenerate schedule start == end, initial ==
// final: the masks are computed once at start_epoch and held.
#ifndef EDGECOMPRESS_PRUNING_GRADUAL_PRUNING_CALLBACK_H_
#define EDGECOMPRESS_PRUNING_GRADUAL_PRUNING_CALLBACK_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "pruning/schedule.h"
#include "pruning/torch.h"
#include "training/callback.h"

namespace edgecompress::pruning {

struct GradualPruningOptions {
  double initial_sparsity = 0.05, final_sparsity = 0.9;  // fractions in [0, 1)
  double start_epoch = 0.0, end_epoch = 1.0;             // end inclusive
  double update_frequency = 1.0;                         // epochs between mask updates
  bool global = false;  // one magnitude threshold over all selected parameters
};

class GradualPruningCallback : public training::TrainingCallback {
 public:
  // Validates the options with the same rules as CubicSchedule (in epochs).
  static absl::StatusOr<std::unique_ptr<GradualPruningCallback>> Create(
      MaskedParameters masked, const GradualPruningOptions& options);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnAfterBackward(const training::StepInfo& step) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;
  // Adds "sparsity" (measured over the selected weights) and "target_sparsity".
  absl::Status OnEpochEnd(int epoch, training::MetricValues& metrics) override;

  const MaskedParameters& masked() const { return masked_; }
  // The target at a fractional epoch, for plotting; 0 before start.
  double TargetSparsityAtEpoch(double epoch) const;

 private:
  GradualPruningCallback(MaskedParameters masked, const GradualPruningOptions& options);

  MaskedParameters masked_;
  GradualPruningOptions options_;
  std::optional<CubicSchedule> schedule_;  // in steps, once the epoch length is known
  int64_t steps_per_epoch_ = 0;
  double last_target_ = 0.0;
  bool pruning_started_ = false;
};

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_GRADUAL_PRUNING_CALLBACK_H_
