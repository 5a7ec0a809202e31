// Training-mode BatchNorm2d with the ReLU and the residual addition that
// follow it in a ResNet block, fused into one differentiable op for
// channels-last CPU float tensors:
//
//   out = relu?(gamma * (x - mean) / sqrt(var + eps) + beta [+ residual])
//
// Why: LibTorch 1.13 runs this as batch_norm, add and relu, each a pass over
// the activations forward and again backward, and its channels-last
// batch_norm backward is twice as slow as its NCHW one. Together they were a
// third of a ResNet-20 training step here. Fused:
//   forward  1. per-channel sums of x - x[0] and its square (one read; the
//               shift by the first row keeps the variance exact when
//               |mean| >> std);
//            2. out = max(0, x * scale + shift [+ residual]) (one read, one
//               write), and the running statistics updated as torch does
//               (unbiased variance, momentum);
//   backward 1. g = dout masked where out <= 0; per-channel sums of g and of
//               g * (x - mean) (one read of dout, out, x);
//            2. dx = gamma * invstd * (g - mean(g) - (x - mean) * invstd^2 *
//               mean(g * (x - mean))) and dresidual = g (one more read).
// Sums run over fixed blocks of rows in float and are added up in double in
// block order, so results do not depend on the thread count.
//
// Other inputs (eval mode, NCHW, non-float, no affine parameters, cumulative
// averaging without momentum) run torch's batch_norm, add and relu, so
// callers can use this everywhere a BatchNorm2d is followed by them.
#ifndef EDGECOMPRESS_TRAINING_OPS_BATCH_NORM_H_
#define EDGECOMPRESS_TRAINING_OPS_BATCH_NORM_H_

#include <ATen/Tensor.h>
#include <torch/nn/modules/batchnorm.h>

namespace edgecompress::training {

struct BatchNormEpilogue {
  at::Tensor residual;  // added after the affine transform when defined
  bool relu = false;
};

// `bn`'s forward on `x` followed by `epilogue`, in `bn`'s current mode. In
// training mode it updates bn's running statistics and num_batches_tracked
// exactly as BatchNorm2d::forward does.
at::Tensor BatchNorm2dForward(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x,
                              const BatchNormEpilogue& epilogue = {});

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_OPS_BATCH_NORM_H_
