#include "inference/xnn_graph.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace inference {
namespace {

// The subgraph reserves two external value ids: the graph input and output.
constexpr uint32_t kInputExternalId = 0;
constexpr uint32_t kOutputExternalId = 1;
constexpr uint32_t kNumExternalIds = 2;

// XNNPACK may read up to XNN_EXTRA_BYTES past the end of any tensor.
constexpr size_t kExtraFloats = (XNN_EXTRA_BYTES + sizeof(float) - 1) / sizeof(float);

constexpr float kNoMin = -std::numeric_limits<float>::infinity();
constexpr float kNoMax = std::numeric_limits<float>::infinity();

const char* XnnStatusName(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "success";
    case xnn_status_uninitialized: return "XNNPACK not initialized";
    case xnn_status_invalid_parameter: return "invalid parameter";
    case xnn_status_invalid_state: return "invalid state";
    case xnn_status_unsupported_parameter: return "unsupported parameter";
    case xnn_status_unsupported_hardware: return "unsupported hardware";
    case xnn_status_out_of_memory: return "out of memory";
  }
  return "unknown xnn_status";
}

// Maps a failed XNNPACK call to the closest absl code; `what` names the call
// and the op, e.g. "xnn_define_convolution_2d for node 3 (conv2d)".
absl::Status XnnError(xnn_status status, absl::string_view what) {
  const std::string message =
      absl::StrFormat("%s failed: %s (%d)", what, XnnStatusName(status), static_cast<int>(status));
  switch (status) {
    case xnn_status_invalid_parameter:
      return absl::InvalidArgumentError(message);
    case xnn_status_unsupported_parameter:
      return absl::UnimplementedError(message);
    case xnn_status_out_of_memory:
      return absl::ResourceExhaustedError(message);
    case xnn_status_uninitialized:
    case xnn_status_unsupported_hardware:
      return absl::FailedPreconditionError(message);
    default:
      // Our validation should make invalid_state unreachable.
      return absl::InternalError(message);
  }
}

std::string ShapeString(absl::Span<const size_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// Product of `factors`, or false if it overflows size_t.
bool CheckedProduct(absl::Span<const size_t> factors, size_t* product) {
  size_t result = 1;
  for (size_t factor : factors) {
    if (__builtin_mul_overflow(result, factor, &result)) return false;
  }
  *product = result;
  return true;
}

size_t NumElements(absl::Span<const size_t> shape) {
  size_t n = 1;
  for (size_t dim : shape) n *= dim;  // every Add* checked the product
  return n;
}

// Weights and biases are copied, padded by XNN_EXTRA_BYTES of zeros, into an
// immutable buffer: XNNPACK keeps raw pointers to static tensor data for the
// lifetime of every runtime, so the buffer is shared with those runtimes.
std::shared_ptr<const std::vector<float>> CopyPadded(absl::Span<const float> data) {
  // Written once (no zero fill first): fresh pages fault on first touch, and
  // a ResNet's weights are tens of MB.
  auto copy = std::make_shared<std::vector<float>>();
  copy->reserve(data.size() + kExtraFloats);
  copy->assign(data.begin(), data.end());
  copy->resize(data.size() + kExtraFloats, 0.0f);
  return copy;
}

struct SubgraphDeleter {
  void operator()(xnn_subgraph* subgraph) const { xnn_delete_subgraph(subgraph); }
};

struct ThreadpoolDeleter {
  void operator()(pthreadpool* threadpool) const { pthreadpool_destroy(threadpool); }
};

struct XnnRuntimeDeleter {
  void operator()(xnn_runtime* runtime) const { xnn_delete_runtime(runtime); }
};

// Output extent of one spatial axis of a convolution, or false if the padded
// input is smaller than the dilated kernel.
bool ConvOutputExtent(size_t input, uint32_t pad_before, uint32_t pad_after, uint32_t kernel,
                      uint32_t dilation, uint32_t stride, size_t* output) {
  const size_t padded = input + pad_before + pad_after;
  const size_t effective_kernel = static_cast<size_t>(dilation) * (kernel - 1) + 1;
  if (padded < effective_kernel) return false;
  *output = (padded - effective_kernel) / stride + 1;
  return true;
}

}  // namespace

// Member order is destruction order reversed: `runtime` goes first, while the
// pool it runs on, the weights it points to and the input buffer still exist.
struct Runtime::State {
  // Float and int8 weights, biases and per-channel scales, of any element type.
  std::vector<std::shared_ptr<const void>> static_weights;
  std::vector<float> padded_input;  // input_size floats + XNN_EXTRA_BYTES
  float* bound_output = nullptr;    // output pointer given to the last xnn_setup_runtime
  const float* bound_input = nullptr;  // input pointer given to it
  std::unique_ptr<pthreadpool, ThreadpoolDeleter> threadpool;
  std::unique_ptr<xnn_runtime, XnnRuntimeDeleter> runtime;
};

absl::StatusOr<GraphBuilder> GraphBuilder::Create() {
  // Idempotent and thread-safe (pthread_once inside XNNPACK), so it is called
  // per builder rather than from a global. Never undone with xnn_deinitialize:
  // other builders and runtimes in the process may still need XNNPACK.
  const xnn_status status = xnn_initialize(/*allocator=*/nullptr);
  if (status != xnn_status_success) return XnnError(status, "xnn_initialize");
  return GraphBuilder();
}

const char* GraphBuilder::OpName(OpType type) {
  switch (type) {
    case OpType::kConv2D: return "conv2d";
    case OpType::kClamp: return "clamp";
    case OpType::kGlobalAveragePool: return "global_average_pool";
    case OpType::kFullyConnected: return "fully_connected";
    case OpType::kDepthwiseConv2D: return "depthwise_conv2d";
    case OpType::kMaxPool2D: return "max_pool2d";
    case OpType::kAveragePool2D: return "average_pool2d";
    case OpType::kSubsample2D: return "subsample2d";
    case OpType::kAdd: return "add";
    case OpType::kMultiply: return "multiply";
    case OpType::kHardSwish: return "hardswish";
    case OpType::kSigmoid: return "sigmoid";
    case OpType::kSoftmax: return "softmax";
    case OpType::kReshape: return "reshape";
    case OpType::kConstantPad: return "constant_pad";
    case OpType::kConvert: return "convert";
    case OpType::kQuantizedConv2D: return "quantized_conv2d";
    case OpType::kQuantizedDepthwiseConv2D: return "quantized_depthwise_conv2d";
  }
  return "unknown op";
}

absl::Status GraphBuilder::CheckValue(ValueId value, const char* op) const {
  if (value >= values_.size()) {
    return absl::OutOfRangeError(absl::StrFormat("%s: no value %d (the graph has %d values)", op,
                                                 value, values_.size()));
  }
  return absl::OkStatus();
}

