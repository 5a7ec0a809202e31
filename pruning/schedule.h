// Gradual magnitude pruning (GMP) schedule: the sparsity a layer should have
// at a training step.
//
// Zhu & Gupta, "To prune, or not to prune" (2017), eq. 1; SparseML's
// GMPruningModifier and TF-MOT's PolynomialDecay(power=3) implement it:
//
//   s(t) = s_f + (s_i - s_f) * (1 - (t - t0) / (t1 - t0))^3     t0 <= t <= t1
//
// with s_i = initial_sparsity, s_f = final_sparsity, t0 = begin_step and
// t1 = end_step. Sparsity rises fast while the network has many redundant
// weights and slowly as it approaches the target.
//
// Conventions (the field disagrees on each of these):
//   - Steps are whatever unit the caller counts: optimizer steps or epochs.
//   - Masks change only on update steps: t0, t0 + f, t0 + 2f, ... (f =
//     frequency) and always at t1, which is inclusive: the schedule reaches
//     exactly s_f there even when t1 - t0 is not a multiple of f. Between
//     updates the target stays at the last update's value.
//   - Before t0 the target is 0 (the model is still dense, nothing is
//     masked); after t1 it stays s_f.
//   - Sparsity is a fraction in [0, 1), not a percentage.
//
// A schedule is a pure function of the step: it holds no training state, so
// resuming from a checkpoint needs only the step.
//
// SparsitySchedule is what every pruning schedule answers (CubicSchedule
// here, ConstantSchedule in constant_schedule.h, AcDcSchedule in
// acdc_schedule.h), so one adapter drives them all. Per optimizer step t:
//   if IsUpdateStep(t):  recompute masks by magnitude for TargetSparsity(t)
//                        (a target of 0 means all-ones masks);
//   if MasksEnforced(t): mask the gradients before the step and the weights
//                        after it (momentum revives pruned weights).
// Every schedule keeps these promises (schedule_contract.h checks them):
// targets are in [0, 1); between update steps neither the target nor
// enforcement changes; where masks are not enforced the target is 0.
#ifndef EDGECOMPRESS_PRUNING_SCHEDULE_H_
#define EDGECOMPRESS_PRUNING_SCHEDULE_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace edgecompress::pruning {

class SparsitySchedule {
 public:
  virtual ~SparsitySchedule() = default;

  // The sparsity the masks should have at `step`; 0 where nothing is masked.
  virtual double TargetSparsity(int64_t step) const = 0;

  // True when masks are recomputed at `step`.
  virtual bool IsUpdateStep(int64_t step) const = 0;

  // True when masks hold at `step`: applied to gradients and weights.
  virtual bool MasksEnforced(int64_t step) const = 0;
};

struct CubicScheduleOptions {
  double initial_sparsity = 0.05, final_sparsity = 0.9;  // fractions in [0, 1), not percent
  int64_t begin_step = 0, end_step = 0, frequency = 1;   // end inclusive: reaches final there
};

class CubicSchedule final : public SparsitySchedule {
 public:
  // Validates once; after that nothing can fail. Errors (kInvalidArgument):
  // sparsity outside [0, 1), initial above final, a negative begin, end
  // before begin, frequency below 1.
  static absl::StatusOr<CubicSchedule> Create(const CubicScheduleOptions& options);

  // The target sparsity at `step`, following the conventions above.
  double TargetSparsity(int64_t step) const override;

  // True when masks should be recomputed at `step`: t0 + k*f within the
  // window, and t1.
  bool IsUpdateStep(int64_t step) const override;

  // From t0 on, also after t1: the final masks hold through fine-tuning
  // (SparseML's leave_enabled, the default).
  bool MasksEnforced(int64_t step) const override { return step >= options_.begin_step; }

  const CubicScheduleOptions& options() const { return options_; }

 private:
  explicit CubicSchedule(const CubicScheduleOptions& options) : options_(options) {}

  CubicScheduleOptions options_;
};

// The same schedule counted in optimizer steps: begin, end and frequency
// times `steps_per_epoch` (>= 1), so options written in epochs (recipes)
// update on epoch boundaries and reach exactly the same targets there.
CubicScheduleOptions EpochsToSteps(const CubicScheduleOptions& epochs, int64_t steps_per_epoch);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_SCHEDULE_H_
