#include "lowrank/low_rank_callback.h"

#include <torch/utils.h>

#include <algorithm>
#include <array>

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
    if (rule.spatial) {
      if (weight->dim() != 4) {
        return absl::InvalidArgumentError(
            absl::StrCat("'", name, "': a spatial split is for a Conv's 4-D kernel"));
      }
      const std::array<int, 4> k = {static_cast<int>(weight->size(0)),
                                    static_cast<int>(weight->size(1)),
                                    static_cast<int>(weight->size(2)),
                                    static_cast<int>(weight->size(3))};
      layer.spatial_kernel = k;
      layer.rows = k[1] * k[2];
      layer.cols = k[0] * k[3];
    } else {
      layer.rows = static_cast<int>(weight->size(0));
      layer.cols = static_cast<int>(weight->numel() / weight->size(0));
    }
    layers.push_back(std::move(layer));
  }
  return std::unique_ptr<LowRankCallback>(new LowRankCallback(std::move(layers), start_epoch));
}

absl::Status LowRankCallback::Project() {
  torch::NoGradGuard no_grad;
  for (Layer& layer : layers_) {
    absl::Span<float> kernel(layer.weight.data_ptr<float>(), layer.weight.numel());
    absl::Span<float> w = kernel;
    if (layer.spatial_kernel.has_value()) {
      const std::array<int, 4>& k = *layer.spatial_kernel;
      layer.spatial_matrix = SpatialMatrix(kernel, k[0], k[1], k[2], k[3]);
      w = absl::MakeSpan(layer.spatial_matrix);
    }
    // Writes a projected spatial matrix back into the kernel.
    const auto write_back = [&] {
      if (!layer.spatial_kernel.has_value()) return;
      const std::array<int, 4>& k = *layer.spatial_kernel;
      const std::vector<float> projected =
          KernelFromSpatialMatrix(layer.spatial_matrix, k[0], k[1], k[2], k[3]);
      std::copy(projected.begin(), projected.end(), kernel.begin());
    };
    if (layer.projector.has_value()) {
      RETURN_IF_ERROR(layer.projector->Project(w));
      write_back();
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
    write_back();
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
