#include "quantization/shadow_weights.h"

#include <torch/utils.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace edgecompress::quantization {

absl::StatusOr<ShadowWeights> ShadowWeights::Create(torch::nn::Module& module,
                                                    const std::vector<std::string>& layers) {
  const auto parameters = module.named_parameters();
  std::vector<torch::Tensor> weights;
  for (const std::string& layer : layers) {
    const std::string name = layer + ".weight";
    const torch::Tensor* weight = parameters.find(name);
    if (weight == nullptr) {
      return absl::NotFoundError(absl::StrCat("no parameter '", name, "' in the model"));
    }
    if (weight->scalar_type() != torch::kFloat32 || !weight->device().is_cpu() ||
        !weight->is_contiguous() || weight->dim() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", name, "' is not a contiguous float32 CPU tensor"));
    }
    weights.push_back(*weight);
  }
  return ShadowWeights(std::move(weights));
}

absl::Status ShadowWeights::Quantize(const Quantizer& quantizer) {
  torch::NoGradGuard no_grad;
  shadows_.resize(weights_.size());
  pass_gradients_.resize(weights_.size());
  for (size_t i = 0; i < weights_.size(); ++i) {
    torch::Tensor& weight = weights_[i];
    shadows_[i] = weight.detach().clone();
    pass_gradients_[i] = torch::empty_like(shadows_[i]);
    const int64_t n = weight.numel();
    if (absl::Status status = quantizer(
            i, absl::MakeConstSpan(shadows_[i].data_ptr<float>(), n), weight.size(0),
            absl::MakeSpan(weight.data_ptr<float>(), n),
            absl::MakeSpan(pass_gradients_[i].data_ptr<float>(), n));
        !status.ok()) {
      for (size_t j = 0; j <= i; ++j) weights_[j].copy_(shadows_[j]);  // as they were
      return status;
    }
  }
  active_ = true;
  return absl::OkStatus();
}

void ShadowWeights::Restore() {
  if (!active_) return;
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < weights_.size(); ++i) {
    weights_[i].copy_(shadows_[i]);
    if (weights_[i].grad().defined()) weights_[i].mutable_grad().mul_(pass_gradients_[i]);
  }
}

}  // namespace edgecompress::quantization
