// The thesis's 1/2-bit layers trained in (quantization-aware training with a
// straight-through estimator; seeds/004 Sec. 3.3; quantization/low_bit.h has
// the weight quantizer). A TrainingCallback over chosen layers, from
// `start_epoch` on:
//   weights      kept in full precision as shadows (shadow_weights.h); the
//                layer computes with W~ = alpha Q(clip(W - mean)), the
//                gradient is cancelled where |W - mean| > 1 (the clip's zero
//                slope: the thesis's custom STE);
//   activations  (optional, the thesis does it) as a LayerInputHook the
//                caller installs on the model: each low-bit layer's input is
//                clipped to [-1, 1] and quantized at the layer's precision
//                with no scale ("no scaling factors ... for the
//                activations"):
//                  1 bit:  sign(a), with sign(0) = 0 as tf.sign, so that
//                          ReLU outputs keep their zeros ({0, 1}); +1 at 0
//                          would make every post-ReLU input constant;
//                  b bits: the weights' full-range levels,
//                          2 round((a + 1) / 2 (2^b - 1)) / (2^b - 1) - 1
//                          (torch::round, half to even);
//                the gradient passes where |a| <= 1 (the STE of hardtanh).
// Evaluation after an epoch and the model at the end therefore see W~ (and,
// with the hook, quantized activations), so the accuracy train_prune reports
// is the low-bit model's. Checkpoints hold W~ too: a resumed run continues
// from the quantized weights (the shadows are not saved), a small loss of
// state.
#ifndef EDGECOMPRESS_QUANTIZATION_LOW_BIT_CALLBACK_H_
#define EDGECOMPRESS_QUANTIZATION_LOW_BIT_CALLBACK_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "quantization/shadow_weights.h"
#include "training/callback.h"
#include "training/models/classifier.h"

namespace edgecompress::quantization {

class LowBitCallback : public training::TrainingCallback, public training::LayerInputHook {
 public:
  struct Layer {
    std::string name;  // module path: its "<name>.weight" is quantized
    int bits = 1;
    double alpha = 0.0;  // of the last quantization
  };

  // `bits` by layer name (1..8); the module must outlive the callback.
  // kNotFound naming a layer without a "<name>.weight", kInvalidArgument for
  // bits out of range, a weight that is not float32 on the CPU, or a
  // negative start epoch.
  static absl::StatusOr<std::unique_ptr<LowBitCallback>> Create(
      torch::nn::Module& module, const std::map<std::string, int>& bits, int start_epoch);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnAfterBackward(const training::StepInfo& step) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;

  // The activation quantizer above for the low-bit layers once training has
  // reached start_epoch; other layers' inputs, and all before, unchanged.
  torch::Tensor OnLayerInput(absl::string_view layer, const torch::Tensor& input) override;

  const std::vector<Layer>& layers() const { return layers_; }
  int start_epoch() const { return start_epoch_; }

 private:
  LowBitCallback(std::vector<Layer> layers, ShadowWeights weights, int start_epoch)
      : layers_(std::move(layers)), weights_(std::move(weights)), start_epoch_(start_epoch) {}
  absl::Status Quantize();

  std::vector<Layer> layers_;
  ShadowWeights weights_;
  int start_epoch_ = 0;
};

// The activation quantizer of the file comment, exposed for tests: `input`
// clipped to [-1, 1] and quantized at `bits` (1..8), with the STE gradient.
torch::Tensor QuantizeLowBitActivations(const torch::Tensor& input, int bits);

}  // namespace edgecompress::quantization

#endif  // EDGECOMPRESS_QUANTIZATION_LOW_BIT_CALLBACK_H_
