// Imports an ONNX model (fp32, one input, one output, static shapes) into a
// GraphBuilder, and runs it on XNNPACK with ONNX's layouts at the boundary.
//
//   ASSIGN_OR_RETURN(OnnxModel model, OnnxModel::ImportFile("resnet18.onnx"));
//   ASSIGN_OR_RETURN(OnnxRuntime runtime, model.Build(/*num_threads=*/2));
//   std::vector<float> logits(runtime.output_size());
//   RETURN_IF_ERROR(runtime.Run(image_nchw, absl::MakeSpan(logits)));
//
// Layout. ONNX tensors are NCHW; XNNPACK's subgraph is NHWC and ae108ef has
// no transpose node. Every 4D activation therefore lives in the graph as NHWC,
// and the boundary converts: OnnxRuntime::Run takes the input in the model's
// own layout (NCHW for images) and returns the output in the model's layout,
// transposing on the way in and out (O(input + output), outside XNNPACK).
// Inside, each value carries its "block": the NCHW tensor whose NHWC memory it
// holds. Constant weights are transposed once at import (OIHW -> OHWI, or
// [1, KH, KW, C] for depthwise); per-channel constants of Add/Mul/BatchNorm
// are laid out to match; a Flatten or Reshape of an NHWC map to [N, C*H*W]
// keeps the NHWC order and the Gemm/MatMul that reads it gets its weight
// columns permuted from (c, h, w) to (h, w, c), so no data is ever transposed
// at run time. A reshape that would need a real transpose (e.g. [N, C, H, W]
// to [N, C, H*W] with C > 1 and H*W > 1) is kept lazily: elementwise ops and
// the graph output accept it, any other consumer is kUnimplemented, naming
// that node.
//
// Operators (default domain): Conv (2D; group, strides, pads, dilations,
// auto_pad NOTSET/VALID/SAME_UPPER/SAME_LOWER), Gemm (transA = 0, any transB,
// alpha, beta; constant B and C), MatMul (constant right operand),
// BatchNormalization (folded into the preceding Conv when it is that conv's
// only consumer, else a per-channel multiply and add), Relu, Clip, Sigmoid,
// HardSwish, HardSigmoid, Add, Mul, MaxPool (ceil_mode, dilations),
// AveragePool (count_include_pad, ceil_mode only where it changes nothing),
// GlobalAveragePool, Pad (constant mode), Flatten, Reshape, Squeeze,
// Unsqueeze, Softmax, Identity, Dropout (inference: identity). Shape
// arithmetic on constants is folded at import: Constant, Shape, Gather, Cast,
// Concat, Unsqueeze, Squeeze, Add, Sub, Mul, Div of constants (what PyTorch
// exports for `x.view(x.size(0), -1)`). Anything else is kUnimplemented.
//
// Int8 (QDQ, as ONNX Runtime's quantize_static writes it). DequantizeLinear
// of an INT8/UINT8/INT32 initializer (per tensor or per axis) is a float
// constant computed at import; when it is INT8 with zero points 0 the int8
// values are kept as well. QuantizeLinear of an activation (per tensor, INT8
// zero point) becomes an XNNPACK convert to qint8, and its DequantizeLinear a
// convert back to fp32 that also leaves an "int8 twin" of its output. A Conv
// (with int8 weights per output channel, axis 0), a Gemm (transB = 1, int8
// weights per row), an Add of two same-shaped twins, or a GlobalAveragePool
// whose result goes, alone or through one Relu, to a QuantizeLinear runs on
// the twins as XNNPACK int8 with that QuantizeLinear's parameters, which then
// costs nothing. Relu, Clip, MaxPool, Flatten, Reshape, Squeeze, Unsqueeze
// and Identity run on twins too (they keep the parameters), so
// DQ -> MaxPool -> Flatten -> Gemm stays int8. Everything else reads the
// float values, with converts where the types change; converts that nothing
// reads are dropped at Build(). Not supported: uint8 activations, per-axis
// activation scales, QuantizeLinear of an int8 value (requantization).
//
// Tensors. Initializers and Constant values are FLOAT (raw_data or
// float_data) where weights are expected; INT64/INT32 (and DOUBLE, for
// scalars PyTorch casts) only where shapes, axes or scalars are. They are
// parsed when a node first uses them, so an unsupported type is reported with
// the node that needs it. External data is kUnimplemented.
//
// Batch size. OnnxImportOptions::batch_size replaces the input's first
// dimension (required when it is symbolic). Shapes computed by Shape nodes
// follow it; a Reshape with a constant shape whose first entry equals the
// model's declared batch size is taken to mean the batch and follows it too.
//
// Errors. One line, prefixed by the file (or "<bytes>"), naming the node as
// `node 'name' (OpType)` and what is wrong: kNotFound (no such file),
// kDataLoss (not a protobuf ModelProto), kInvalidArgument (malformed: bad
// attribute, shape mismatch, undefined input), kUnimplemented (valid ONNX we
// do not run). Nothing aborts: every size read from the file is checked
// before it is used (the tests feed truncated and corrupted files).
//
// Cost: import is O(model) time and holds the weights twice (parsed and in
// the builder) until Build(), which packs them once more inside XNNPACK.
#ifndef EDGECOMPRESS_INFERENCE_ONNX_IMPORT_H_
#define EDGECOMPRESS_INFERENCE_ONNX_IMPORT_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "inference/xnn_graph.h"

