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
// Ops: convolution (grouped and depthwise), fully connected, clamp, hardswish,
// sigmoid, softmax, max/average/global-average pooling, add and multiply with
// numpy broadcasting, static reshape and constant padding; constants (static
// tensors) may be operands of add and multiply.
//
// How it works:
//   1. GraphBuilder::Create() initialises XNNPACK. xnn_initialize is
//      idempotent (pthread_once inside, at ae108ef), so every Create() calls it
//      and no Deinitialize is ever made: XNNPACK's tables live for the process.
//   2. Each Add* validates its operands against the shapes the builder tracks
//      (rank, channel counts, weight sizes, kernel versus padded input,
//      broadcast compatibility), infers the output shape and records a node.
//      Weights and constants are copied into builder-owned immutable buffers.
//      Nothing is handed to XNNPACK yet.
//   3. Build() lowers the recorded nodes that the output depends on into a fresh
//      xnn_subgraph (input = external value 0, output = external value 1),
//      creates the xnn_runtime with its own pthreadpool and deletes the
//      subgraph. Lowering is deferred because XNNPACK fixes a value's
//      external-output flag when the value is defined (MarkOutput could not be
//      honoured afterwards) and xnn_create_runtime_v2 rewrites the subgraph it
//      is given (fuses Clamp into its producer, constant padding into the
//      convolution after it), so one subgraph cannot safely back several
//      runtimes; Build() may be called any number of times.
//   4. Runtime::Run copies the input into a runtime-owned buffer padded by
//      XNN_EXTRA_BYTES (XNNPACK may read that far past any tensor it is given),
//      points XNNPACK at the caller's output span and invokes the runtime.
//
// XNNPACK (ae108ef) quirks the builder hides:
//   - Depthwise convolution is its own node with a [1, KH, KW, C * multiplier]
//     filter; AddConv2D takes every convolution in OHWI and, when each group
//     has one input channel (groups == input_channels > 1), relays the filter
//     out and defines a depthwise node (what the sparse NCHW path recognises).
//   - 1x1 max or average pooling is rejected ("meaningless"), yet ONNX models
//     use it to subsample; with no padding it is exactly a strided 1x1
//     depthwise convolution with unit weights, which is what it becomes.
//   - Binary ops and reshape do not check shapes at define time; a wrong
//     declared shape would be trusted. The builder checks them all.
//   - Average pooling divides by the number of non-padding elements in each
//     window (ONNX count_include_pad = 0); for count_include_pad = 1, pad
//     explicitly with AddConstantPad and pool without padding.
//   - Max pooling reads clamped border pixels instead of padding, which is the
//     same as ignoring padding while every window overlaps the input; the
//     builder requires each padding to be smaller than the kernel to keep it so.
//     With dilation the replacement pixel can lie outside the window, so a
//     dilated, padded max pooling becomes -inf constant padding and an
//     unpadded pooling (found by the reference test, not documented upstream).
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
// Int8 (XNNPACK QS8). A value is either fp32 or qint8 with one
// Int8Quantization (real = scale * (q - zero_point)). AddQuantize and
// AddDequantize are XNNPACK converts at the float/int8 boundaries;
// AddQuantizedConv2D and AddQuantizedFullyConnected take int8 weights with one
// scale per output channel (symmetric, zero point 0: XNNPACK's qcint8 "QC8"
// kernels) and a float bias that the builder rounds to int32 with scale
// input_scale * weight_scale[o] (the TFLite/ONNX QLinearConv convention);
// AddQuantizedAdd and AddQuantizedGlobalAveragePool requantize to the output's
// parameters. Clamp, max pooling, reshape and constant padding also accept an
// int8 value and keep its parameters (XNNPACK requires equal input and output
// parameters for max pooling); every other op needs fp32 operands and says so.
// At ae108ef XNNPACK's fully connected node has no per-channel (qcint8)
// weights, so the quantized fully connected is a 1x1 QC8 convolution over
// [M, 1, 1, K] between two reshapes (no data moves).
// Not provided (later issues): several inputs or outputs, concatenation and
// transposition (no such nodes at ae108ef),
// dynamic shapes (ae108ef has no reshape step: shapes are fixed at Build()).
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
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

