// A small builder for dense fp32 NHWC inference graphs on XNNPACK, and the
// runtime it produces. This is the layer the ONNX importer lowers into.
//
//   ASSIGN_OR_RETURN(GraphBuilder builder, GraphBuilder::Create());
//   ASSIGN_OR_RETURN(ValueId x, builder.AddInput({1, 32, 32, 3}));
//   ASSIGN_OR_RETURN(x, builder.AddConv2D(x, conv_params, filter_ohwi, bias));
//   ASSIGN_OR_RETURN(x, builder.AddClamp(x, 0.0f, 6.0f));           // ReLU6
//   ASSIGN_OR_RETURN(x, builder.AddGlobalAveragePool(x));           // [1, 1, 1, C]
//   ASSIGN_OR_RETURN(x, builder.AddFullyConnected(x, fc_params, weights, bias));
//   RETURN_IF_ERROR(builder.MarkOutput(x));
//   ASSIGN_OR_RETURN(Runtime runtime, builder.Build(/*num_threads=*/2));
//   RETURN_IF_ERROR(runtime.Run(image, logits));
//
// How it works:
//   1. GraphBuilder::Create() initialises XNNPACK. xnn_initialize is
//      idempotent (pthread_once inside, at ae108ef), so every Create() calls it
//      and no Deinitialize is ever made: XNNPACK's tables live for the process.
//   2. Each Add* validates its operands against the shapes the builder tracks
//      (rank, channel counts, weight sizes, kernel versus padded input), infers
//      the output shape and records a node. Weights are copied into builder-owned
//      immutable buffers. Nothing is handed to XNNPACK yet.
//   3. Build() lowers the recorded nodes that the output depends on into a fresh
//      xnn_subgraph (input = external value 0, output = external value 1),
//      creates the xnn_runtime with its own pthreadpool and deletes the
//      subgraph. Lowering is deferred because XNNPACK fixes a value's
//      external-output flag when the value is defined (MarkOutput could not be
//      honoured afterwards) and xnn_create_runtime_v2 rewrites the subgraph it
//      is given (fuses Clamp into its producer), so one subgraph cannot safely
//      back several runtimes; Build() may be called any number of times.
//   4. Runtime::Run copies the input into a runtime-owned buffer padded by
//      XNN_EXTRA_BYTES (XNNPACK may read that far past any tensor it is given),
//      points XNNPACK at the caller's output span and invokes the runtime.
//
// Guarantees:
//   - Every shape error is caught by the builder, with a one-line message
//     naming the op and the culprit, before XNNPACK sees it. This matters: at
//     ae108ef XNNPACK sizes its workspace from the declared shapes but computes
//     conv output sizes itself, so a wrong declared shape would overrun memory.
//   - XNNPACK keeps raw pointers to static weights for the runtime's lifetime
//     (xnnpack.h, xnn_define_tensor_value). The builder's weight buffers are
//     shared with every Runtime built from it, so either may be destroyed first.
//   - A Runtime owns its xnn_runtime and pthreadpool (RAII, movable, not
//     copyable); the runtime is deleted before the pool it runs on.
// Not provided (later issues): several inputs or outputs, depthwise/grouped
// convolution, sparse (NCHW) inference, int8, dynamic shapes (ae108ef has no
// reshape step: shapes are fixed at Build()).
//
// Cost: Add* is O(weights) for the copy. Build() packs every weight tensor
// (XNNPACK's operator creation, O(weights)) and allocates the activation arena.
// Run() copies the input once (O(input)) and re-runs xnn_setup_runtime only
// when the output buffer moved (conv setup rebuilds its indirection buffer).
// A Runtime is not thread-safe; use one per thread, or one pool for many.
#ifndef EDGECOMPRESS_INFERENCE_XNN_GRAPH_H_
#define EDGECOMPRESS_INFERENCE_XNN_GRAPH_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace inference {

// Index of a tensor in a GraphBuilder, in creation order from 0.
using ValueId = uint32_t;

// A 2D convolution with one group. Filters are OHWI:
// [output_channels, kernel_height, kernel_width, input_channels].
// Output size per spatial axis, as XNNPACK and ONNX compute it:
//   out = (in + pad_before + pad_after - dilation * (kernel - 1) - 1) / stride + 1
// (floor division); the padded input must be at least as large as the dilated
// kernel (XNNPACK would silently produce one output there, ONNX rejects it).
struct Conv2DParams {
  size_t input_channels = 0, output_channels = 0;
  uint32_t kernel_height = 0, kernel_width = 0;
  uint32_t stride_height = 1, stride_width = 1;
  uint32_t dilation_height = 1, dilation_width = 1;
  uint32_t padding_top = 0, padding_right = 0, padding_bottom = 0, padding_left = 0;
};

// y[..., o] = sum_i x[..., i] * weights[o, i] + bias[o]; weights are
// [output_channels, input_channels] (ONNX Gemm with transB = 1, PyTorch Linear).
// The input may have any rank >= 1; its last dimension must be input_channels.
struct FullyConnectedParams {
  size_t input_channels = 0, output_channels = 0;
};

