#include "pruning/filter_pruning_callback.h"

#include <torch/torch.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pruning/filter_pruning.h"
#include "pruning/thinning.h"
#include "tools/status/status_macros.h"

namespace edgecompress::pruning {
namespace {

const training::Conv2dAttrs* FindConv(const training::LayerGraph& graph, const std::string& name) {
  for (const training::Layer& layer : graph.layers()) {
    if (layer.name == name && layer.op == training::LayerOp::kConv2d) {
      return &std::get<training::Conv2dAttrs>(layer.attrs);
    }
  }
  return nullptr;
}

}  // namespace

FilterPruningCallback::FilterPruningCallback(torch::nn::Module& module,
                                             training::LayerGraph graph,
                                             std::vector<FilterPruningStep> steps)
    : module_(module),
      graph_(std::move(graph)),
      steps_(std::move(steps)),
      applied_(steps_.size(), false) {}

absl::StatusOr<std::unique_ptr<FilterPruningCallback>> FilterPruningCallback::Create(
    torch::nn::Module& module, training::LayerGraph graph, std::vector<FilterPruningStep> steps) {
  std::map<std::string, int> seen;
  for (const FilterPruningStep& step : steps) {
    RETURN_IF_ERROR(CheckFilterFraction(step.fraction));
    if (step.epoch < 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("filter pruning epoch must be >= 0, got %d", step.epoch));
    }
    std::map<std::string, std::vector<int64_t>> all_but_last;
    for (const std::string& name : step.convs) {
      const training::Conv2dAttrs* conv = FindConv(graph, name);
      if (conv == nullptr) {
        bool exists = false;
        for (const training::Layer& layer : graph.layers()) exists |= layer.name == name;
        if (!exists) return absl::NotFoundError(absl::StrCat("no layer named '", name, "'"));
        return absl::InvalidArgumentError(
            absl::StrCat("filter pruning needs a conv, '", name, "' is not one"));
      }
      if (++seen[name] > 1) {
        return absl::InvalidArgumentError(
            absl::StrCat("conv '", name, "' is selected by two filter pruning steps"));
      }
      std::vector<int64_t> kept(conv->out_channels - 1);
      for (int64_t f = 0; f < conv->out_channels - 1; ++f) kept[f] = f;
      if (!kept.empty()) all_but_last[name] = std::move(kept);
    }
    // Whether removing any filter is possible is known now; which ones only
    // at the step's epoch.
    if (step.thinning) RETURN_IF_ERROR(PlanThinning(graph, all_but_last).status());
  }
  return std::unique_ptr<FilterPruningCallback>(
      new FilterPruningCallback(module, std::move(graph), std::move(steps)));
}

absl::Status FilterPruningCallback::Prune(const FilterPruningStep& step) {
  const auto parameters = module_.named_parameters();
  for (const std::string& name : step.convs) {
    const torch::Tensor* weight = parameters.find(name + ".weight");
    if (weight == nullptr) {
      return absl::NotFoundError(absl::StrCat("the model has no parameter '", name, ".weight'"));
    }
    const torch::Tensor flat = weight->detach().contiguous().view(-1);
    const absl::Span<const float> values(flat.data_ptr<float>(), flat.numel());
    const int64_t filters = FindConv(graph_, name)->out_channels;
    ASSIGN_OR_RETURN(std::vector<int64_t> kept, KeptFiltersByL1(values, filters, step.fraction));
    filters_removed_ += filters - static_cast<int64_t>(kept.size());
    (step.thinning ? thinned_filters_ : masked_filters_)[name] = std::move(kept);
  }
  return absl::OkStatus();
}

absl::Status FilterPruningCallback::RebuildMasks() {
  std::map<std::string, std::vector<uint8_t>> masks;
  if (!thinned_filters_.empty()) {
    ASSIGN_OR_RETURN(const ThinningPlan plan, PlanThinning(graph_, thinned_filters_));
    ASSIGN_OR_RETURN(masks, RemovedChannelMasks(graph_, plan));
  }
  for (const auto& [name, kept] : masked_filters_) {
    const torch::Tensor weight = module_.named_parameters()[name + ".weight"];
    const int64_t filters = weight.size(0);
    masks[name + ".weight"] = FilterMask(kept, filters, weight.numel() / filters);
  }
  std::vector<std::string> names;
  for (const auto& [name, mask] : masks) names.push_back(name);
  ASSIGN_OR_RETURN(masks_, MaskedParameters::Create(module_, names));
  for (const auto& [name, mask] : masks) RETURN_IF_ERROR(masks_->SetMask(name, mask));
  return absl::OkStatus();
}

absl::Status FilterPruningCallback::OnEpochBegin(int epoch, int64_t steps_per_epoch) {
  bool changed = false;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (applied_[i] || steps_[i].epoch > epoch) continue;
    RETURN_IF_ERROR(Prune(steps_[i]));
    applied_[i] = true;
    changed = true;
  }
  if (changed) RETURN_IF_ERROR(RebuildMasks());
  return absl::OkStatus();
}

absl::Status FilterPruningCallback::OnAfterBackward(const training::StepInfo& step) {
  if (masks_.has_value()) masks_->ApplyToGradients();
  return absl::OkStatus();
}

absl::Status FilterPruningCallback::OnStepEnd(const training::StepInfo& step) {
  if (masks_.has_value()) masks_->ApplyToWeights();
  return absl::OkStatus();
}

absl::Status FilterPruningCallback::OnEpochEnd(int epoch, training::MetricValues& metrics) {
  metrics["filters_removed"] = static_cast<double>(filters_removed_);
  return absl::OkStatus();
}

}  // namespace edgecompress::pruning