absl::Status GraphBuilder::CheckActivation(ValueId value, const char* op) const {
  RETURN_IF_ERROR(CheckValue(value, op));
  if (is_constant(value)) {
    // Ops on constants alone would not depend on the input; fold them instead.
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: value %d is a constant; fold the op into it instead", op, value));
  }
  return absl::OkStatus();
}

absl::Status GraphBuilder::CheckFloatActivation(ValueId value, const char* op) const {
  RETURN_IF_ERROR(CheckActivation(value, op));
  if (quantizations_[value].has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: value %d is int8; this op needs fp32 (dequantize it first)", op, value));
  }
  return absl::OkStatus();
}

absl::Status GraphBuilder::CheckInt8Activation(ValueId value, const char* op) const {
  RETURN_IF_ERROR(CheckActivation(value, op));
  if (!quantizations_[value].has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: value %d is fp32; this op needs int8 (quantize it first)", op, value));
  }
  return absl::OkStatus();
}

ValueId GraphBuilder::AddValue(std::vector<size_t> shape) {
  values_.push_back(std::move(shape));
  constants_.push_back(nullptr);
  quantizations_.push_back(std::nullopt);
  return static_cast<ValueId>(values_.size() - 1);
}

ValueId GraphBuilder::AddNode(Node node, std::vector<size_t> output_shape) {
  node.output = AddValue(std::move(output_shape));
  // Ops that only move or select int8 values keep their input's parameters
  // (XNNPACK requires it of max pooling; for the others it makes them exact).
  const bool keeps_quantization = node.type == OpType::kClamp || node.type == OpType::kMaxPool2D ||
                                  node.type == OpType::kReshape ||
                                  node.type == OpType::kConstantPad;
  if (keeps_quantization) quantizations_[node.output] = quantizations_[node.inputs[0]];
  nodes_.push_back(std::move(node));
  return nodes_.back().output;
}

ValueId GraphBuilder::AddQuantizedNode(Node node, std::vector<size_t> output_shape,
                                       const Int8Quantization& quantization) {
  const ValueId output = AddNode(std::move(node), std::move(output_shape));
  quantizations_[output] = quantization;
  return output;
}

const Int8Quantization* GraphBuilder::quantization(ValueId value) const {
  assert(value < values_.size());
  return quantizations_[value].has_value() ? &*quantizations_[value] : nullptr;
}

bool GraphBuilder::is_constant(ValueId value) const {
  assert(value < values_.size());
  return constants_[value] != nullptr;
}

namespace {

// Rank 1..XNN_MAX_TENSOR_DIMS, no zero dimension, element count fits size_t.
// `what` starts the message, e.g. "input: shape" or "reshape: new shape".
absl::Status CheckShape(absl::Span<const size_t> shape, absl::string_view what) {
  if (shape.empty() || shape.size() > XNN_MAX_TENSOR_DIMS) {
    return absl::InvalidArgumentError(absl::StrFormat("%s %s has rank %d, expected 1 to %d", what,
                                                      ShapeString(shape), shape.size(),
                                                      XNN_MAX_TENSOR_DIMS));
  }
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s %s: dimension %d is zero", what, ShapeString(shape), i));
    }
  }
  if (size_t num_elements = 0; !CheckedProduct(shape, &num_elements)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s %s has too many elements", what, ShapeString(shape)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Span<const size_t> GraphBuilder::shape(ValueId value) const {
  assert(value < values_.size());
  return values_[value];
}

absl::StatusOr<ValueId> GraphBuilder::AddInput(absl::Span<const size_t> shape) {
  if (has_input_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "input: the graph already has an input (value %d); one input per graph for now", input_));
  }
  RETURN_IF_ERROR(CheckShape(shape, "input: shape"));
  input_ = AddValue(std::vector<size_t>(shape.begin(), shape.end()));
  has_input_ = true;
  return input_;
}

// Validates a convolution of `input` (see AddConv2D) and returns its NHWC
// output shape; `filter_size` and `bias_size` are the element counts given.
absl::StatusOr<std::vector<size_t>> GraphBuilder::CheckConv2D(ValueId input,
                                                              const Conv2DParams& params,
                                                              size_t filter_size_given,
                                                              size_t bias_size,
                                                              const char* kOp) const {
  RETURN_IF_ERROR(CheckActivation(input, kOp));
  const std::vector<size_t>& in = values_[input];
  if (in.size() != 4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has shape %s, expected 4D NHWC", kOp, input, ShapeString(in)));
  }
  const Conv2DParams& p = params;
  if (p.input_channels == 0 || p.output_channels == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input_channels (%d) and output_channels (%d) must be positive", kOp,
        p.input_channels, p.output_channels));
  }
  if (p.kernel_height == 0 || p.kernel_width == 0 || p.stride_height == 0 ||
      p.stride_width == 0 || p.dilation_height == 0 || p.dilation_width == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: kernel %dx%d, stride %dx%d and dilation %dx%d must all be positive", kOp,
        p.kernel_height, p.kernel_width, p.stride_height, p.stride_width, p.dilation_height,
        p.dilation_width));
  }
  if (in[3] != p.input_channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has %d channels (shape %s) but input_channels is %d", kOp, input,
        in[3], ShapeString(in), p.input_channels));
  }
  if (p.groups == 0 || p.input_channels % p.groups != 0 || p.output_channels % p.groups != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: groups (%d) must be positive and divide input_channels (%d) and output_channels "
        "(%d)",
        kOp, p.groups, p.input_channels, p.output_channels));
  }
  const size_t group_input_channels = p.input_channels / p.groups;
  size_t filter_size = 0;
  if (!CheckedProduct({p.output_channels, p.kernel_height, p.kernel_width, group_input_channels},
                      &filter_size) ||
      filter_size_given != filter_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: filter has %d %s, expected OHWI [%d, %d, %d, %d]", kOp, filter_size_given,
        quantizations_[input].has_value() ? "int8 values" : "floats",
        p.output_channels, p.kernel_height, p.kernel_width, group_input_channels));
  }
  if (bias_size != 0 && bias_size != p.output_channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: bias has %d floats, expected %d (output_channels) or none", kOp, bias_size,
        p.output_channels));
  }
  size_t out_height = 0, out_width = 0;
  if (!ConvOutputExtent(in[1], p.padding_top, p.padding_bottom, p.kernel_height,
                        p.dilation_height, p.stride_height, &out_height) ||
      !ConvOutputExtent(in[2], p.padding_left, p.padding_right, p.kernel_width, p.dilation_width,
                        p.stride_width, &out_width)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %dx%d kernel (dilation %dx%d) is larger than the padded %dx%d input of value %d",
        kOp, p.kernel_height, p.kernel_width, p.dilation_height, p.dilation_width,
        in[1] + p.padding_top + p.padding_bottom, in[2] + p.padding_left + p.padding_right,
        input));
  }
  std::vector<size_t> out = {in[0], out_height, out_width, p.output_channels};
  if (size_t num_elements = 0; !CheckedProduct(out, &num_elements)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: output shape %s has too many elements", kOp, ShapeString(out)));
  }
  return out;
}