namespace edgecompress {
namespace inference {

struct OnnxImportOptions {
  // Replaces the input's first dimension when > 0; 0 keeps the model's, which
  // must then be a number rather than a symbol.
  size_t batch_size = 0;
};

// What the import did, for tests and logs.
struct OnnxImportStats {
  int nodes = 0;                  // nodes in the ONNX graph
  int folded_batch_norms = 0;     // BatchNormalization nodes merged into a Conv
  int unfolded_batch_norms = 0;   // ... lowered as multiply + add
  int folded_constant_nodes = 0;  // shape arithmetic evaluated at import
  int skipped_nodes = 0;          // Identity, Dropout
  int int8_nodes = 0;             // Conv, Gemm, Add, GlobalAveragePool run as XNNPACK int8
};

// The model's layout at the graph boundary: when `block` is set, the value is
// an NCHW tensor `block` (possibly reshaped to `shape`, e.g. flattened) that
// the graph holds as NHWC; otherwise graph and ONNX layouts agree.
struct BoundaryLayout {
  std::vector<size_t> shape;                   // ONNX shape
  std::optional<std::array<size_t, 4>> block;  // N, C, H, W
};

class OnnxRuntime;

class OnnxModel {
 public:
  // kNotFound if `path` cannot be opened; other errors as above, prefixed by path.
  static absl::StatusOr<OnnxModel> ImportFile(const std::string& path,
                                              const OnnxImportOptions& options = {});
  // `bytes` is a serialized ModelProto; `source` names it in errors.
  static absl::StatusOr<OnnxModel> ImportBytes(absl::string_view bytes,
                                               const OnnxImportOptions& options = {},
                                               absl::string_view source = "<bytes>");

  OnnxModel(OnnxModel&&) = default;
  OnnxModel& operator=(OnnxModel&&) = default;

  // See GraphBuilder::Build; the model stays usable.
  absl::StatusOr<OnnxRuntime> Build(int num_threads) const;

  const std::string& input_name() const { return input_name_; }
  const std::string& output_name() const { return output_name_; }
  // ONNX shapes (after the batch override).
  absl::Span<const size_t> input_shape() const { return input_.shape; }
  absl::Span<const size_t> output_shape() const { return output_.shape; }
  const GraphBuilder& graph() const { return builder_; }
  // How graph() holds the input and output (for runners that call
  // graph().Build() and convert layouts themselves, like inference/sparse).
  const BoundaryLayout& input_layout() const { return input_; }
  const BoundaryLayout& output_layout() const { return output_; }
  const OnnxImportStats& stats() const { return stats_; }

 private:
  friend class OnnxImporter;
  explicit OnnxModel(GraphBuilder builder) : builder_(std::move(builder)) {}

  GraphBuilder builder_;
  std::string input_name_, output_name_;
  BoundaryLayout input_, output_;
  OnnxImportStats stats_;
};

// A built model. Run() converts between ONNX and graph layouts; it is not
// thread-safe (one OnnxRuntime per thread). Movable, not copyable.
class OnnxRuntime {
 public:
  // `input` has input_size() floats in the ONNX layout (NCHW for images),
  // `output` output_size() floats, written in the ONNX layout. Nothing is kept.
  absl::Status Run(absl::Span<const float> input, absl::Span<float> output);

  absl::Span<const size_t> input_shape() const { return input_.shape; }
  absl::Span<const size_t> output_shape() const { return output_.shape; }
  size_t input_size() const { return runtime_.input_size(); }
  size_t output_size() const { return runtime_.output_size(); }
  int num_threads() const { return runtime_.num_threads(); }

 private:
  friend class OnnxModel;
  OnnxRuntime(Runtime runtime, BoundaryLayout input, BoundaryLayout output);

  Runtime runtime_;
  BoundaryLayout input_, output_;
  std::vector<float> graph_input_, graph_output_;  // NHWC scratch when a block is set
};

}  // namespace inference
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INFERENCE_ONNX_IMPORT_H_
