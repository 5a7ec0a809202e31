#include "pruning/schedule.h"

#include <algorithm>
#include <cassert>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace edgecompress::pruning {
namespace {

bool IsSparsity(double value) { return value >= 0.0 && value < 1.0; }

}  // namespace

absl::StatusOr<CubicSchedule> CubicSchedule::Create(const CubicScheduleOptions& options) {
  if (!IsSparsity(options.initial_sparsity) || !IsSparsity(options.final_sparsity)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sparsity must be a fraction in [0, 1): initial %g, final %g",
                        options.initial_sparsity, options.final_sparsity));
  }
  if (options.initial_sparsity > options.final_sparsity) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "initial sparsity %g is above final sparsity %g; GMP never regrows weights",
        options.initial_sparsity, options.final_sparsity));
  }
  if (options.begin_step < 0 || options.end_step < options.begin_step) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "steps must satisfy 0 <= begin <= end: begin %d, end %d", options.begin_step,
        options.end_step));
  }
  if (options.frequency < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("update frequency must be at least 1 step, got %d", options.frequency));
  }
  return CubicSchedule(options);
}

double CubicSchedule::TargetSparsity(int64_t step) const {
  const CubicScheduleOptions& o = options_;
  if (step < o.begin_step) return 0.0;
  if (step >= o.end_step) return o.final_sparsity;
  // Hold the value of the last update step, so that the sparsity a caller
  // reads between updates is the one its masks actually have.
  const int64_t last_update = o.begin_step + (step - o.begin_step) / o.frequency * o.frequency;
  const double progress = static_cast<double>(last_update - o.begin_step) /
                          static_cast<double>(o.end_step - o.begin_step);
  const double remaining = 1.0 - progress;
  // Written from s_i so that the begin step returns s_i exactly.
  return o.initial_sparsity + (o.final_sparsity - o.initial_sparsity) *
                                  (1.0 - remaining * remaining * remaining);
}

bool CubicSchedule::IsUpdateStep(int64_t step) const {
  const CubicScheduleOptions& o = options_;
  if (step < o.begin_step || step > o.end_step) return false;
  return step == o.end_step || (step - o.begin_step) % o.frequency == 0;
}

CubicScheduleOptions EpochsToSteps(const CubicScheduleOptions& epochs, int64_t steps_per_epoch) {
  assert(steps_per_epoch >= 1);
  CubicScheduleOptions steps = epochs;
  steps.begin_step *= steps_per_epoch;
  steps.end_step *= steps_per_epoch;
  steps.frequency *= steps_per_epoch;
  return steps;
}

}  // namespace edgecompress::pruning