absl::StatusOr<ValueId> GraphBuilder::AddConv2D(ValueId input, const Conv2DParams& params,
                                                absl::Span<const float> filter,
                                                absl::Span<const float> bias) {
  RETURN_IF_ERROR(CheckFloatActivation(input, "conv2d"));
  ASSIGN_OR_RETURN(std::vector<size_t> out,
                   CheckConv2D(input, params, filter.size(), bias.size(), "conv2d"));
  const Conv2DParams& p = params;
  const size_t group_input_channels = p.input_channels / p.groups;
  Node node;
  node.inputs = {input};
  node.conv = params;
  if (p.groups > 1 && group_input_channels == 1) {
    // XNNPACK's depthwise node wants [1, KH, KW, O]; OHWI with I = 1 is
    // [O, KH, KW], so this is a transpose of the first axis to the last.
    node.type = OpType::kDepthwiseConv2D;
    const size_t taps = static_cast<size_t>(p.kernel_height) * p.kernel_width;
    std::vector<float> hwo(filter.size());
    for (size_t o = 0; o < p.output_channels; ++o) {
      for (size_t t = 0; t < taps; ++t) hwo[t * p.output_channels + o] = filter[o * taps + t];
    }
    node.weights = CopyPadded(hwo);
    node.weights_shape = {1, p.kernel_height, p.kernel_width, p.output_channels};
  } else {
    node.type = OpType::kConv2D;
    node.weights = CopyPadded(filter);
    node.weights_shape = {p.output_channels, p.kernel_height, p.kernel_width,
                          group_input_channels};
  }
  if (!bias.empty()) node.bias = CopyPadded(bias);
  return AddNode(std::move(node), std::move(out));
}

absl::StatusOr<ValueId> GraphBuilder::AddClamp(ValueId input, float output_min,
                                               float output_max) {
  constexpr const char* kOp = "clamp";
  RETURN_IF_ERROR(CheckActivation(input, kOp));
  if (std::isnan(output_min) || std::isnan(output_max) || !(output_min < output_max)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: range [%g, %g] must have output_min < output_max, neither NaN", kOp, output_min,
        output_max));
  }
  Node node;
  node.type = OpType::kClamp;
  node.inputs = {input};
  node.output_min = output_min;
  node.output_max = output_max;
  return AddNode(std::move(node), values_[input]);
}

absl::StatusOr<ValueId> GraphBuilder::AddGlobalAveragePool(ValueId input) {
  constexpr const char* kOp = "global_average_pool";
  RETURN_IF_ERROR(CheckFloatActivation(input, kOp));
  const std::vector<size_t>& in = values_[input];
  if (in.size() != 4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has shape %s, expected 4D NHWC", kOp, input, ShapeString(in)));
  }
  Node node;
  node.type = OpType::kGlobalAveragePool;
  node.inputs = {input};
  return AddNode(std::move(node), {in[0], 1, 1, in[3]});
}

absl::StatusOr<ValueId> GraphBuilder::AddFullyConnected(ValueId input,
                                                        const FullyConnectedParams& params,
                                                        absl::Span<const float> weights,
                                                        absl::Span<const float> bias) {
  constexpr const char* kOp = "fully_connected";
  RETURN_IF_ERROR(CheckFloatActivation(input, kOp));
  if (params.input_channels == 0 || params.output_channels == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input_channels (%d) and output_channels (%d) must be positive", kOp,
        params.input_channels, params.output_channels));
  }
  const std::vector<size_t>& in = values_[input];
  if (in.back() != params.input_channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has %d channels in its last dimension (shape %s) but "
        "input_channels is %d",
        kOp, input, in.back(), ShapeString(in), params.input_channels));
  }
  size_t weights_size = 0;
  if (!CheckedProduct({params.output_channels, params.input_channels}, &weights_size) ||
      weights.size() != weights_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: weights have %d floats, expected [output_channels, input_channels] = [%d, %d]", kOp,
        weights.size(), params.output_channels, params.input_channels));
  }
  if (!bias.empty() && bias.size() != params.output_channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: bias has %d floats, expected %d (output_channels) or none", kOp, bias.size(),
        params.output_channels));
  }
  std::vector<size_t> out = in;
  out.back() = params.output_channels;
  if (size_t num_elements = 0; !CheckedProduct(out, &num_elements)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: output shape %s has too many elements", kOp, ShapeString(out)));
  }
  Node node;
  node.type = OpType::kFullyConnected;
  node.inputs = {input};
  node.weights = CopyPadded(weights);
  node.weights_shape = {params.output_channels, params.input_channels};
  if (!bias.empty()) node.bias = CopyPadded(bias);
  return AddNode(std::move(node), std::move(out));
}

absl::StatusOr<ValueId> GraphBuilder::AddConstant(absl::Span<const size_t> shape,
                                                  absl::Span<const float> data) {
  constexpr const char* kOp = "constant";
  RETURN_IF_ERROR(CheckShape(shape, "constant: shape"));
  if (data.size() != NumElements(shape)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: %d floats for shape %s of %d elements",
                                                      kOp, data.size(), ShapeString(shape),
                                                      NumElements(shape)));
  }
  const ValueId value = AddValue(std::vector<size_t>(shape.begin(), shape.end()));
  constants_[value] = CopyPadded(data);
  return value;
}

