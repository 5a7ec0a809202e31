#include "quantization/low_bit_callback.h"

#include <torch/utils.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "quantization/low_bit.h"
#include "tools/status/status_macros.h"

namespace edgecompress::quantization {

absl::StatusOr<std::unique_ptr<LowBitCallback>> LowBitCallback::Create(
    torch::nn::Module& module, const std::map<std::string, int>& bits, int start_epoch) {
  if (start_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("start epoch is ", start_epoch));
  }
  const auto parameters = module.named_parameters();
  std::vector<Layer> layers;
  for (const auto& [name, width] : bits) {
    if (width < 1 || width > 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer '", name, "': ", width, " bits; low-bit training takes 1..8"));
    }
    const torch::Tensor* weight = parameters.find(name + ".weight");
    if (weight == nullptr) {
      return absl::NotFoundError(absl::StrCat("no parameter '", name, ".weight' in the model"));
    }
    if (weight->scalar_type() != torch::kFloat32 || !weight->device().is_cpu() ||
        !weight->is_contiguous()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", name, ".weight' is not a contiguous float32 CPU tensor"));
    }
    layers.push_back({name, width, *weight, torch::Tensor(), torch::Tensor(), 0.0});
  }
  return std::unique_ptr<LowBitCallback>(new LowBitCallback(std::move(layers), start_epoch));
}

absl::Status LowBitCallback::Quantize() {
  torch::NoGradGuard no_grad;
  for (Layer& layer : layers_) {
    layer.shadow = layer.weight.detach().clone();
    layer.pass_gradient = torch::empty_like(layer.shadow);
    const int64_t n = layer.shadow.numel();
    ASSIGN_OR_RETURN(
        const LowBitWeights quantized,
        QuantizeLowBit(absl::MakeConstSpan(layer.shadow.data_ptr<float>(), n), layer.bits,
                       absl::MakeSpan(layer.weight.data_ptr<float>(), n),
                       absl::MakeSpan(layer.pass_gradient.data_ptr<float>(), n)));
    layer.alpha = quantized.alpha;
  }
  active_ = true;
  return absl::OkStatus();
}

absl::Status LowBitCallback::OnEpochBegin(int epoch, int64_t /*steps_per_epoch*/) {
  if (epoch >= start_epoch_ && !active_) return Quantize();
  return absl::OkStatus();
}

absl::Status LowBitCallback::OnAfterBackward(const training::StepInfo& /*step*/) {
  if (!active_) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  for (Layer& layer : layers_) {
    layer.weight.copy_(layer.shadow);
    if (layer.weight.grad().defined()) layer.weight.mutable_grad().mul_(layer.pass_gradient);
  }
  return absl::OkStatus();
}

absl::Status LowBitCallback::OnStepEnd(const training::StepInfo& /*step*/) {
  return active_ ? Quantize() : absl::OkStatus();
}

}  // namespace edgecompress::quantization
