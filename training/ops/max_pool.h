// Max pooling over non-overlapping windows (kernel == stride, no padding,
// floor mode) for CPU float tensors, with its own forward and backward.
//
// Why: LibTorch 1.13's NCHW max_pool2d_with_indices on CPU costs ~25 ns per
// output here (a general dilated window, 64-bit indices, a branch per
// compare), a quarter of a LeNet-5 training step. Non-overlapping windows
// need less:
//   1. forward: for each output, scan its k x k window once with branch-free
//      selects, keep the value and the window offset (one byte) of the first
//      maximum;
//   2. backward: a zeroed input gradient, and each output's gradient written
//      at its window's argmax. Windows do not overlap, so nothing is summed.
// Forward + backward is 2x torch's on NCHW and 1.3x on channels-last with
// LeNet's 6 channels (//training/ops:ops_benchmark). From 16 channels on,
// torch's channels-last kernel, vectorised over channels, is faster than
// ours, so those inputs go to it. The output keeps the input's memory format.
//
// With PoolInput::kRelu the pool takes max_pool2d(relu(x)) in the same pass:
// max(0, window maximum), whose gradient goes to the argmax only when that
// maximum is positive. ReLU and max commute, so value and gradient equal
// torch's relu followed by max_pool2d, and the ReLU's own pass over the
// full-size activation, its parallel region and its backward are gone. With
// the backward zeroing inside its own tasks (one region, not two), LeNet-5's
// step on two threads, where every region costs a thread wake-up, is 4-8%
// faster than with torch's ReLU (training/throughput, interleaved runs).
//
// Semantics are PyTorch's: the first maximum in row-major window order wins
// ties, a NaN wins over any number (and the last NaN over earlier ones), and
// trailing rows/columns that do not fill a window are dropped. Any other
// input (not 4-D float on CPU, kernel < 1 or > 11, a window larger than the
// image, channels-last with 16 or more channels) goes to torch's max_pool2d
// (after it, for kRelu, torch's relu on the pooled, smaller tensor).
#ifndef EDGECOMPRESS_TRAINING_OPS_MAX_POOL_H_
#define EDGECOMPRESS_TRAINING_OPS_MAX_POOL_H_

#include <ATen/Tensor.h>

#include <cstdint>

namespace edgecompress::training {

enum class PoolInput {
  kAsIs,
  kRelu,  // pool relu(x)
};

// max_pool2d(x, kernel_size = kernel, stride = kernel), or of relu(x) with
// PoolInput::kRelu; differentiable.
at::Tensor MaxPool2dNonOverlapping(const at::Tensor& x, int64_t kernel,
                                   PoolInput input = PoolInput::kAsIs);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_OPS_MAX_POOL_H_