absl::StatusOr<ValueId> GraphBuilder::AddPool2D(OpType type, ValueId input,
                                                const Pool2DParams& params) {
  const char* op = OpName(type);
  RETURN_IF_ERROR(CheckActivation(input, op));
  const bool is_int8 = quantizations_[input].has_value();
  if (is_int8 && type != OpType::kMaxPool2D) RETURN_IF_ERROR(CheckFloatActivation(input, op));
  const std::vector<size_t>& in = values_[input];
  if (in.size() != 4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has shape %s, expected 4D NHWC", op, input, ShapeString(in)));
  }
  const Pool2DParams& p = params;
  if (p.pooling_height == 0 || p.pooling_width == 0 || p.stride_height == 0 ||
      p.stride_width == 0 || p.dilation_height == 0 || p.dilation_width == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: window %dx%d, stride %dx%d and dilation %dx%d must all be positive", op,
        p.pooling_height, p.pooling_width, p.stride_height, p.stride_width, p.dilation_height,
        p.dilation_width));
  }
  if (type == OpType::kAveragePool2D && (p.dilation_height != 1 || p.dilation_width != 1)) {
    return absl::UnimplementedError(absl::StrFormat(
        "%s: dilation %dx%d; XNNPACK's average pooling has no dilation", op, p.dilation_height,
        p.dilation_width));
  }
  if (p.padding_top >= p.pooling_height || p.padding_bottom >= p.pooling_height ||
      p.padding_left >= p.pooling_width || p.padding_right >= p.pooling_width) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: padding t%d r%d b%d l%d must be smaller than the %dx%d window on each side", op,
        p.padding_top, p.padding_right, p.padding_bottom, p.padding_left, p.pooling_height,
        p.pooling_width));
  }
  size_t out_height = 0, out_width = 0;
  if (!ConvOutputExtent(in[1], p.padding_top, p.padding_bottom, p.pooling_height,
                        p.dilation_height, p.stride_height, &out_height) ||
      !ConvOutputExtent(in[2], p.padding_left, p.padding_right, p.pooling_width,
                        p.dilation_width, p.stride_width, &out_width)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %dx%d window (dilation %dx%d) is larger than the padded %dx%d input of value %d",
        op, p.pooling_height, p.pooling_width, p.dilation_height, p.dilation_width,
        in[1] + p.padding_top + p.padding_bottom, in[2] + p.padding_left + p.padding_right,
        input));
  }
  Pool2DParams normalized = params;
  // Dilation along a 1-wide window axis changes nothing; dropping it keeps
  // XNNPACK off its dilated path where not needed.
  if (p.pooling_height == 1) normalized.dilation_height = 1;
  if (p.pooling_width == 1) normalized.dilation_width = 1;
  const bool dilated = normalized.dilation_height > 1 || normalized.dilation_width > 1;
  const bool padded = (p.padding_top | p.padding_right | p.padding_bottom | p.padding_left) != 0;
  if (is_int8 && ((dilated && padded) || (p.pooling_height == 1 && p.pooling_width == 1))) {
    return absl::UnimplementedError(absl::StrFormat(
        "%s: int8 value %d with a 1x1 or dilated padded window; only fp32 is supported there", op,
        input));
  }
  if (type == OpType::kMaxPool2D && dilated && padded) {
    // At ae108ef dilated max pooling replaces a padding tap by an input pixel
    // that may lie outside the window (or past the bottom/right edge), and
    // windows that share indirection entries overwrite each other's
    // replacements. Explicit -inf padding followed by an unpadded pool is
    // exact: -inf never wins a window that overlaps the input.
    const size_t pre[] = {0, p.padding_top, p.padding_left, 0};
    const size_t post[] = {0, p.padding_bottom, p.padding_right, 0};
    ASSIGN_OR_RETURN(const ValueId padded_input,
                     AddConstantPad(input, pre, post, -std::numeric_limits<float>::infinity()));
    normalized.padding_top = normalized.padding_right = normalized.padding_bottom =
        normalized.padding_left = 0;
    return AddPool2D(type, padded_input, normalized);
  }
  Node node;
  node.type = type;
  node.inputs = {input};
  node.pool = normalized;
  if (p.pooling_height == 1 && p.pooling_width == 1) {
    // XNNPACK rejects 1x1 pooling; with no padding (checked above) it picks
    // every stride-th pixel, which a unit-weight depthwise 1x1 conv does exactly.
    node.type = OpType::kSubsample2D;
    node.conv.input_channels = node.conv.output_channels = in[3];
    node.conv.kernel_height = node.conv.kernel_width = 1;
    node.conv.stride_height = p.stride_height;
    node.conv.stride_width = p.stride_width;
    node.conv.groups = static_cast<uint32_t>(in[3]);
    node.weights = CopyPadded(std::vector<float>(in[3], 1.0f));
    node.weights_shape = {1, 1, 1, in[3]};
  }
  return AddNode(std::move(node), {in[0], out_height, out_width, in[3]});
}

absl::StatusOr<ValueId> GraphBuilder::AddMaxPool2D(ValueId input, const Pool2DParams& params) {
  return AddPool2D(OpType::kMaxPool2D, input, params);
}

absl::StatusOr<ValueId> GraphBuilder::AddAveragePool2D(ValueId input,
                                                       const Pool2DParams& params) {
  return AddPool2D(OpType::kAveragePool2D, input, params);
}

absl::StatusOr<ValueId> GraphBuilder::AddBinary(OpType type, ValueId a, ValueId b) {
  const char* op = OpName(type);
  RETURN_IF_ERROR(CheckValue(a, op));
  RETURN_IF_ERROR(CheckValue(b, op));
  if (quantizations_[a].has_value() || quantizations_[b].has_value()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: value %d or %d is int8; use AddQuantizedAdd or dequantize first", op, a, b));
  }
  if (is_constant(a) && is_constant(b)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: both operands (values %d and %d) are constants; fold them before building", op, a,
        b));
  }
  const std::vector<size_t>& sa = values_[a];
  const std::vector<size_t>& sb = values_[b];
  std::vector<size_t> out(std::max(sa.size(), sb.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    // Aligned from the last dimension; a missing leading dimension is a 1.
    const size_t da = i < sa.size() ? sa[sa.size() - 1 - i] : 1;
    const size_t db = i < sb.size() ? sb[sb.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: shapes %s (value %d) and %s (value %d) do not broadcast", op, ShapeString(sa), a,
          ShapeString(sb), b));
    }
    out[out.size() - 1 - i] = std::max(da, db);
  }
  Node node;
  node.type = type;
  node.inputs = {a, b};
  return AddNode(std::move(node), std::move(out));
}

absl::StatusOr<ValueId> GraphBuilder::AddAdd(ValueId a, ValueId b) {
  return AddBinary(OpType::kAdd, a, b);
}

absl::StatusOr<ValueId> GraphBuilder::AddMultiply(ValueId a, ValueId b) {
  return AddBinary(OpType::kMultiply, a, b);
}

absl::StatusOr<ValueId> GraphBuilder::AddUnary(OpType type, ValueId input) {
  RETURN_IF_ERROR(CheckFloatActivation(input, OpName(type)));
  Node node;
  node.type = type;
  node.inputs = {input};
  return AddNode(std::move(node), values_[input]);
}

absl::StatusOr<ValueId> GraphBuilder::AddHardSwish(ValueId input) {
  return AddUnary(OpType::kHardSwish, input);
}

