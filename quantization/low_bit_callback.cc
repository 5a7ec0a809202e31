#include "quantization/low_bit_callback.h"

#include <torch/types.h>

#include <cmath>

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
  std::vector<Layer> layers;
  std::vector<std::string> names;
  for (const auto& [name, width] : bits) {
    if (width < 1 || width > 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer '", name, "': ", width, " bits; low-bit training takes 1..8"));
    }
    layers.push_back({name, width, 0.0});
    names.push_back(name);
  }
  ASSIGN_OR_RETURN(ShadowWeights weights, ShadowWeights::Create(module, names));
  return std::unique_ptr<LowBitCallback>(
      new LowBitCallback(std::move(layers), std::move(weights), start_epoch));
}

absl::Status LowBitCallback::Quantize() {
  return weights_.Quantize([this](size_t i, absl::Span<const float> full, int64_t /*channels*/,
                                  absl::Span<float> quantized,
                                  absl::Span<float> pass_gradient) -> absl::Status {
    ASSIGN_OR_RETURN(const LowBitWeights result,
                     QuantizeLowBit(full, layers_[i].bits, quantized, pass_gradient));
    layers_[i].alpha = result.alpha;
    return absl::OkStatus();
  });
}

absl::Status LowBitCallback::OnEpochBegin(int epoch, int64_t /*steps_per_epoch*/) {
  if (epoch >= start_epoch_ && !weights_.active()) return Quantize();
  return absl::OkStatus();
}

absl::Status LowBitCallback::OnAfterBackward(const training::StepInfo& /*step*/) {
  weights_.Restore();
  return absl::OkStatus();
}

absl::Status LowBitCallback::OnStepEnd(const training::StepInfo& /*step*/) {
  return weights_.active() ? Quantize() : absl::OkStatus();
}

torch::Tensor LowBitCallback::OnLayerInput(absl::string_view layer, const torch::Tensor& input) {
  if (!weights_.active()) return input;
  for (const Layer& low_bit : layers_) {
    if (low_bit.name == layer) return QuantizeLowBitActivations(input, low_bit.bits);
  }
  return input;
}

torch::Tensor QuantizeLowBitActivations(const torch::Tensor& input, int bits) {
  const torch::Tensor clipped = torch::clamp(input, -1.0, 1.0);  // gradient 1 inside, 0 outside
  torch::Tensor levels;
  if (bits == 1) {
    levels = torch::sign(clipped);
  } else {
    const double steps = std::ldexp(1.0, bits) - 1.0;  // 2^b - 1
    levels = torch::round((clipped + 1.0) * (steps / 2.0)) * (2.0 / steps) - 1.0;
  }
  // Forward: the levels; backward: the clip's gradient (straight through).
  return clipped + (levels - clipped).detach();
}

}  // namespace edgecompress::quantization
