// The thesis's 1/2-bit weights trained in (quantization-aware training with a
// straight-through estimator; seeds/004 Sec. 3.3.1; quantization/low_bit.h
// has the quantizer). A TrainingCallback over chosen layers' weights, kept
// in full precision as shadows:
//   OnEpochBegin(start_epoch)  save W, write W~ = Q(W) into the layer;
//   forward, backward          run with W~: the gradient is dL/dW~;
//   OnAfterBackward            restore W, and cancel the gradient where
//                              |W - mean| > 1 (the clip's zero slope): the
//                              optimizer updates the full-precision W with
//                              the gradient taken at W~ (the STE);
//   OnStepEnd                  save the new W, write Q(W) again.
// Evaluation after an epoch and the model at the end therefore see W~, so
// the accuracy train_prune reports and the exported ONNX are the low-bit
// model's. Checkpoints hold W~ too: a resumed run continues from the
// quantized weights (the shadows are not saved), a small loss of state.
// Not done (the thesis does it): quantizing the layers' input activations
// to [-1, 1] at the same precision.
#ifndef EDGECOMPRESS_QUANTIZATION_LOW_BIT_CALLBACK_H_
#define EDGECOMPRESS_QUANTIZATION_LOW_BIT_CALLBACK_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "training/callback.h"

namespace edgecompress::quantization {

class LowBitCallback : public training::TrainingCallback {
 public:
  struct Layer {
    std::string name;  // module path: its "<name>.weight" is quantized
    int bits = 1;
    torch::Tensor weight;                // the module's parameter
    torch::Tensor shadow, pass_gradient;  // full-precision W; STE mask
    double alpha = 0.0;                  // of the last quantization
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

  const std::vector<Layer>& layers() const { return layers_; }
  int start_epoch() const { return start_epoch_; }

 private:
  LowBitCallback(std::vector<Layer> layers, int start_epoch)
      : layers_(std::move(layers)), start_epoch_(start_epoch) {}
  absl::Status Quantize();

  std::vector<Layer> layers_;
  int start_epoch_ = 0;
  bool active_ = false;  // weights hold W~ and shadows hold W
};

}  // namespace edgecompress::quantization

#endif  // EDGECOMPRESS_QUANTIZATION_LOW_BIT_CALLBACK_H_
