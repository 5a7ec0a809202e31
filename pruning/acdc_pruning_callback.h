// AC/DC inside the training loop: a TrainingCallback that follows an
// AcDcSchedule (acdc_schedule.h) given in epochs, as the authors' code and
// recipes switch phases on epoch boundaries.
//
// At the start of each epoch where the schedule updates (and at the first
// epoch a run sees, so that a resumed run lands in the right phase):
//   compressed phase or fine-tuning  masks by magnitude of the current, dense
//                                    weights at `sparsity` (per parameter, or
//                                    over all selected together when global);
//   decompressed phase               masks cleared; at the phase's first epoch
//                                    the optimizer forgets the selected
//                                    parameters' state (Peste et al.: pruned
//                                    weights restart from 0 without the stale
//                                    momentum of the weights they had).
// While masks are enforced, gradients of pruned weights are zeroed after
// backward and the masks re-applied after each step, as in
// GradualPruningCallback.
#ifndef EDGECOMPRESS_PRUNING_ACDC_PRUNING_CALLBACK_H_
#define EDGECOMPRESS_PRUNING_ACDC_PRUNING_CALLBACK_H_

#include <torch/optim/optimizer.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pruning/acdc_schedule.h"
#include "pruning/torch.h"
#include "training/callback.h"

namespace edgecompress::pruning {

struct AcDcPruningOptions {
  AcDcScheduleOptions schedule;  // steps are epochs
  bool global = true;            // one threshold over all selected parameters (SparseML's default)
};

class AcDcPruningCallback : public training::TrainingCallback {
 public:
  // `optimizer` (not owned; may be null, then momentum is not reset) must
  // outlive the callback. kInvalidArgument from AcDcSchedule::Create.
  static absl::StatusOr<std::unique_ptr<AcDcPruningCallback>> Create(
      MaskedParameters masked, const AcDcPruningOptions& options,
      torch::optim::Optimizer* optimizer);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnAfterBackward(const training::StepInfo& step) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;
  // Adds "sparsity" (measured over the selected weights), "target_sparsity"
  // and "acdc_compressed" (1 while masks are enforced, else 0).
  absl::Status OnEpochEnd(int epoch, training::MetricValues& metrics) override;

  const MaskedParameters& masked() const { return masked_; }
  // The schedule's target during `epoch` (fractional epochs round down).
  double TargetSparsityAtEpoch(double epoch) const;

 private:
  AcDcPruningCallback(MaskedParameters masked, const AcDcPruningOptions& options,
                      AcDcSchedule schedule, torch::optim::Optimizer* optimizer);

  MaskedParameters masked_;
  AcDcPruningOptions options_;
  AcDcSchedule schedule_;
  torch::optim::Optimizer* optimizer_;
  bool started_ = false;   // has seen an epoch
  bool enforced_ = false;  // masks hold in the current epoch
};

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_ACDC_PRUNING_CALLBACK_H_
