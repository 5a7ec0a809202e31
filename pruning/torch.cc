#include "pruning/torch.h"

#include <torch/utils.h>

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pruning/magnitude.h"

namespace edgecompress::pruning {
namespace {

// A contiguous CPU float copy of `tensor`, as the framework-free core wants.
std::vector<float> ToVector(const torch::Tensor& tensor) {
  const torch::Tensor flat = tensor.detach().contiguous().view(-1);
  return std::vector<float>(flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel());
}

torch::Tensor MaskTensor(const std::vector<uint8_t>& mask, const torch::Tensor& like) {
  return torch::from_blob(const_cast<uint8_t*>(mask.data()), {static_cast<int64_t>(mask.size())},
                          torch::kUInt8)
      .to(torch::kFloat)
      .view(like.sizes());
}

}  // namespace

absl::StatusOr<MaskedParameters> MaskedParameters::Create(torch::nn::Module& module,
                                                          absl::Span<const std::string> names) {
  MaskedParameters masked;
  const auto parameters = module.named_parameters();
  for (const std::string& name : names) {
    const torch::Tensor* parameter = parameters.find(name);
    if (parameter == nullptr) {
      return absl::NotFoundError(absl::StrCat("no parameter named '", name, "' to prune"));
    }
    if (parameter->scalar_type() != torch::kFloat || !parameter->device().is_cpu()) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", name, "' is not a float32 CPU tensor"));
    }
    masked.names_.push_back(name);
    masked.weights_.push_back(*parameter);
    masked.masks_.push_back(torch::ones_like(*parameter));
  }
  return masked;
}

absl::Status MaskedParameters::PruneByMagnitude(double sparsity, bool global) {
  if (!global) {
    for (size_t i = 0; i < weights_.size(); ++i) {
      const std::vector<float> weights = ToVector(weights_[i]);
      std::vector<uint8_t> mask(weights.size());
      if (absl::Status status = MagnitudeMask(weights, sparsity, absl::MakeSpan(mask));
          !status.ok()) {
        return absl::Status(status.code(), absl::StrCat(names_[i], ": ", status.message()));
      }
      masks_[i] = MaskTensor(mask, weights_[i]);
    }
  } else {
    // One ranking over all selected weights, laid end to end in selection
    // order, so ties go to the earlier parameter and then the lower index.
    std::vector<float> all;
    for (const torch::Tensor& weight : weights_) {
      const std::vector<float> weights = ToVector(weight);
      all.insert(all.end(), weights.begin(), weights.end());
    }
    std::vector<uint8_t> mask(all.size());
    if (absl::Status status = MagnitudeMask(all, sparsity, absl::MakeSpan(mask)); !status.ok()) {
      return status;
    }
    size_t offset = 0;
    for (size_t i = 0; i < weights_.size(); ++i) {
      const size_t size = weights_[i].numel();
      masks_[i] = MaskTensor(
          std::vector<uint8_t>(mask.begin() + offset, mask.begin() + offset + size), weights_[i]);
      offset += size;
    }
  }
  ApplyToWeights();
  return absl::OkStatus();
}

absl::Status MaskedParameters::SetMask(absl::string_view name, absl::Span<const uint8_t> mask) {
  const auto it = std::find(names_.begin(), names_.end(), name);
  if (it == names_.end()) {
    return absl::NotFoundError(absl::StrCat("parameter '", name, "' is not masked"));
  }
  const size_t i = it - names_.begin();
  if (static_cast<int64_t>(mask.size()) != weights_[i].numel()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mask for '%s' has %d entries, the parameter has %d", name, mask.size(),
        weights_[i].numel()));
  }
  std::vector<uint8_t> binary(mask.begin(), mask.end());
  for (uint8_t& m : binary) m = m != 0;
  masks_[i] = MaskTensor(binary, weights_[i]);
  ApplyToWeights();
  return absl::OkStatus();
}

void MaskedParameters::ClearMasks() {
  for (torch::Tensor& mask : masks_) mask.fill_(1.0f);
}

void MaskedParameters::ResetOptimizerState(torch::optim::Optimizer& optimizer) const {
  // LibTorch keys per-parameter state by the address of the tensor's impl
  // (torch/optim/serialize.h does the same); an absent entry is what a
  // parameter that never stepped has.
  for (const torch::Tensor& weight : weights_) {
    optimizer.state().erase(c10::guts::to_string(weight.unsafeGetTensorImpl()));
  }
}

void MaskedParameters::ApplyToWeights() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) weights_[i].mul_(masks_[i]);
}

void MaskedParameters::ApplyToGradients() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) {
    torch::Tensor& grad = weights_[i].mutable_grad();
    if (grad.defined()) grad.mul_(masks_[i]);
  }
}

std::vector<ParameterSparsity> MaskedParameters::Sparsity() const {
  std::vector<ParameterSparsity> result;
  for (size_t i = 0; i < weights_.size(); ++i) {
    result.push_back({names_[i], weights_[i].numel(), weights_[i].eq(0).sum().item<int64_t>()});
  }
  return result;
}

}  // namespace edgecompress::pruning