struct pthreadpool;  // <pthreadpool.h>: pthreadpool_t is a pointer to it

namespace edgecompress {
namespace inference {

// Index of a tensor in a GraphBuilder, in creation order from 0.
using ValueId = uint32_t;

// A 2D convolution. Filters are OHWI:
// [output_channels, kernel_height, kernel_width, input_channels / groups].
// input_channels and output_channels count all groups and are multiples of
// `groups`; output channel o reads input channels [g * I/G, (g + 1) * I/G) of
// group g = o / (O/G), as in ONNX Conv and PyTorch. groups == input_channels
// is a depthwise convolution (output_channels / groups is its multiplier).
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
  uint32_t groups = 1;
};

// A 2D max or average pooling window, NHWC, every channel on its own. Output
// size per spatial axis as for Conv2DParams (floor; for ONNX ceil_mode, add
// the missing rows and columns to padding_bottom and padding_right).
// Each padding must be smaller than the kernel along its axis: every window
// then overlaps the input. Average pooling has no dilation (XNNPACK has none).
struct Pool2DParams {
  uint32_t pooling_height = 0, pooling_width = 0;
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

// Parameters of a qint8 value: real = scale * (q - zero_point), q in
// [-128, 127]. scale finite and > 0, zero_point in [-128, 127].
struct Int8Quantization {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

class Runtime;

// How Build() creates a runtime.
struct BuildOptions {
  // Threads of the runtime's own pool (1: the calling thread, no pool).
  int num_threads = 1;
  // Runs on this caller-owned pool instead (num_threads is then ignored); it
  // must outlive the runtime. Several runtimes run in sequence on one pool
  // (inference/sparse) so that no idle pool's spinning workers steal cores.
  ::pthreadpool* shared_threadpool = nullptr;
  // Passes XNN_FLAG_SPARSE_INFERENCE: XNNPACK may then run the graph body in
  // NCHW with its sparse 1x1-convolution kernels (src/subgraph.c,
  // xnn_subgraph_rewrite_for_nchw: MobileNet-like chains with more than 2/3
  // of the 1x1 weights zero). A hint: Debian's x86 build never takes that
  // path (inference/sparse has our own x86 kernels); aarch64 builds do.
  bool sparse_inference = false;
};

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

  // A static tensor of `shape` (rank 1..6) holding `data` (row-major, copied),
  // usable as an operand of AddAdd and AddMultiply. Not an op's output, so it
  // cannot be the graph output.
  absl::StatusOr<ValueId> AddConstant(absl::Span<const size_t> shape,
                                      absl::Span<const float> data);

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

  // [N, H, W, C] -> [N, OH, OW, C], see Pool2DParams. Max ignores padding;
  // average divides by the number of non-padding elements in the window.
  absl::StatusOr<ValueId> AddMaxPool2D(ValueId input, const Pool2DParams& params);
  absl::StatusOr<ValueId> AddAveragePool2D(ValueId input, const Pool2DParams& params);

  // Elementwise a + b and a * b with numpy broadcasting: shapes are aligned
  // from the last dimension and each pair of dimensions must be equal or
  // contain a 1; the output has the larger rank and the larger of each pair.
  // At most one operand may be a constant.
  absl::StatusOr<ValueId> AddAdd(ValueId a, ValueId b);
  absl::StatusOr<ValueId> AddMultiply(ValueId a, ValueId b);

  // y = x * min(max(x + 3, 0), 6) / 6, elementwise.
  absl::StatusOr<ValueId> AddHardSwish(ValueId input);
  // y = 1 / (1 + exp(-x)), elementwise.
  absl::StatusOr<ValueId> AddSigmoid(ValueId input);
  // Softmax over the last dimension; every other dimension is a batch.
  absl::StatusOr<ValueId> AddSoftmax(ValueId input);

  // The same elements, row-major, in `new_shape` (rank 1..6, no zero
  // dimension, as many elements as the input).
  absl::StatusOr<ValueId> AddReshape(ValueId input, absl::Span<const size_t> new_shape);