class Runtime;

class GraphBuilder {
 public:
  // Initialises XNNPACK (see the top of this file). Fails only if XNNPACK
  // does not support the host CPU or runs out of memory.
  static absl::StatusOr<GraphBuilder> Create();

  GraphBuilder(GraphBuilder&&) = default;
  GraphBuilder& operator=(GraphBuilder&&) = default;
  GraphBuilder(const GraphBuilder&) = delete;
  GraphBuilder& operator=(const GraphBuilder&) = delete;

  // The graph input. Rank 1..6 (XNN_MAX_TENSOR_DIMS), every dimension > 0.
  // One input per graph for now.
  absl::StatusOr<ValueId> AddInput(absl::Span<const size_t> shape);

  // `input` is [N, H, W, input_channels]; output [N, OH, OW, output_channels].
  // `filter` is OHWI as above; `bias` is output_channels floats, or empty for
  // none. Both are copied.
  absl::StatusOr<ValueId> AddConv2D(ValueId input, const Conv2DParams& params,
                                    absl::Span<const float> filter,
                                    absl::Span<const float> bias);

  // y = min(max(x, output_min), output_max); needs output_min < output_max,
  // neither NaN (infinities are fine: [0, inf] is ReLU). Same shape as input.
  // XNNPACK fuses it into the producing conv or FC when it is the only consumer.
  absl::StatusOr<ValueId> AddClamp(ValueId input, float output_min, float output_max);

  // Mean over H and W: [N, H, W, C] -> [N, 1, 1, C].
  absl::StatusOr<ValueId> AddGlobalAveragePool(ValueId input);

  // See FullyConnectedParams. `weights` and `bias` (output_channels floats, or
  // empty for none) are copied. Output shape: the input's with the last
  // dimension replaced by output_channels.
  absl::StatusOr<ValueId> AddFullyConnected(ValueId input, const FullyConnectedParams& params,
                                            absl::Span<const float> weights,
                                            absl::Span<const float> bias);

  // Makes `value` the graph output. It must be produced by an op (not the
  // input); one output per graph for now.
  absl::Status MarkOutput(ValueId value);

  // Lowers the graph into XNNPACK and creates a runtime on `num_threads`
  // threads (1 runs on the calling thread; no pool is created). Ops that the
  // output does not depend on are dropped. The builder is left unchanged.
  absl::StatusOr<Runtime> Build(int num_threads) const;

  size_t num_values() const { return values_.size(); }
  // Shape of `value`; requires value < num_values().
  absl::Span<const size_t> shape(ValueId value) const;

 private:
  enum class OpType { kConv2D, kClamp, kGlobalAveragePool, kFullyConnected };

  // One recorded op. Weights are shared with the runtimes built from them.
  struct Node {
    OpType type;
    ValueId input = 0, output = 0;
    Conv2DParams conv;                                   // kConv2D
    float output_min = 0.0f, output_max = 0.0f;          // kClamp
    std::shared_ptr<const std::vector<float>> weights;   // kConv2D, kFullyConnected
    std::vector<size_t> weights_shape;                   // OHWI or [O, I]
    std::shared_ptr<const std::vector<float>> bias;      // [weights_shape[0]], may be null
  };

  GraphBuilder() = default;

  static const char* OpName(OpType type);

  absl::Status CheckValue(ValueId value, const char* op) const;
  ValueId AddValue(std::vector<size_t> shape);

  std::vector<std::vector<size_t>> values_;  // shape of each value
  std::vector<Node> nodes_;                  // in creation order, so topological
  ValueId input_ = 0, output_ = 0;
  bool has_input_ = false, has_output_ = false;
};

// A compiled graph ready to run. Movable, not copyable; a moved-from Runtime
// may only be destroyed, assigned to, or Run() (which then reports
// kFailedPrecondition).
class Runtime {
 public:
  Runtime(Runtime&&) noexcept;
  Runtime& operator=(Runtime&&) noexcept;
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  ~Runtime();

  // Runs the graph. `input` must hold exactly input_size() floats and `output`
  // exactly output_size(), both NHWC (row-major in the declared shapes).
  // Nothing is kept after the call returns.
  absl::Status Run(absl::Span<const float> input, absl::Span<float> output);

  absl::Span<const size_t> input_shape() const { return input_shape_; }
  absl::Span<const size_t> output_shape() const { return output_shape_; }
  size_t input_size() const { return input_size_; }
  size_t output_size() const { return output_size_; }
  int num_threads() const { return num_threads_; }

 private:
  friend class GraphBuilder;
  // The xnn_runtime, its pthreadpool, the weights it points to and the padded
  // input buffer; defined in the .cc so this header needs no xnnpack.h.
  struct State;

  explicit Runtime(std::unique_ptr<State> state);

  std::vector<size_t> input_shape_, output_shape_;
  size_t input_size_ = 0, output_size_ = 0;
  int num_threads_ = 1;
  std::unique_ptr<State> state_;
};

}  // namespace inference
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INFERENCE_XNN_GRAPH_H_
