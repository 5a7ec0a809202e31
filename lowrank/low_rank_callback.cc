#include "lowrank/low_rank_callback.h"

#include <torch/utils.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"

namespace edgecompress::lowrank {

absl::StatusOr<std::unique_ptr<LowRankCallback>> LowRankCallback::Create(
    torch::nn::Module& module, const std::map<std::string, RankRule>& rules, int start_epoch) {
  if (start_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("start epoch is ", start_epoch));
  }
  const auto named = module.named_parameters();
  std::vector<Layer> layers;
  for (const auto& [name, rule] : rules) {
    const torch::Tensor* weight = named.find(name + ".weight");
    if (weight == nullptr) {
      return absl::NotFoundError(absl::StrCat("no layer '", name, "' with a weight in the model"));
    }
    if (weight->scalar_type() != torch::kFloat32 || !weight->device().is_cpu() ||
        !weight->is_contiguous() || (weight->dim() != 2 && weight->dim() != 4)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", name, ".weight' is not a contiguous float32 CPU tensor of a Linear or a Conv"));
    }
    Layer layer;
    layer.name = name;
    layer.rule = rule;
    layer.weight = *weight;
    layer.rows = static_cast<int>(weight->size(0));
    layer.cols = static_cast<int>(weight->numel() / weight->size(0));
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<LowRankCallback>(new LowRankCallback(std::move(layers), start_epoch));
}

absl::Status LowRankCallback::Project() {
  torch::NoGradGuard no_grad;
  for (Layer& layer : layers_) {
    absl::Span<float> w(layer.weight.data_ptr<float>(), layer.weight.numel());
    if (layer.projector.has_value()) {
      RETURN_IF_ERROR(layer.projector->Project(w));
      continue;
    }
    ASSIGN_OR_RETURN(layer.singular_values, SingularValues(w, layer.rows, layer.cols));
    absl::StatusOr<int> rank =
        ChooseRank(layer.rule, layer.singular_values, layer.rows, layer.cols);
    if (!rank.ok()) {
      return absl::Status(rank.status().code(),
                          absl::StrCat(layer.name, ": ", rank.status().message()));
    }
    layer.rank = *rank;
    ASSIGN_OR_RETURN(layer.projector, RankProjector::Create(w, layer.rows, layer.cols, layer.rank));
  }
  return absl::OkStatus();
}

absl::Status LowRankCallback::OnEpochBegin(int epoch, int64_t /*steps_per_epoch*/) {
  if (epoch < start_epoch_ || active_) return absl::OkStatus();
  active_ = true;
  return Project();
}

absl::Status LowRankCallback::OnStepEnd(const training::StepInfo& /*step*/) {
  // Momentum and weight decay move W off the rank-r set every step.
  return active_ ? Project() : absl::OkStatus();
}

}  // namespace edgecompress::lowrank
