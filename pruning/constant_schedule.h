// Constant sparsity: prune once to a fixed sparsity and hold that mask.
//
// SparseML's ConstantPruningModifier and Distiller's one-shot pruners at a
// single epoch: masks are computed by magnitude once, at begin_step, and
// enforced from then on, so training (or fine-tuning after a one-shot prune)
// never revives the pruned weights.
//
//   s(t) = 0         t < begin_step   (dense, nothing masked)
//   s(t) = sparsity  t >= begin_step  (one update, at begin_step)
//
// Conventions:
//   - SparseML's modifier freezes the zeros the weights already have. Here
//     the mask is recomputed by magnitude for `sparsity`; on a model that
//     already has exactly floor(sparsity * n) zeros (magnitude.h counts),
//     zeros rank first and the mask is exactly the existing zero pattern.
//   - There is no end: like CubicSchedule after its end step, the mask
//     holds to the end of training.
//   - Sparsity is a fraction in [0, 1), not a percentage.
#ifndef EDGECOMPRESS_PRUNING_CONSTANT_SCHEDULE_H_
#define EDGECOMPRESS_PRUNING_CONSTANT_SCHEDULE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "pruning/schedule.h"

namespace edgecompress::pruning {

struct ConstantScheduleOptions {
  double sparsity = 0.0;   // fraction in [0, 1), not percent
  int64_t begin_step = 0;  // the one update; masks hold from here on
};

class ConstantSchedule final : public SparsitySchedule {
 public:
  // Validates once; after that nothing can fail. Errors (kInvalidArgument):
  // sparsity outside [0, 1), a negative begin.
  static absl::StatusOr<ConstantSchedule> Create(const ConstantScheduleOptions& options);

  double TargetSparsity(int64_t step) const override {
    return step >= options_.begin_step ? options_.sparsity : 0.0;
  }
  bool IsUpdateStep(int64_t step) const override { return step == options_.begin_step; }
  bool MasksEnforced(int64_t step) const override { return step >= options_.begin_step; }

  const ConstantScheduleOptions& options() const { return options_; }

 private:
  explicit ConstantSchedule(const ConstantScheduleOptions& options) : options_(options) {}

  ConstantScheduleOptions options_;
};

// begin_step times `steps_per_epoch` (>= 1): options in epochs to steps.
ConstantScheduleOptions EpochsToSteps(const ConstantScheduleOptions& epochs,
                                      int64_t steps_per_epoch);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_CONSTANT_SCHEDULE_H_