absl::StatusOr<ValueId> GraphBuilder::AddSigmoid(ValueId input) {
  return AddUnary(OpType::kSigmoid, input);
}

absl::StatusOr<ValueId> GraphBuilder::AddSoftmax(ValueId input) {
  return AddUnary(OpType::kSoftmax, input);
}

absl::StatusOr<ValueId> GraphBuilder::AddReshape(ValueId input,
                                                 absl::Span<const size_t> new_shape) {
  constexpr const char* kOp = "reshape";
  RETURN_IF_ERROR(CheckActivation(input, kOp));
  RETURN_IF_ERROR(CheckShape(new_shape, "reshape: new shape"));
  if (NumElements(new_shape) != NumElements(values_[input])) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: new shape %s has %d elements, input value %d %s has %d", kOp,
        ShapeString(new_shape), NumElements(new_shape), input, ShapeString(values_[input]),
        NumElements(values_[input])));
  }
  Node node;
  node.type = OpType::kReshape;
  node.inputs = {input};
  return AddNode(std::move(node), std::vector<size_t>(new_shape.begin(), new_shape.end()));
}

absl::StatusOr<ValueId> GraphBuilder::AddConstantPad(ValueId input,
                                                     absl::Span<const size_t> pre_padding,
                                                     absl::Span<const size_t> post_padding,
                                                     float value) {
  constexpr const char* kOp = "constant_pad";
  RETURN_IF_ERROR(CheckActivation(input, kOp));
  const std::vector<size_t>& in = values_[input];
  if (pre_padding.size() != in.size() || post_padding.size() != in.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d pre and %d post paddings for input value %d of rank %d", kOp,
        pre_padding.size(), post_padding.size(), input, in.size()));
  }
  if (std::isnan(value)) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: padding value is NaN", kOp));
  }
  std::vector<size_t> out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    if (__builtin_add_overflow(in[d], pre_padding[d], &out[d]) ||
        __builtin_add_overflow(out[d], post_padding[d], &out[d])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: dimension %d overflows when padded", kOp, d));
    }
  }
  RETURN_IF_ERROR(CheckShape(out, "constant_pad: output shape"));
  Node node;
  node.type = OpType::kConstantPad;
  node.inputs = {input};
  node.pre_padding.assign(pre_padding.begin(), pre_padding.end());
  node.post_padding.assign(post_padding.begin(), post_padding.end());
  node.padding_value = value;
  return AddNode(std::move(node), std::move(out));
}

namespace {

absl::Status CheckQuantization(const Int8Quantization& q, const char* op) {
  if (!std::isfinite(q.scale) || !(q.scale > 0.0f) || q.zero_point < -128 || q.zero_point > 127) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: int8 parameters scale %g, zero point %d; need a finite scale > 0 and a zero point "
        "in [-128, 127]",
        op, q.scale, q.zero_point));
  }
  return absl::OkStatus();
}

template <typename T>
std::shared_ptr<const std::vector<T>> CopyPaddedAs(absl::Span<const T> data) {
  auto copy = std::make_shared<std::vector<T>>();
  const size_t extra = (XNN_EXTRA_BYTES + sizeof(T) - 1) / sizeof(T);
  copy->reserve(data.size() + extra);
  copy->assign(data.begin(), data.end());
  copy->resize(data.size() + extra, T{0});
  return copy;
}

}  // namespace

absl::StatusOr<ValueId> GraphBuilder::AddQuantize(ValueId input,
                                                  const Int8Quantization& quantization) {
  RETURN_IF_ERROR(CheckFloatActivation(input, "quantize"));
  RETURN_IF_ERROR(CheckQuantization(quantization, "quantize"));
  Node node;
  node.type = OpType::kConvert;
  node.inputs = {input};
  return AddQuantizedNode(std::move(node), values_[input], quantization);
}

absl::StatusOr<ValueId> GraphBuilder::AddDequantize(ValueId input) {
  RETURN_IF_ERROR(CheckInt8Activation(input, "dequantize"));
  Node node;
  node.type = OpType::kConvert;
  node.inputs = {input};
  return AddNode(std::move(node), values_[input]);
}

absl::StatusOr<ValueId> GraphBuilder::AddQuantizedConv2D(ValueId input, const Conv2DParams& params,
                                                         absl::Span<const int8_t> filter,
                                                         absl::Span<const float> filter_scales,
                                                         absl::Span<const float> bias,
                                                         const Int8Quantization& output) {
  constexpr const char* kOp = "quantized_conv2d";
  RETURN_IF_ERROR(CheckInt8Activation(input, kOp));
  RETURN_IF_ERROR(CheckQuantization(output, kOp));
  ASSIGN_OR_RETURN(std::vector<size_t> out,
                   CheckConv2D(input, params, filter.size(), bias.size(), kOp));
  const Conv2DParams& p = params;
  if (filter_scales.size() != p.output_channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: %d filter scales for %d output channels", kOp, filter_scales.size(),
        p.output_channels));
  }
  for (size_t o = 0; o < filter_scales.size(); ++o) {
    if (!std::isfinite(filter_scales[o]) || !(filter_scales[o] > 0.0f)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: filter scale %d is %g; must be finite and > 0", kOp, o, filter_scales[o]));
    }
  }
  // int32 bias at scale input_scale * filter_scale[o], rounded half to even
  // and saturated (ONNX QLinearConv and TFLite store it so).
  const double input_scale = quantizations_[input]->scale;
  std::vector<int32_t> int32_bias(p.output_channels, 0);
  std::vector<float> bias_scales(p.output_channels);
  for (size_t o = 0; o < p.output_channels; ++o) {
    bias_scales[o] = static_cast<float>(input_scale * filter_scales[o]);
    if (bias.empty()) continue;
    const double q = std::nearbyint(bias[o] / (input_scale * double{filter_scales[o]}));
    int32_bias[o] = static_cast<int32_t>(
        std::clamp(q, double{std::numeric_limits<int32_t>::min()},
                   double{std::numeric_limits<int32_t>::max()}));
  }
  const size_t group_input_channels = p.input_channels / p.groups;
  Node node;
  node.inputs = {input};
  node.conv = params;
  if (p.groups > 1 && group_input_channels == 1) {
    // [O, KH, KW] -> [1, KH, KW, O], as in AddConv2D.
    node.type = OpType::kQuantizedDepthwiseConv2D;
    const size_t taps = static_cast<size_t>(p.kernel_height) * p.kernel_width;
    std::vector<int8_t> hwo(filter.size());
    for (size_t o = 0; o < p.output_channels; ++o) {
      for (size_t t = 0; t < taps; ++t) hwo[t * p.output_channels + o] = filter[o * taps + t];
    }
    node.int8_weights = CopyPaddedAs<int8_t>(hwo);
    node.weights_shape = {1, p.kernel_height, p.kernel_width, p.output_channels};
  } else {
    node.type = OpType::kQuantizedConv2D;
    node.int8_weights = CopyPaddedAs(filter);
    node.weights_shape = {p.output_channels, p.kernel_height, p.kernel_width,
                          group_input_channels};
  }
  node.weight_scales = CopyPaddedAs(filter_scales);
  node.bias_scales = CopyPaddedAs<float>(bias_scales);
  node.int32_bias = CopyPaddedAs<int32_t>(int32_bias);
  return AddQuantizedNode(std::move(node), std::move(out), output);
}

