// L1-ranked filter pruning inside the training loop: Distiller's
// L1RankedStructureParameterPruner applied at an epoch, followed by
// retraining with the removed filters held at zero.
//
// At the start of each step's epoch (or, for a resumed run, the first epoch
// it sees at or after it) every conv of the step keeps the filters
// KeptFiltersByL1 chooses from its current weights (filter_pruning.h:
// m = floor(fraction * filters) removed, ties to the lowest index). From
// then on, after backward the masked gradients are zeroed and after each
// optimizer step the masks re-applied, as for unstructured masks. What the
// masks cover depends on whether the step thins:
//   thinning    everything ZeroRemovedChannels zeroes (thinning.h): the
//               filters, their biases and their BatchNorm scale and shift,
//               so the channel is exactly zero and thinning the trained
//               model (ThinnedOnnx-style export by the tool) changes no
//               output;
//   no thinning the conv's weight rows only, as Distiller masks when it
//               does not thin (the bias and BatchNorm shift stay).
// A resumed run recomputes the kept filters from the weights it loaded: the
// removed filters are zero, so they rank lowest and the same ones go.
#ifndef EDGECOMPRESS_PRUNING_FILTER_PRUNING_CALLBACK_H_
#define EDGECOMPRESS_PRUNING_FILTER_PRUNING_CALLBACK_H_

#include <torch/nn/module.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pruning/torch.h"
#include "training/callback.h"
#include "training/models/layer_graph.h"

namespace edgecompress::pruning {

struct FilterPruningStep {
  std::vector<std::string> convs;  // conv layer names (module paths)
  double fraction = 0.5;           // of each conv's filters removed, in [0, 1)
  int64_t epoch = 0;               // pruned at the start of this epoch
  bool thinning = true;            // see the header comment
};

class FilterPruningCallback : public training::TrainingCallback {
 public:
  // `module` (described by `graph`) must outlive the callback. Errors:
  // kNotFound for a name that is no layer, kInvalidArgument for a layer that
  // is not a conv, a conv in two steps, a fraction outside [0, 1) or a
  // negative epoch; kFailedPrecondition (PlanThinning's, naming the layer)
  // for a thinning step on a conv whose channels cannot be removed.
  static absl::StatusOr<std::unique_ptr<FilterPruningCallback>> Create(
      torch::nn::Module& module, training::LayerGraph graph, std::vector<FilterPruningStep> steps);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnAfterBackward(const training::StepInfo& step) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;
  // Adds "filters_removed": filters removed so far over all selected convs.
  absl::Status OnEpochEnd(int epoch, training::MetricValues& metrics) override;

  // The kept filters of the convs pruned so far by thinning steps: what
  // PlanThinning takes to shrink the trained model.
  const std::map<std::string, std::vector<int64_t>>& thinned_filters() const {
    return thinned_filters_;
  }

 private:
  FilterPruningCallback(torch::nn::Module& module, training::LayerGraph graph,
                        std::vector<FilterPruningStep> steps);
  absl::Status Prune(const FilterPruningStep& step);
  absl::Status RebuildMasks();

  torch::nn::Module& module_;
  training::LayerGraph graph_;
  std::vector<FilterPruningStep> steps_;
  std::vector<bool> applied_;  // per step
  std::map<std::string, std::vector<int64_t>> thinned_filters_;
  std::map<std::string, std::vector<int64_t>> masked_filters_;  // steps without thinning
  std::optional<MaskedParameters> masks_;  // once a step has been applied
  int64_t filters_removed_ = 0;
};

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_FILTER_PRUNING_CALLBACK_H_
