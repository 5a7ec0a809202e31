#include "pruning/constant_schedule.h"

#include <cassert>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace edgecompress::pruning {

absl::StatusOr<ConstantSchedule> ConstantSchedule::Create(const ConstantScheduleOptions& options) {
  if (!(options.sparsity >= 0.0 && options.sparsity < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sparsity must be a fraction in [0, 1), got %g", options.sparsity));
  }
  if (options.begin_step < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("begin step must be >= 0, got %d", options.begin_step));
  }
  return ConstantSchedule(options);
}

ConstantScheduleOptions EpochsToSteps(const ConstantScheduleOptions& epochs,
                                      int64_t steps_per_epoch) {
  assert(steps_per_epoch >= 1);
  ConstantScheduleOptions steps = epochs;
  steps.begin_step *= steps_per_epoch;
  return steps;
}

}  // namespace edgecompress::pruning
