#include "pruning/acdc_schedule.h"

#include <cassert>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace edgecompress::pruning {

absl::string_view AcDcPhaseName(AcDcPhase phase) {
  switch (phase) {
    case AcDcPhase::kWarmUp: return "warm_up";
    case AcDcPhase::kCompressed: return "compressed";
    case AcDcPhase::kDecompressed: return "decompressed";
    case AcDcPhase::kFineTune: return "fine_tune";
  }
  return "unknown";
}

absl::StatusOr<AcDcSchedule> AcDcSchedule::Create(const AcDcScheduleOptions& options) {
  if (!(options.sparsity >= 0.0 && options.sparsity < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sparsity must be a fraction in [0, 1), got %g", options.sparsity));
  }
  if (options.begin_step < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("begin step must be >= 0, got %d", options.begin_step));
  }
  if (options.phase_steps < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("phases must last at least 1 step, got %d", options.phase_steps));
  }
  if (options.fine_tune_step - options.begin_step < 2 * options.phase_steps) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "fine-tuning starts at %d, before begin %d + 2 phases of %d: no room for one "
        "compressed and one decompressed phase",
        options.fine_tune_step, options.begin_step, options.phase_steps));
  }
  return AcDcSchedule(options);
}

AcDcSchedule::AcDcSchedule(const AcDcScheduleOptions& options) : options_(options) {
  // K = the last even k with B + (k + 1) p < F, i.e. k <= ceil((F - B) / p) - 2.
  const int64_t span = options.fine_tune_step - options.begin_step;
  const int64_t phases = (span + options.phase_steps - 1) / options.phase_steps;
  last_compressed_phase_ = phases - 2;
  if (last_compressed_phase_ % 2 != 0) --last_compressed_phase_;
  assert(last_compressed_phase_ >= 0);
}

AcDcPhase AcDcSchedule::PhaseAt(int64_t step) const {
  if (step < options_.begin_step) return AcDcPhase::kWarmUp;
  if (step >= options_.fine_tune_step) return AcDcPhase::kFineTune;
  const int64_t k = (step - options_.begin_step) / options_.phase_steps;
  return k % 2 == 0 && k <= last_compressed_phase_ ? AcDcPhase::kCompressed
                                                   : AcDcPhase::kDecompressed;
}

bool AcDcSchedule::MasksEnforced(int64_t step) const {
  const AcDcPhase phase = PhaseAt(step);
  return phase == AcDcPhase::kCompressed || phase == AcDcPhase::kFineTune;
}

double AcDcSchedule::TargetSparsity(int64_t step) const {
  return MasksEnforced(step) ? options_.sparsity : 0.0;
}

bool AcDcSchedule::IsUpdateStep(int64_t step) const {
  if (step < options_.begin_step) return false;
  // Phases alternate, so every phase start is a switch of enforcement; the
  // stretched last decompressed phase is one phase, not two.
  return step == options_.begin_step || MasksEnforced(step) != MasksEnforced(step - 1);
}

AcDcScheduleOptions EpochsToSteps(const AcDcScheduleOptions& epochs, int64_t steps_per_epoch) {
  assert(steps_per_epoch >= 1);
  AcDcScheduleOptions steps = epochs;
  steps.begin_step *= steps_per_epoch;
  steps.phase_steps *= steps_per_epoch;
  steps.fine_tune_step *= steps_per_epoch;
  return steps;
}

}  // namespace edgecompress::pruning