absl::StatusOr<ValueId> GraphBuilder::AddQuantizedFullyConnected(
    ValueId input, const FullyConnectedParams& params, absl::Span<const int8_t> weights,
    absl::Span<const float> weight_scales, absl::Span<const float> bias,
    const Int8Quantization& output) {
  constexpr const char* kOp = "quantized_fully_connected";
  RETURN_IF_ERROR(CheckInt8Activation(input, kOp));
  const std::vector<size_t> in = values_[input];
  if (in.size() != 2 || in[1] != params.input_channels) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has shape %s, expected [M, %d]", kOp, input, ShapeString(in),
        params.input_channels));
  }
  Conv2DParams conv;
  conv.input_channels = params.input_channels;
  conv.output_channels = params.output_channels;
  conv.kernel_height = conv.kernel_width = 1;
  const size_t as_image[] = {in[0], 1, 1, in[1]};
  ASSIGN_OR_RETURN(const ValueId image, AddReshape(input, as_image));
  ASSIGN_OR_RETURN(const ValueId y,
                   AddQuantizedConv2D(image, conv, weights, weight_scales, bias, output));
  const size_t as_rows[] = {in[0], params.output_channels};
  return AddReshape(y, as_rows);
}

absl::StatusOr<ValueId> GraphBuilder::AddQuantizedAdd(ValueId a, ValueId b,
                                                      const Int8Quantization& output) {
  constexpr const char* kOp = "quantized_add";
  RETURN_IF_ERROR(CheckInt8Activation(a, kOp));
  RETURN_IF_ERROR(CheckInt8Activation(b, kOp));
  RETURN_IF_ERROR(CheckQuantization(output, kOp));
  // AddBinary checks the shapes; it rejects int8, so validate a float twin.
  const std::optional<Int8Quantization> qa = quantizations_[a], qb = quantizations_[b];
  quantizations_[a].reset();
  quantizations_[b].reset();
  absl::StatusOr<ValueId> sum = AddBinary(OpType::kAdd, a, b);
  quantizations_[a] = qa;
  quantizations_[b] = qb;
  if (!sum.ok()) return sum.status();
  quantizations_[*sum] = output;
  return *sum;
}

absl::StatusOr<ValueId> GraphBuilder::AddQuantizedGlobalAveragePool(
    ValueId input, const Int8Quantization& output) {
  constexpr const char* kOp = "quantized_global_average_pool";
  RETURN_IF_ERROR(CheckInt8Activation(input, kOp));
  RETURN_IF_ERROR(CheckQuantization(output, kOp));
  const std::vector<size_t>& in = values_[input];
  if (in.size() != 4) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: input value %d has shape %s, expected 4D NHWC", kOp, input, ShapeString(in)));
  }
  Node node;
  node.type = OpType::kGlobalAveragePool;
  node.inputs = {input};
  return AddQuantizedNode(std::move(node), {in[0], 1, 1, in[3]}, output);
}

absl::Status GraphBuilder::MarkOutput(ValueId value) {
  RETURN_IF_ERROR(CheckValue(value, "output"));
  if (has_output_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "output: the graph already has an output (value %d); one output per graph for now",
        output_));
  }
  if (has_input_ && value == input_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "output: value %d is the graph input; an output must be produced by an op", value));
  }
  if (is_constant(value)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "output: value %d is a constant; an output must be produced by an op", value));
  }
  if (quantizations_[value].has_value()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("output: value %d is int8; dequantize it to fp32 first", value));
  }
  output_ = value;
  has_output_ = true;
  return absl::OkStatus();
}

absl::StatusOr<Runtime> GraphBuilder::Build(int num_threads) const {
  BuildOptions options;
  options.num_threads = num_threads;
  return Build(options);
}

