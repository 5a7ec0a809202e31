// The bookkeeping of quantization-aware training with a straight-through
// estimator (STE), shared by the low-bit and the int8 callbacks: layers
// compute with quantized weights W~, the optimizer updates full-precision
// shadows W with the gradient taken at W~.
//
//   Quantize()  save W as the shadow, write W~ = Q(W) into the parameter
//               and the STE mask (1 where the gradient passes, 0 where Q is
//               flat, e.g. clipped);
//   forward, backward with W~;
//   Restore()   copy W back into the parameter and multiply its gradient by
//               the mask, so that the optimizer step updates W;
//   Quantize()  again after the step.
//
// Cost: one full-precision copy and one mask per weight.
#ifndef EDGECOMPRESS_QUANTIZATION_SHADOW_WEIGHTS_H_
#define EDGECOMPRESS_QUANTIZATION_SHADOW_WEIGHTS_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::quantization {

class ShadowWeights {
 public:
  // `layer` indexes the names given to Create; `channels` is the weight's
  // dim 0 (output channels), the rows of the row-major `full`.
  using Quantizer = std::function<absl::Status(size_t layer, absl::Span<const float> full,
                                               int64_t channels, absl::Span<float> quantized,
                                               absl::Span<float> pass_gradient)>;

  // The "<layer>.weight" parameters of `module` (which must outlive this).
  // kNotFound naming a missing parameter, kInvalidArgument for one that is
  // not a contiguous float32 CPU tensor.
  static absl::StatusOr<ShadowWeights> Create(torch::nn::Module& module,
                                              const std::vector<std::string>& layers);

  absl::Status Quantize(const Quantizer& quantizer);
  // No-op before the first Quantize().
  void Restore();

  bool active() const { return active_; }
  size_t size() const { return weights_.size(); }
  const torch::Tensor& weight(size_t layer) const { return weights_[layer]; }

 private:
  explicit ShadowWeights(std::vector<torch::Tensor> weights) : weights_(std::move(weights)) {}

  std::vector<torch::Tensor> weights_;  // the module's parameters
  std::vector<torch::Tensor> shadows_, pass_gradients_;
  bool active_ = false;  // parameters hold W~, shadows hold W
};

}  // namespace edgecompress::quantization

#endif  // EDGECOMPRESS_QUANTIZATION_SHADOW_WEIGHTS_H_