  // Pads dimension d with pre_padding[d] copies of `value` before and
  // post_padding[d] after; both spans have the input's rank.
  absl::StatusOr<ValueId> AddConstantPad(ValueId input, absl::Span<const size_t> pre_padding,
                                         absl::Span<const size_t> post_padding, float value);

  // See FullyConnectedParams. `weights` and `bias` (output_channels floats, or
  // empty for none) are copied. Output shape: the input's with the last
  // dimension replaced by output_channels.
  absl::StatusOr<ValueId> AddFullyConnected(ValueId input, const FullyConnectedParams& params,
                                            absl::Span<const float> weights,
                                            absl::Span<const float> bias);

  // --- Int8 (see the top of this file) ---------------------------------------
  // fp32 -> qint8 with `quantization` (round to nearest, saturate), and back.
  absl::StatusOr<ValueId> AddQuantize(ValueId input, const Int8Quantization& quantization);
  absl::StatusOr<ValueId> AddDequantize(ValueId input);

  // Like AddConv2D on a qint8 input. `filter` is int8 OHWI, `filter_scales`
  // has one positive scale per output channel (zero points 0), `bias` is
  // output_channels floats (rounded to int32 at input_scale * filter_scale)
  // or empty. The output is qint8 with `output` parameters; values outside its
  // range saturate, so an output range starting at 0 is also a ReLU.
  absl::StatusOr<ValueId> AddQuantizedConv2D(ValueId input, const Conv2DParams& params,
                                             absl::Span<const int8_t> filter,
                                             absl::Span<const float> filter_scales,
                                             absl::Span<const float> bias,
                                             const Int8Quantization& output);
  // Like AddFullyConnected on a qint8 input of rank 2 ([M, K]); weights are
  // int8 [output_channels, input_channels] with per-output-channel scales.
  absl::StatusOr<ValueId> AddQuantizedFullyConnected(ValueId input,
                                                     const FullyConnectedParams& params,
                                                     absl::Span<const int8_t> weights,
                                                     absl::Span<const float> weight_scales,
                                                     absl::Span<const float> bias,
                                                     const Int8Quantization& output);
  // a + b (numpy broadcasting) and the mean over H and W, on qint8 operands,
  // requantized to `output`.
  absl::StatusOr<ValueId> AddQuantizedAdd(ValueId a, ValueId b, const Int8Quantization& output);
  absl::StatusOr<ValueId> AddQuantizedGlobalAveragePool(ValueId input,
                                                        const Int8Quantization& output);

  // Makes `value` the graph output. It must be produced by an op (not the
  // input or a constant) and be fp32; one output per graph for now.
  absl::Status MarkOutput(ValueId value);

  // Lowers the graph into XNNPACK and creates a runtime on `num_threads`
  // threads (1 runs on the calling thread; no pool is created). Ops that the
  // output does not depend on are dropped. The builder is left unchanged.
  absl::StatusOr<Runtime> Build(int num_threads) const;
  absl::StatusOr<Runtime> Build(const BuildOptions& options) const;

  size_t num_values() const { return values_.size(); }
  // Shape of `value`; requires value < num_values().
  absl::Span<const size_t> shape(ValueId value) const;
  // Whether `value` was made by AddConstant; requires value < num_values().
  bool is_constant(ValueId value) const;
  // The parameters of a qint8 value, or null for fp32; requires value < num_values().
  const Int8Quantization* quantization(ValueId value) const;

 private:
  enum class OpType {
    kConv2D,
    kDepthwiseConv2D,  // a kConv2D whose groups have one input channel each
    kClamp,
    kGlobalAveragePool,
    kFullyConnected,
    kMaxPool2D,
    kAveragePool2D,
    kSubsample2D,      // a 1x1 pooling: a strided depthwise conv with unit weights
    kAdd,
    kMultiply,
    kHardSwish,
    kSigmoid,
    kSoftmax,
    kReshape,          // the new shape is the output value's
    kConstantPad,
    kConvert,          // fp32 <-> qint8, the direction given by the value types
    kQuantizedConv2D,  // QC8: int8 weights with per-output-channel scales
    kQuantizedDepthwiseConv2D,
  };