absl::StatusOr<Runtime> GraphBuilder::Build(const BuildOptions& options) const {
  int num_threads = options.num_threads;
  if (options.shared_threadpool != nullptr) {
    num_threads = static_cast<int>(pthreadpool_get_threads_count(options.shared_threadpool));
  }
  if (num_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("build: num_threads is %d, must be at least 1", num_threads));
  }
  if (!has_input_) return absl::FailedPreconditionError("build: the graph has no input");
  if (!has_output_) return absl::FailedPreconditionError("build: the graph has no output");

  // Only ops the output depends on are lowered: XNNPACK would otherwise keep
  // nodes whose results nobody reads. With a single output this also means the
  // output is never read by another node, so Run may hand XNNPACK the caller's
  // buffer (which lacks XNN_EXTRA_BYTES of readable tail) for it.
  std::vector<bool> live_value(values_.size(), false);
  std::vector<bool> live_node(nodes_.size(), false);
  live_value[output_] = true;
  for (size_t i = nodes_.size(); i-- > 0;) {
    if (live_value[nodes_[i].output]) {
      live_node[i] = true;
      for (ValueId input : nodes_[i].inputs) live_value[input] = true;
    }
  }
  // Every op reads at least one non-constant value, and the input is the only
  // non-constant source.
  assert(live_value[input_]);

  xnn_subgraph_t raw_subgraph = nullptr;
  if (xnn_status status = xnn_create_subgraph(kNumExternalIds, /*flags=*/0, &raw_subgraph);
      status != xnn_status_success) {
    return XnnError(status, "xnn_create_subgraph");
  }
  // The runtime does not refer to the subgraph once created, so it goes at the
  // end of Build.
  std::unique_ptr<xnn_subgraph, SubgraphDeleter> subgraph(raw_subgraph);

  auto state = std::make_unique<Runtime::State>();
  std::vector<uint32_t> xnn_ids(values_.size(), XNN_INVALID_VALUE_ID);
  // Defines a dense fp32 tensor; `data` is null for activations.
  auto define_tensor = [&](absl::Span<const size_t> dims, const float* data, uint32_t external_id,
                           uint32_t flags, uint32_t* id) {
    return xnn_define_tensor_value(subgraph.get(), xnn_datatype_fp32, dims.size(), dims.data(),
                                   data, external_id, flags, id);
  };
  if (xnn_status status = define_tensor(values_[input_], nullptr, kInputExternalId,
                                        XNN_VALUE_FLAG_EXTERNAL_INPUT, &xnn_ids[input_]);
      status != xnn_status_success) {
    return XnnError(status, "xnn_define_tensor_value for the input");
  }
  for (size_t v = 0; v < values_.size(); ++v) {
    if (!live_value[v] || constants_[v] == nullptr) continue;
    if (xnn_status status = define_tensor(values_[v], constants_[v]->data(), XNN_INVALID_VALUE_ID,
                                          /*flags=*/0, &xnn_ids[v]);
        status != xnn_status_success) {
      return XnnError(status, absl::StrFormat("xnn_define_tensor_value for constant value %d", v));
    }
    state->static_weights.push_back(constants_[v]);
  }

  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!live_node[i]) continue;
    const Node& node = nodes_[i];
    const std::string where =
        absl::StrFormat("for node %d (%s)", i, OpName(node.type));
    const bool is_output = node.output == output_;
    const std::vector<size_t>& out_dims = values_[node.output];
    const std::optional<Int8Quantization>& out_q = quantizations_[node.output];
    if (xnn_status status =
            out_q.has_value()
                ? xnn_define_quantized_tensor_value(
                      subgraph.get(), xnn_datatype_qint8, out_q->zero_point, out_q->scale,
                      out_dims.size(), out_dims.data(), nullptr, XNN_INVALID_VALUE_ID,
                      /*flags=*/0, &xnn_ids[node.output])
                : define_tensor(out_dims, nullptr,
                                is_output ? kOutputExternalId : XNN_INVALID_VALUE_ID,
                                is_output ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0,
                                &xnn_ids[node.output]);
        status != xnn_status_success) {
      return XnnError(status, absl::StrCat("xnn_define_tensor_value of the output ", where));
    }
    uint32_t weights_id = XNN_INVALID_VALUE_ID, bias_id = XNN_INVALID_VALUE_ID;
    if (node.weights != nullptr) {
      if (xnn_status status =
              define_tensor(node.weights_shape, node.weights->data(), XNN_INVALID_VALUE_ID, 0, &weights_id);
          status != xnn_status_success) {
        return XnnError(status, absl::StrCat("xnn_define_tensor_value of the weights ", where));
      }
      state->static_weights.push_back(node.weights);
    }
    if (node.bias != nullptr) {
      const size_t dims[] = {values_[node.output].back()};  // output channels
      if (xnn_status status =
              define_tensor(dims, node.bias->data(), XNN_INVALID_VALUE_ID, 0, &bias_id);
          status != xnn_status_success) {
        return XnnError(status, absl::StrCat("xnn_define_tensor_value of the bias ", where));
      }
      state->static_weights.push_back(node.bias);
    }
    if (node.int8_weights != nullptr) {
      // Per output channel: axis 0 of OHWI, axis 3 of the depthwise [1, KH, KW, O].
      const size_t channel_dim = node.type == OpType::kQuantizedDepthwiseConv2D ? 3 : 0;
      if (xnn_status status = xnn_define_channelwise_quantized_tensor_value(
              subgraph.get(), xnn_datatype_qcint8, node.weight_scales->data(),
              node.weights_shape.size(), channel_dim, node.weights_shape.data(),
              node.int8_weights->data(), XNN_INVALID_VALUE_ID, /*flags=*/0, &weights_id);
          status != xnn_status_success) {
        return XnnError(status, absl::StrCat("xnn_define_channelwise_quantized_tensor_value of "
                                             "the weights ", where));
      }
      const size_t dims[] = {values_[node.output].back()};
      if (xnn_status status = xnn_define_channelwise_quantized_tensor_value(
              subgraph.get(), xnn_datatype_qcint32, node.bias_scales->data(), 1,
              /*channel_dim=*/0, dims, node.int32_bias->data(), XNN_INVALID_VALUE_ID,
              /*flags=*/0, &bias_id);
          status != xnn_status_success) {
        return XnnError(status, absl::StrCat("xnn_define_channelwise_quantized_tensor_value of "
                                             "the bias ", where));
      }
      // XNNPACK keeps the scale pointers until the runtime packs the weights.
      state->static_weights.push_back(node.int8_weights);
      state->static_weights.push_back(node.weight_scales);
      state->static_weights.push_back(node.bias_scales);
      state->static_weights.push_back(node.int32_bias);
    }

    const uint32_t in = xnn_ids[node.inputs[0]], out = xnn_ids[node.output];
    xnn_status status = xnn_status_success;
    const char* call = "";
    switch (node.type) {
      case OpType::kConv2D:
      case OpType::kQuantizedConv2D: {
        const Conv2DParams& p = node.conv;
        call = "xnn_define_convolution_2d";
        status = xnn_define_convolution_2d(
            subgraph.get(), p.padding_top, p.padding_right, p.padding_bottom, p.padding_left,
            p.kernel_height, p.kernel_width, p.stride_height, p.stride_width, p.dilation_height,
            p.dilation_width, p.groups, p.input_channels / p.groups,
            p.output_channels / p.groups, kNoMin, kNoMax, in, weights_id, bias_id, out,
            /*flags=*/0);
        break;
      }
      case OpType::kClamp:
        call = "xnn_define_clamp";
        status = xnn_define_clamp(subgraph.get(), node.output_min, node.output_max, in, out,
                                  /*flags=*/0);
        break;
      case OpType::kGlobalAveragePool:
        call = "xnn_define_global_average_pooling_2d";
        status = xnn_define_global_average_pooling_2d(subgraph.get(), kNoMin, kNoMax, in, out,
                                                      /*flags=*/0);
        break;
      case OpType::kFullyConnected:
        call = "xnn_define_fully_connected";
        status = xnn_define_fully_connected(subgraph.get(), kNoMin, kNoMax, in, weights_id,
                                            bias_id, out, /*flags=*/0);
        break;
      case OpType::kDepthwiseConv2D:
      case OpType::kQuantizedDepthwiseConv2D:
      case OpType::kSubsample2D: {
        const Conv2DParams& p = node.conv;
        call = "xnn_define_depthwise_convolution_2d";
        status = xnn_define_depthwise_convolution_2d(
            subgraph.get(), p.padding_top, p.padding_right, p.padding_bottom, p.padding_left,
            p.kernel_height, p.kernel_width, p.stride_height, p.stride_width, p.dilation_height,
            p.dilation_width, /*depth_multiplier=*/p.output_channels / p.input_channels,
            p.input_channels, kNoMin, kNoMax, in, weights_id, bias_id, out, /*flags=*/0);
        break;
      }
      case OpType::kMaxPool2D: {
        const Pool2DParams& p = node.pool;
        call = "xnn_define_max_pooling_2d";
        status = xnn_define_max_pooling_2d(
            subgraph.get(), p.padding_top, p.padding_right, p.padding_bottom, p.padding_left,
            p.pooling_height, p.pooling_width, p.stride_height, p.stride_width,
            p.dilation_height, p.dilation_width, kNoMin, kNoMax, in, out, /*flags=*/0);
        break;
      }
      case OpType::kAveragePool2D: {
        const Pool2DParams& p = node.pool;
        call = "xnn_define_average_pooling_2d";
        status = xnn_define_average_pooling_2d(
            subgraph.get(), p.padding_top, p.padding_right, p.padding_bottom, p.padding_left,
            p.pooling_height, p.pooling_width, p.stride_height, p.stride_width, kNoMin, kNoMax,
            in, out, /*flags=*/0);
        break;
      }
      case OpType::kAdd:
        call = "xnn_define_add2";
        status = xnn_define_add2(subgraph.get(), kNoMin, kNoMax, in, xnn_ids[node.inputs[1]],
                                 out, /*flags=*/0);
        break;
      case OpType::kMultiply:
        call = "xnn_define_multiply2";
        status = xnn_define_multiply2(subgraph.get(), kNoMin, kNoMax, in,
                                      xnn_ids[node.inputs[1]], out, /*flags=*/0);
        break;
      case OpType::kHardSwish:
        call = "xnn_define_hardswish";
        status = xnn_define_hardswish(subgraph.get(), in, out, /*flags=*/0);
        break;
      case OpType::kSigmoid:
        call = "xnn_define_sigmoid";
        status = xnn_define_sigmoid(subgraph.get(), in, out, /*flags=*/0);
        break;
      case OpType::kSoftmax:
        call = "xnn_define_softmax";
        status = xnn_define_softmax(subgraph.get(), in, out, /*flags=*/0);
        break;
      case OpType::kReshape: {
        const std::vector<size_t>& new_shape = values_[node.output];
        call = "xnn_define_static_reshape";
        status = xnn_define_static_reshape(subgraph.get(), new_shape.size(), new_shape.data(), in,
                                           out, /*flags=*/0);
        break;
      }
      case OpType::kConvert:
        call = "xnn_define_convert";
        status = xnn_define_convert(subgraph.get(), in, out, /*flags=*/0);
        break;
      case OpType::kConstantPad:
        call = "xnn_define_static_constant_pad";
        status = xnn_define_static_constant_pad(subgraph.get(), node.pre_padding.data(),
                                                node.post_padding.data(), node.padding_value, in,
                                                out, /*flags=*/0);
        break;
    }
    if (status != xnn_status_success) return XnnError(status, absl::StrCat(call, " ", where));
  }

  pthreadpool* threadpool = options.shared_threadpool;
  if (threadpool == nullptr && num_threads > 1) {
    state->threadpool.reset(pthreadpool_create(static_cast<size_t>(num_threads)));
    if (state->threadpool == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("build: pthreadpool_create(%d) failed", num_threads));
    }
    threadpool = state->threadpool.get();
  }
  xnn_runtime_t raw_runtime = nullptr;
  const uint32_t flags = options.sparse_inference ? XNN_FLAG_SPARSE_INFERENCE : 0;
  if (xnn_status status =
          xnn_create_runtime_v2(subgraph.get(), threadpool, flags, &raw_runtime);
      status != xnn_status_success) {
    return XnnError(status, "xnn_create_runtime_v2");
  }
  state->runtime.reset(raw_runtime);

  const std::vector<size_t>& input_shape = values_[input_];
  state->padded_input.assign(NumElements(input_shape) + kExtraFloats, 0.0f);

  Runtime runtime(std::move(state));
  runtime.input_shape_ = input_shape;
  runtime.output_shape_ = values_[output_];
  runtime.input_size_ = NumElements(runtime.input_shape_);
  runtime.output_size_ = NumElements(runtime.output_shape_);
  runtime.num_threads_ = num_threads;
  return runtime;
}

