#include "training/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {

absl::StatusOr<CosineLrSchedule> CosineLrSchedule::Create(const CosineLrOptions& options) {
  if (!(options.max_learning_rate > 0) || !(options.min_learning_rate >= 0) ||
      options.min_learning_rate > options.max_learning_rate) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "cosine schedule needs 0 <= min <= max and max > 0; got min %g, max %g",
        options.min_learning_rate, options.max_learning_rate));
  }
  if (options.total_steps < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("cosine schedule needs at least 1 step, got %d", options.total_steps));
  }
  return CosineLrSchedule(options);
}

double CosineLrSchedule::LearningRate(int64_t step) const {
  const double t = static_cast<double>(std::clamp<int64_t>(step, 0, options_.total_steps));
  const double cosine = std::cos(M_PI * t / static_cast<double>(options_.total_steps));
  return options_.min_learning_rate +
         (options_.max_learning_rate - options_.min_learning_rate) * (1.0 + cosine) / 2.0;
}

}  // namespace edgecompress::training