  // One recorded op. Weights are shared with the runtimes built from them.
  struct Node {
    OpType type;
    std::vector<ValueId> inputs;                         // 1, or 2 for kAdd and kMultiply
    ValueId output = 0;
    Conv2DParams conv;                                   // convolutions, kSubsample2D
    Pool2DParams pool;                                   // kMaxPool2D, kAveragePool2D
    float output_min = 0.0f, output_max = 0.0f;          // kClamp
    std::vector<size_t> pre_padding, post_padding;       // kConstantPad
    float padding_value = 0.0f;                          // kConstantPad
    std::shared_ptr<const std::vector<float>> weights;   // convolutions, kFullyConnected
    std::vector<size_t> weights_shape;                   // OHWI, [1, H, W, O] or [O, I]
    std::shared_ptr<const std::vector<float>> bias;      // [output channels], may be null
    // Quantized convolutions: int8 weights (shaped as `weights_shape`), their
    // per-output-channel scales, the int32 bias and its scales.
    std::shared_ptr<const std::vector<int8_t>> int8_weights;
    std::shared_ptr<const std::vector<float>> weight_scales, bias_scales;
    std::shared_ptr<const std::vector<int32_t>> int32_bias;
  };

  GraphBuilder() = default;

  static const char* OpName(OpType type);

  absl::Status CheckValue(ValueId value, const char* op) const;
  // CheckValue, and `value` is not a constant (ops that read only constants
  // would not depend on the input).
  absl::Status CheckActivation(ValueId value, const char* op) const;
  // CheckActivation for fp32-only ops: also rejects qint8 values.
  absl::Status CheckFloatActivation(ValueId value, const char* op) const;
  absl::Status CheckInt8Activation(ValueId value, const char* op) const;
  ValueId AddValue(std::vector<size_t> shape);
  // Records a node of `type` reading `inputs` and producing a new value of
  // `output_shape` (already validated); returns that value.
  ValueId AddNode(Node node, std::vector<size_t> output_shape);
  // AddNode whose output is qint8 with `quantization`.
  ValueId AddQuantizedNode(Node node, std::vector<size_t> output_shape,
                           const Int8Quantization& quantization);
  absl::StatusOr<ValueId> AddUnary(OpType type, ValueId input);
  absl::StatusOr<ValueId> AddBinary(OpType type, ValueId a, ValueId b);
  absl::StatusOr<ValueId> AddPool2D(OpType type, ValueId input, const Pool2DParams& params);
  absl::StatusOr<std::vector<size_t>> CheckConv2D(ValueId input, const Conv2DParams& params,
                                                  size_t filter_size, size_t bias_size,
                                                  const char* op) const;

  std::vector<std::vector<size_t>> values_;  // shape of each value
  // Data of each value made by AddConstant (padded like weights), else null.
  std::vector<std::shared_ptr<const std::vector<float>>> constants_;
  // Parameters of each qint8 value; nullopt for fp32.
  std::vector<std::optional<Int8Quantization>> quantizations_;
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
  // Run without the input copy, for callers that own padded buffers
  // (inference/sparse chains runtimes through one arena): the
  // kInputPaddingFloats floats after `input` must be readable (XNNPACK reads
  // up to XNN_EXTRA_BYTES past a tensor, never writes there), and setup
  // reruns whenever the input or output address changes.
  absl::Status RunWithPaddedInput(absl::Span<const float> input, absl::Span<float> output);
  static constexpr size_t kInputPaddingFloats = 4;  // XNN_EXTRA_BYTES (16) / sizeof(float)

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
  // Binds `input` and `output` (setup when either moved) and invokes.
  absl::Status Invoke(const float* input, float* output);

  std::vector<size_t> input_shape_, output_shape_;
  size_t input_size_ = 0, output_size_ = 0;
  int num_threads_ = 1;
  std::unique_ptr<State> state_;
};

}  // namespace inference
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INFERENCE_XNN_GRAPH_H_