Runtime::Runtime(std::unique_ptr<State> state) : state_(std::move(state)) {}
Runtime::Runtime(Runtime&&) noexcept = default;
Runtime& Runtime::operator=(Runtime&&) noexcept = default;
Runtime::~Runtime() = default;

absl::Status Runtime::Run(absl::Span<const float> input, absl::Span<float> output) {
  if (state_ == nullptr) {
    return absl::FailedPreconditionError("run: this Runtime was moved from");
  }
  if (input.size() != input_size_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "run: input has %d floats, the graph input %s needs %d", input.size(),
        ShapeString(input_shape_), input_size_));
  }
  if (output.size() != output_size_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "run: output has %d floats, the graph output %s needs %d", output.size(),
        ShapeString(output_shape_), output_size_));
  }
  // The copy gives XNNPACK the XNN_EXTRA_BYTES of readable tail it may touch,
  // and a fixed input address, so setup only reruns when the output moves.
  std::copy(input.begin(), input.end(), state_->padded_input.begin());
  return Invoke(state_->padded_input.data(), output.data());
}

absl::Status Runtime::RunWithPaddedInput(absl::Span<const float> input,
                                         absl::Span<float> output) {
  static_assert(kInputPaddingFloats * sizeof(float) >= XNN_EXTRA_BYTES, "padding too small");
  if (state_ == nullptr) {
    return absl::FailedPreconditionError("run: this Runtime was moved from");
  }
  if (input.size() != input_size_ || output.size() != output_size_) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "run: %d input and %d output floats, the graph needs %d and %d", input.size(),
        output.size(), input_size_, output_size_));
  }
  return Invoke(input.data(), output.data());
}

absl::Status Runtime::Invoke(const float* input, float* output) {
  if (output != state_->bound_output || input != state_->bound_input) {
    const xnn_external_value externals[] = {
        {kInputExternalId, const_cast<float*>(input)},
        {kOutputExternalId, output},
    };
    state_->bound_output = nullptr;
    state_->bound_input = nullptr;
    if (xnn_status status =
            xnn_setup_runtime(state_->runtime.get(), kNumExternalIds, externals);
        status != xnn_status_success) {
      return XnnError(status, "run: xnn_setup_runtime");
    }
    state_->bound_output = output;
    state_->bound_input = input;
  }
  if (xnn_status status = xnn_invoke_runtime(state_->runtime.get());
      status != xnn_status_success) {
    return XnnError(status, "run: xnn_invoke_runtime");
  }
  return absl::OkStatus();
}

}  // namespace inference
}  // namespace edgecompress
