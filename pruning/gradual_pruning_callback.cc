#include "pruning/gradual_pruning_callback.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"

namespace edgecompress::pruning {
namespace {

int64_t EpochsToSteps(double epochs, int64_t steps_per_epoch) {
  return static_cast<int64_t>(std::llround(epochs * static_cast<double>(steps_per_epoch)));
}

}  // namespace

GradualPruningCallback::GradualPruningCallback(MaskedParameters masked,
                                               const GradualPruningOptions& options)
    : masked_(std::move(masked)), options_(options) {}

absl::StatusOr<std::unique_ptr<GradualPruningCallback>> GradualPruningCallback::Create(
    MaskedParameters masked, const GradualPruningOptions& options) {
  if (!(options.update_frequency > 0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "update frequency must be a positive number of epochs, got %g", options.update_frequency));
  }
  if (!(options.start_epoch >= 0) || !(options.end_epoch >= options.start_epoch)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "need 0 <= start_epoch <= end_epoch, got %g and %g", options.start_epoch, options.end_epoch));
  }
  // The same checks CubicSchedule makes, on a unit epoch length.
  RETURN_IF_ERROR(CubicSchedule::Create({.initial_sparsity = options.initial_sparsity,
                                         .final_sparsity = options.final_sparsity,
                                         .begin_step = 0, .end_step = 1})
                      .status());
  return std::unique_ptr<GradualPruningCallback>(
      new GradualPruningCallback(std::move(masked), options));
}

absl::Status GradualPruningCallback::OnEpochBegin(int epoch, int64_t steps_per_epoch) {
  if (schedule_.has_value() && steps_per_epoch == steps_per_epoch_) return absl::OkStatus();
  steps_per_epoch_ = steps_per_epoch;
  ASSIGN_OR_RETURN(schedule_,
                   CubicSchedule::Create(
                       {.initial_sparsity = options_.initial_sparsity,
                        .final_sparsity = options_.final_sparsity,
                        .begin_step = EpochsToSteps(options_.start_epoch, steps_per_epoch),
                        .end_step = EpochsToSteps(options_.end_epoch, steps_per_epoch),
                        .frequency = std::max<int64_t>(
                            1, EpochsToSteps(options_.update_frequency, steps_per_epoch))}));
  // A resumed run starts mid-schedule: bring the masks to where they were.
  const int64_t first_step = epoch * steps_per_epoch;
  if (first_step > schedule_->options().begin_step) {
    last_target_ = schedule_->TargetSparsity(first_step - 1);
    pruning_started_ = true;
    RETURN_IF_ERROR(masked_.PruneByMagnitude(last_target_, options_.global));
  }
  return absl::OkStatus();
}

absl::Status GradualPruningCallback::OnAfterBackward(const training::StepInfo& step) {
  if (pruning_started_) masked_.ApplyToGradients();
  return absl::OkStatus();
}

absl::Status GradualPruningCallback::OnStepEnd(const training::StepInfo& step) {
  if (schedule_->IsUpdateStep(step.global_step)) {
    last_target_ = schedule_->TargetSparsity(step.global_step);
    pruning_started_ = true;
    return masked_.PruneByMagnitude(last_target_, options_.global);
  }
  if (pruning_started_) masked_.ApplyToWeights();
  return absl::OkStatus();
}

absl::Status GradualPruningCallback::OnEpochEnd(int epoch, training::MetricValues& metrics) {
  int64_t size = 0, zeros = 0;
  for (const ParameterSparsity& p : masked_.Sparsity()) {
    size += p.size;
    zeros += p.zeros;
  }
  metrics["sparsity"] = size > 0 ? static_cast<double>(zeros) / size : 0.0;
  metrics["target_sparsity"] = last_target_;
  return absl::OkStatus();
}

double GradualPruningCallback::TargetSparsityAtEpoch(double epoch) const {
  // Continuous in epochs for plotting: the cubic at unit frequency.
  if (epoch < options_.start_epoch) return 0.0;
  if (epoch >= options_.end_epoch || options_.end_epoch == options_.start_epoch) {
    return options_.final_sparsity;
  }
  const double remaining =
      1.0 - (epoch - options_.start_epoch) / (options_.end_epoch - options_.start_epoch);
  return options_.initial_sparsity + (options_.final_sparsity - options_.initial_sparsity) *
                                         (1.0 - remaining * remaining * remaining);
}

}  // namespace edgecompress::pruning
