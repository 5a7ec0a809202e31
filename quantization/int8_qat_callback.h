// Quantization-aware training for the int8 model that quantization/onnx_qdq
// writes and inference/ runs (Jacob et al., CVPR 2018; PyTorch's
// prepare_qat/convert, SparseML's QuantizationModifier): from `start_epoch`
// on (the ResNet-50 study's "QAT in the last epochs") the chosen conv and
// linear layers compute as they will in int8:
//   weights      per output channel, symmetric int8 [-127, 127], the
//                exporter's scheme, fake-quantized in place with full-
//                precision shadows (shadow_weights.h); the whole gradient
//                passes (a symmetric per-channel range clips nothing);
//   activations  as a LayerInputHook the caller installs on the model: each
//                layer's input per tensor, asymmetric int8 [-128, 127] over
//                the range an observer (moving-average min-max by default,
//                PyTorch's QAT default) has seen in training batches;
//                fake-quantized with torch::fake_quantize_per_tensor_affine,
//                whose gradient passes inside the range and is zero outside.
// Observers update only while the model is in training mode; evaluation
// uses the ranges as they stand, so the test accuracy of a QAT epoch is the
// int8 model's (up to the rounding of biases and of the logits, which the
// exporter quantizes too). activation_ranges() gives the exporter the
// trained ranges (ActivationRangesFromLayerInputs in onnx_qdq.h).
//
// BatchNorm is not folded during training (PyTorch folds it in its QAT conv
// modules): a BN layer after a conv sees the fake-quantized conv output, and
// the exporter's folding rescales each channel's grid by gamma / sigma,
// which per-channel weights absorb exactly.
#ifndef EDGECOMPRESS_QUANTIZATION_INT8_QAT_CALLBACK_H_
#define EDGECOMPRESS_QUANTIZATION_INT8_QAT_CALLBACK_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "quantization/affine.h"
#include "quantization/observers.h"
#include "quantization/shadow_weights.h"
#include "training/callback.h"
#include "training/models/classifier.h"

namespace edgecompress::quantization {

struct Int8QatOptions {
  int start_epoch = 0;
  ObserverOptions observer = {.method = CalibrationMethod::kMovingAverage};
};

class Int8QatCallback : public training::TrainingCallback, public training::LayerInputHook {
 public:
  // `layers` by module path ("conv1", "layer1.0.conv2"); the module must
  // outlive the callback. kNotFound naming a layer without "<layer>.weight",
  // kInvalidArgument for a negative start epoch, bad observer options, or a
  // weight that is not a contiguous float32 CPU tensor.
  static absl::StatusOr<std::unique_ptr<Int8QatCallback>> Create(
      torch::nn::Module& module, const std::vector<std::string>& layers,
      const Int8QatOptions& options);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnAfterBackward(const training::StepInfo& step) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;
  // A layer's input fake-quantized once QAT has started (observed first in
  // training mode); unchanged before, for other layers, and for a layer
  // whose observer has seen nothing yet. A non-finite activation (a diverged
  // run) is passed through unobserved.
  torch::Tensor OnLayerInput(absl::string_view layer, const torch::Tensor& input) override;

  bool active() const { return weights_.active(); }
  const Int8QatOptions& options() const { return options_; }
  // The observed input range of every layer that has seen a training batch.
  std::map<std::string, Range> activation_ranges() const;

 private:
  struct Layer {
    std::string name;
    std::unique_ptr<RangeObserver> observer;
    std::optional<QuantParams> input_params;  // from the observer's range
  };
  Int8QatCallback(torch::nn::Module& module, std::vector<Layer> layers, ShadowWeights weights,
                  const Int8QatOptions& options)
      : module_(module), layers_(std::move(layers)), weights_(std::move(weights)),
        options_(options) {}
  absl::Status QuantizeWeights();

  torch::nn::Module& module_;
  std::vector<Layer> layers_;
  ShadowWeights weights_;
  Int8QatOptions options_;
};

}  // namespace edgecompress::quantization

#endif  // EDGECOMPRESS_QUANTIZATION_INT8_QAT_CALLBACK_H_
