#include "quantization/int8_qat_callback.h"

#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"

namespace edgecompress::quantization {
namespace {

constexpr int kBits = 8;

}  // namespace

absl::StatusOr<std::unique_ptr<Int8QatCallback>> Int8QatCallback::Create(
    torch::nn::Module& module, const std::vector<std::string>& layers,
    const Int8QatOptions& options) {
  if (options.start_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("QAT start epoch is ", options.start_epoch));
  }
  ASSIGN_OR_RETURN(ShadowWeights weights, ShadowWeights::Create(module, layers));
  std::vector<Layer> entries;
  for (const std::string& name : layers) {
    ASSIGN_OR_RETURN(std::unique_ptr<RangeObserver> observer, CreateObserver(options.observer));
    entries.push_back({name, std::move(observer), std::nullopt});
  }
  return std::unique_ptr<Int8QatCallback>(
      new Int8QatCallback(module, std::move(entries), std::move(weights), options));
}

absl::Status Int8QatCallback::QuantizeWeights() {
  return weights_.Quantize([](size_t /*layer*/, absl::Span<const float> full, int64_t channels,
                              absl::Span<float> quantized,
                              absl::Span<float> pass_gradient) -> absl::Status {
    ASSIGN_OR_RETURN(const std::vector<QuantParams> params,
                     ChoosePerChannelQuantParams(full, channels, kBits, /*is_signed=*/true,
                                                 /*symmetric=*/true));
    std::fill(pass_gradient.begin(), pass_gradient.end(), 1.0f);
    return FakeQuantizePerChannel(full, params, quantized);
  });
}

absl::Status Int8QatCallback::OnEpochBegin(int epoch, int64_t /*steps_per_epoch*/) {
  if (epoch >= options_.start_epoch && !weights_.active()) return QuantizeWeights();
  return absl::OkStatus();
}

absl::Status Int8QatCallback::OnAfterBackward(const training::StepInfo& /*step*/) {
  weights_.Restore();
  return absl::OkStatus();
}

absl::Status Int8QatCallback::OnStepEnd(const training::StepInfo& /*step*/) {
  return weights_.active() ? QuantizeWeights() : absl::OkStatus();
}

torch::Tensor Int8QatCallback::OnLayerInput(absl::string_view name, const torch::Tensor& input) {
  if (!weights_.active()) return input;
  const auto layer = std::find_if(layers_.begin(), layers_.end(),
                                  [name](const Layer& l) { return l.name == name; });
  if (layer == layers_.end()) return input;
  if (module_.is_training()) {
    const torch::Tensor values = input.detach().contiguous();
    const absl::Status observed = layer->observer->Observe(
        absl::MakeConstSpan(values.data_ptr<float>(), values.numel()));
    if (observed.ok()) {
      const absl::StatusOr<Range> range = layer->observer->ComputeRange();
      if (range.ok()) {
        absl::StatusOr<QuantParams> params =
            ChooseQuantParams(range->min, range->max, kBits, /*is_signed=*/true,
                              /*symmetric=*/false);
        if (params.ok()) layer->input_params = *params;
      }
    }
  }
  if (!layer->input_params.has_value()) return input;
  const QuantParams& p = *layer->input_params;
  return torch::fake_quantize_per_tensor_affine(input, p.scale, p.zero_point, p.qmin, p.qmax);
}

std::map<std::string, Range> Int8QatCallback::activation_ranges() const {
  std::map<std::string, Range> ranges;
  for (const Layer& layer : layers_) {
    if (absl::StatusOr<Range> range = layer.observer->ComputeRange(); range.ok()) {
      ranges[layer.name] = *range;
    }
  }
  return ranges;
}

}  // namespace edgecompress::quantization
