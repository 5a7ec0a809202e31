// LibTorch adapter: masks on a torch::nn::Module's parameters.
//
// The framework-free core (magnitude.h, schedules) decides which weights go;
// MaskedParameters holds one mask per selected parameter and enforces it:
//   - ApplyToWeights() after every optimizer step, because momentum and
//     weight decay move pruned weights away from zero (Distiller re-applies
//     masks in on_minibatch_end for the same reason);
//   - ApplyToGradients() before the step, so pruned weights do not feed the
//     momentum buffers either (SparseML masks gradients the same way).
// Masks are float tensors of the parameter's shape holding 0 or 1, so both
// are one in-place multiply.
//
// These are the only pruning files that include LibTorch. Public functions
// catch c10::Error and return a status.
#ifndef EDGECOMPRESS_PRUNING_TORCH_H_
#define EDGECOMPRESS_PRUNING_TORCH_H_

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::pruning {

struct ParameterSparsity {
  std::string name;
  int64_t size = 0;
  int64_t zeros = 0;  // counted in the weights themselves, not the mask
  double sparsity() const { return size > 0 ? static_cast<double>(zeros) / size : 0.0; }
};

class MaskedParameters {
 public:
  // Selects `names` (e.g. "conv2.weight") from `module`; the module must
  // outlive this object. kNotFound naming the first missing parameter,
  // kInvalidArgument for a parameter that is not float32 on the CPU. Masks
  // start all ones.
  static absl::StatusOr<MaskedParameters> Create(torch::nn::Module& module,
                                                 absl::Span<const std::string> names);

  // Recomputes the masks by magnitude for `sparsity` (magnitude.h
  // conventions: exactly floor(s * n) zeros per parameter, or over all
  // selected parameters together when `global`), then applies them to the
  // weights.
  absl::Status PruneByMagnitude(double sparsity, bool global);

  // Replaces the mask of `name` (0 prunes, anything else keeps) and applies
  // it. kNotFound for an unselected name, kInvalidArgument for a wrong size.
  absl::Status SetMask(absl::string_view name, absl::Span<const uint8_t> mask);

  // Makes every mask all ones (AC/DC's decompressed phases).
  void ClearMasks();

  // Forgets `optimizer`'s state (SGD momentum, Adam moments and step) for the
  // selected parameters, so it restarts as for a new parameter: AC/DC's
  // momentum reset when pruned weights come back.
  void ResetOptimizerState(torch::optim::Optimizer& optimizer) const;

  void ApplyToWeights();
  void ApplyToGradients();

  std::vector<ParameterSparsity> Sparsity() const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  MaskedParameters() = default;

  std::vector<std::string> names_;
  std::vector<torch::Tensor> weights_;  // aliases of the module's parameters
  std::vector<torch::Tensor> masks_;    // float 0/1, same shapes
};

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_TORCH_H_
