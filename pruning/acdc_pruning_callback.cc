#include "pruning/acdc_pruning_callback.h"

#include <cmath>
#include <utility>

#include "tools/status/status_macros.h"

namespace edgecompress::pruning {

AcDcPruningCallback::AcDcPruningCallback(MaskedParameters masked,
                                         const AcDcPruningOptions& options,
                                         AcDcSchedule schedule,
                                         torch::optim::Optimizer* optimizer)
    : masked_(std::move(masked)),
      options_(options),
      schedule_(std::move(schedule)),
      optimizer_(optimizer) {}

absl::StatusOr<std::unique_ptr<AcDcPruningCallback>> AcDcPruningCallback::Create(
    MaskedParameters masked, const AcDcPruningOptions& options,
    torch::optim::Optimizer* optimizer) {
  ASSIGN_OR_RETURN(AcDcSchedule schedule, AcDcSchedule::Create(options.schedule));
  return std::unique_ptr<AcDcPruningCallback>(
      new AcDcPruningCallback(std::move(masked), options, std::move(schedule), optimizer));
}

absl::Status AcDcPruningCallback::OnEpochBegin(int epoch, int64_t steps_per_epoch) {
  const bool first = !started_;
  started_ = true;
  if (!first && !schedule_.IsUpdateStep(epoch)) return absl::OkStatus();
  enforced_ = schedule_.MasksEnforced(epoch);
  if (enforced_) {
    // Mid-phase (a resumed run) the pruned weights are still zero, so the
    // magnitude masks come out as they were.
    return masked_.PruneByMagnitude(schedule_.TargetSparsity(epoch), options_.global);
  }
  masked_.ClearMasks();
  // Only where the phase begins: a run resumed inside a decompressed phase
  // has the momentum it built since.
  if (schedule_.PhaseAt(epoch) == AcDcPhase::kDecompressed && schedule_.IsUpdateStep(epoch) &&
      optimizer_ != nullptr) {
    masked_.ResetOptimizerState(*optimizer_);
  }
  return absl::OkStatus();
}

absl::Status AcDcPruningCallback::OnAfterBackward(const training::StepInfo& step) {
  if (enforced_) masked_.ApplyToGradients();
  return absl::OkStatus();
}

absl::Status AcDcPruningCallback::OnStepEnd(const training::StepInfo& step) {
  if (enforced_) masked_.ApplyToWeights();
  return absl::OkStatus();
}

absl::Status AcDcPruningCallback::OnEpochEnd(int epoch, training::MetricValues& metrics) {
  int64_t size = 0, zeros = 0;
  for (const ParameterSparsity& p : masked_.Sparsity()) {
    size += p.size;
    zeros += p.zeros;
  }
  metrics["sparsity"] = size > 0 ? static_cast<double>(zeros) / size : 0.0;
  metrics["target_sparsity"] = schedule_.TargetSparsity(epoch);
  metrics["acdc_compressed"] = enforced_ ? 1.0 : 0.0;
  return absl::OkStatus();
}

double AcDcPruningCallback::TargetSparsityAtEpoch(double epoch) const {
  return schedule_.TargetSparsity(static_cast<int64_t>(std::floor(epoch)));
}

}  // namespace edgecompress::pruning
