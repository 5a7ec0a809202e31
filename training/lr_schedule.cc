#include "training/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {

absl::StatusOr<LrScheduleKind> ParseLrScheduleKind(absl::string_view name) {
  for (LrScheduleKind kind : {LrScheduleKind::kConstant, LrScheduleKind::kMultiStep,
                              LrScheduleKind::kExponential, LrScheduleKind::kCosine}) {
    if (name == LrScheduleKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown learning-rate schedule '", name,
      "' (expected constant, multi_step, exponential or cosine)"));
}

absl::string_view LrScheduleKindName(LrScheduleKind kind) {
  switch (kind) {
    case LrScheduleKind::kConstant: return "constant";
    case LrScheduleKind::kMultiStep: return "multi_step";
    case LrScheduleKind::kExponential: return "exponential";
    case LrScheduleKind::kCosine: return "cosine";
  }
  return "unknown";
}

absl::StatusOr<LrSchedule> LrSchedule::Create(const LrScheduleOptions& options) {
  if (!(options.base_learning_rate > 0) || !std::isfinite(options.base_learning_rate)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "learning rate must be positive and finite, got %g", options.base_learning_rate));
  }
  if (!(options.warmup_epochs >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("warm-up epochs must be >= 0, got %g", options.warmup_epochs));
  }
  switch (options.kind) {
    case LrScheduleKind::kConstant:
      break;
    case LrScheduleKind::kMultiStep:
      for (size_t i = 0; i < options.milestones.size(); ++i) {
        if (options.milestones[i] < 0 ||
            (i > 0 && options.milestones[i] <= options.milestones[i - 1])) {
          return absl::InvalidArgumentError(
              "multi_step milestones must be non-negative and strictly increasing");
        }
      }
      [[fallthrough]];
    case LrScheduleKind::kExponential:
      if (!(options.gamma > 0 && options.gamma <= 1)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("gamma must be in (0, 1], got %g", options.gamma));
      }
      if (options.start_epoch < 0) {
        return absl::InvalidArgumentError(
            absl::StrFormat("start epoch must be >= 0, got %d", options.start_epoch));
      }
      break;
    case LrScheduleKind::kCosine:
      if (!(options.total_epochs > 0)) {
        return absl::InvalidArgumentError(
            absl::StrFormat("cosine needs total epochs > 0, got %g", options.total_epochs));
      }
      if (!(options.min_learning_rate >= 0 &&
            options.min_learning_rate <= options.base_learning_rate)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "cosine needs 0 <= min <= base learning rate; got min %g, base %g",
            options.min_learning_rate, options.base_learning_rate));
      }
      break;
  }
  return LrSchedule(options);
}

double LrSchedule::LearningRate(double epoch) const {
  const LrScheduleOptions& o = options_;
  epoch = std::max(0.0, epoch);
  const int whole_epoch = static_cast<int>(std::floor(epoch));
  double rate = o.base_learning_rate;
  switch (o.kind) {
    case LrScheduleKind::kConstant:
      break;
    case LrScheduleKind::kMultiStep: {
      const auto passed = std::upper_bound(o.milestones.begin(), o.milestones.end(), whole_epoch) -
                          o.milestones.begin();
      rate *= std::pow(o.gamma, static_cast<double>(passed));
      break;
    }
    case LrScheduleKind::kExponential:
      rate *= std::pow(o.gamma, std::max(0, whole_epoch - o.start_epoch));
      break;
    case LrScheduleKind::kCosine: {
      const double t = std::min(epoch, o.total_epochs);
      rate = o.min_learning_rate + (o.base_learning_rate - o.min_learning_rate) *
                                       (1.0 + std::cos(M_PI * t / o.total_epochs)) / 2.0;
      break;
    }
  }
  if (epoch < o.warmup_epochs) rate *= epoch / o.warmup_epochs;
  return rate;
}

}  // namespace edgecompress::training
