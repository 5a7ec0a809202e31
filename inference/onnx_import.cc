#include "inference/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "inference/xnn_graph.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace inference {
namespace {

// Limits on sizes read from a file, far above any real model, so that a
// corrupted dimension fails a check instead of an allocation.
constexpr int64_t kMaxElements = int64_t{1} << 32;
constexpr int64_t kMaxAttributeValue = int64_t{1} << 20;  // kernels, strides, pads
constexpr int kMaxRank = 6;                               // XNN_MAX_TENSOR_DIMS

using Block = std::array<size_t, 4>;       // N, C, H, W
using UintPair = std::array<uint32_t, 2>;  // height, width
using Padding = std::array<uint32_t, 4>;   // top, left, bottom, right (ONNX order)

std::string ShapeString(absl::Span<const size_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}
std::string ShapeString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

size_t Product(absl::Span<const size_t> dims) {
  size_t n = 1;
  for (size_t d : dims) n *= d;  // callers bound every dimension first
  return n;
}

// NHWC memory equals NCHW memory when there is one channel or one pixel.
bool OrderIsTrivial(const Block& b) { return b[1] == 1 || b[2] * b[3] == 1; }

Block ToBlock(absl::Span<const size_t> shape) {
  assert(shape.size() == 4);
  return {shape[0], shape[1], shape[2], shape[3]};
}

std::vector<size_t> NhwcShape(const Block& b) { return {b[0], b[2], b[3], b[1]}; }

// A constant from an initializer, a Constant node or folding.
struct Constant {
  enum class Type { kFloat, kInt64, kDouble };
  Type type = Type::kFloat;
  int32_t data_type = 0;  // the ONNX TensorProto data type it was parsed from, 0 if computed
  std::vector<int64_t> dims;
  std::vector<float> floats;    // kFloat
  std::vector<int64_t> ints;    // kInt64
  std::vector<double> doubles;  // kDouble

  size_t size() const {
    switch (type) {
      case Type::kFloat:
        return floats.size();
      case Type::kInt64:
        return ints.size();
      case Type::kDouble:
        return doubles.size();
    }
    return 0;
  }
  double at(size_t i) const {
    switch (type) {
      case Type::kFloat:
        return floats[i];
      case Type::kInt64:
        return static_cast<double>(ints[i]);
      case Type::kDouble:
        return doubles[i];
    }
    return 0.0;
  }
};

const char* TypeName(Constant::Type type) {
  switch (type) {
    case Constant::Type::kFloat:
      return "FLOAT";
    case Constant::Type::kInt64:
      return "INT64";
    case Constant::Type::kDouble:
      return "DOUBLE";
  }
  return "?";
}

std::string DataTypeName(int32_t data_type) {
  if (onnx::TensorProto_DataType_IsValid(data_type)) {
    return onnx::TensorProto_DataType_Name(static_cast<onnx::TensorProto_DataType>(data_type));
  }
  return absl::StrCat("unknown data type ", data_type);
}

// Little-endian raw_data (ONNX's encoding; x86 and aarch64 are little-endian).
template <typename T>
bool CopyRaw(const std::string& raw, size_t count, std::vector<T>* out) {
  if (raw.size() != count * sizeof(T)) return false;
  out->resize(count);
  if (count > 0) std::memcpy(out->data(), raw.data(), raw.size());
  return true;
}

// IEEE binary16 bits to float (subnormals, infinities and NaN included).
float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  float magnitude;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude = mantissa == 0 ? std::numeric_limits<float>::infinity()
                              : std::numeric_limits<float>::quiet_NaN();
  } else {
    magnitude = std::ldexp(static_cast<float>(mantissa | 0x400u), static_cast<int>(exponent) - 25);
  }
  uint32_t bits;
  std::memcpy(&bits, &magnitude, sizeof(bits));
  bits |= sign;
  float out;
  std::memcpy(&out, &bits, sizeof(out));
  return out;
}

// Parses a TensorProto; `what` names it ("initializer 'w'").
absl::StatusOr<Constant> ParseTensor(const onnx::TensorProto& tensor, absl::string_view what) {
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::UnimplementedError(
        absl::StrFormat("%s keeps its data in an external file, which is not supported", what));
  }
  if (tensor.dims_size() > kMaxRank) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has rank %d, more than %d", what, tensor.dims_size(), kMaxRank));
  }
  Constant c;
  c.data_type = tensor.data_type();
  int64_t count = 1;
  for (int64_t d : tensor.dims()) {
    if (d < 0 || (d > 0 && count > kMaxElements / d)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s has invalid dimensions %s", what, ShapeString(tensor.dims())));
    }
    count *= d;
    c.dims.push_back(d);
  }
  const size_t n = static_cast<size_t>(count);
  const bool has_raw = tensor.has_raw_data();
  bool ok = true;
  size_t found = 0;
  switch (tensor.data_type()) {
    case onnx::TensorProto::FLOAT:
      c.type = Constant::Type::kFloat;
      if (has_raw) {
        ok = CopyRaw(tensor.raw_data(), n, &c.floats);
        found = tensor.raw_data().size() / sizeof(float);
      } else {
        found = static_cast<size_t>(tensor.float_data_size());
        ok = found == n;
        if (ok) c.floats.assign(tensor.float_data().begin(), tensor.float_data().end());
      }
      break;
    case onnx::TensorProto::INT64:
      c.type = Constant::Type::kInt64;
      if (has_raw) {
        ok = CopyRaw(tensor.raw_data(), n, &c.ints);
        found = tensor.raw_data().size() / sizeof(int64_t);
      } else {
        found = static_cast<size_t>(tensor.int64_data_size());
        ok = found == n;
        if (ok) c.ints.assign(tensor.int64_data().begin(), tensor.int64_data().end());
      }
      break;
    case onnx::TensorProto::INT32: {
      c.type = Constant::Type::kInt64;
      std::vector<int32_t> ints;
      if (has_raw) {
        ok = CopyRaw(tensor.raw_data(), n, &ints);
        found = tensor.raw_data().size() / sizeof(int32_t);
      } else {
        found = static_cast<size_t>(tensor.int32_data_size());
        ok = found == n;
        if (ok) ints.assign(tensor.int32_data().begin(), tensor.int32_data().end());
      }
      c.ints.assign(ints.begin(), ints.end());
      break;
    }
    // Quantized weights (QDQ models): INT8/UINT8 values and zero points, and
    // FLOAT16 weights, which are widened here (a Cast to FLOAT follows them).
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::FLOAT16: {
      const bool is_half = tensor.data_type() == onnx::TensorProto::FLOAT16;
      c.type = is_half ? Constant::Type::kFloat : Constant::Type::kInt64;
      std::vector<int64_t> values;
      if (has_raw) {
        const size_t width = is_half ? 2 : 1;
        found = tensor.raw_data().size() / width;
        ok = tensor.raw_data().size() == n * width;
        for (size_t i = 0; ok && i < n; ++i) {
          const unsigned char* b =
              reinterpret_cast<const unsigned char*>(tensor.raw_data().data()) + i * width;
          if (is_half) {
            values.push_back(b[0] | (b[1] << 8));
          } else if (tensor.data_type() == onnx::TensorProto::INT8) {
            values.push_back(static_cast<int8_t>(b[0]));
          } else {
            values.push_back(b[0]);
          }
        }
      } else {
        // int32_data holds one element per entry (the bit pattern for FLOAT16).
        found = static_cast<size_t>(tensor.int32_data_size());
        ok = found == n;
        if (ok) values.assign(tensor.int32_data().begin(), tensor.int32_data().end());
      }
      if (is_half) {
        for (int64_t v : values) c.floats.push_back(HalfToFloat(static_cast<uint16_t>(v)));
      } else {
        c.ints = std::move(values);
      }
      break;
    }
    case onnx::TensorProto::BOOL: {
      c.type = Constant::Type::kInt64;
      std::vector<uint8_t> bytes;
      if (has_raw) {
        ok = CopyRaw(tensor.raw_data(), n, &bytes);
        found = tensor.raw_data().size();
        c.ints.assign(bytes.begin(), bytes.end());
      } else {
        found = static_cast<size_t>(tensor.int32_data_size());
        ok = found == n;
        if (ok) c.ints.assign(tensor.int32_data().begin(), tensor.int32_data().end());
      }
      break;
    }
    case onnx::TensorProto::DOUBLE:
      c.type = Constant::Type::kDouble;
      if (has_raw) {
        ok = CopyRaw(tensor.raw_data(), n, &c.doubles);
        found = tensor.raw_data().size() / sizeof(double);
      } else {
        found = static_cast<size_t>(tensor.double_data_size());
        ok = found == n;
        if (ok) c.doubles.assign(tensor.double_data().begin(), tensor.double_data().end());
      }
      break;
    default:
      return absl::UnimplementedError(absl::StrFormat(
          "%s has data type %s; weights must be FLOAT, FLOAT16 or INT8/UINT8/INT32 under a "
          "DequantizeLinear (INT64, INT32, BOOL or DOUBLE for shapes and scalars)",
          what, DataTypeName(tensor.data_type())));
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has shape %s (%d elements) but %s holds %d", what, ShapeString(c.dims),
                        n, has_raw ? "raw_data" : "its typed data field", found));
  }
  return c;
}

// An activation: a GraphBuilder value with its ONNX shape. With `block`, the
// builder holds the NCHW tensor `block` in NHWC order and `shape` is a
// row-major reshape of that block. Invariants on the builder's shape:
//   no block                      -> builder shape == shape
//   block, shape == block          -> builder shape == NHWC of block
//   block, shape == [N, C*H*W]     -> builder shape == [N, H*W*C]
//   block, any other shape         -> builder shape is whatever it was (lazy)
struct Tensor {
  ValueId id = 0;
  std::vector<size_t> shape;
  std::optional<Block> block;

  bool is_nchw() const {
    return block.has_value() && shape.size() == 4 && ToBlock(shape) == *block;
  }
  bool is_flat() const {
    return block.has_value() && shape.size() == 2 && shape[0] == (*block)[0] &&
           shape[1] == (*block)[1] * (*block)[2] * (*block)[3] && !is_nchw();
  }
};

// Symmetric int8 weights from DequantizeLinear(INT8 initializer) with zero
// points 0: the int8 values, and one scale per index of `axis` (a per-tensor
// scale is repeated along axis 0).
struct Int8Weight {
  std::vector<int8_t> values;
  std::vector<float> scales;
  int64_t axis = 0;
};

// What an ONNX name refers to: an activation or a constant. A dequantized
// int8 weight is a float constant that also keeps its int8 form.
struct Entry {
  std::optional<Tensor> tensor;
  std::shared_ptr<const Constant> constant;
  std::shared_ptr<const Int8Weight> int8_weight;
};

// Control bytes as \xNN; everything else, including UTF-8, unchanged.
std::string EscapeControlBytes(absl::string_view text) {
  std::string out;
  for (char ch : text) {
    const unsigned char u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", u);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

// NCHW <-> NHWC for one block.
void NchwToNhwc(const float* in, const Block& b, float* out) {
  const size_t channels = b[1], pixels = b[2] * b[3];
  for (size_t n = 0; n < b[0]; ++n) {
    const float* src = in + n * channels * pixels;
    float* dst = out + n * channels * pixels;
    for (size_t c = 0; c < channels; ++c) {
      for (size_t p = 0; p < pixels; ++p) dst[p * channels + c] = src[c * pixels + p];
    }
  }
}

template <typename T>
void NchwToNhwcAs(const T* in, const Block& b, T* out) {
  const size_t channels = b[1], pixels = b[2] * b[3];
  for (size_t n = 0; n < b[0]; ++n) {
    for (size_t c = 0; c < channels; ++c) {
      for (size_t p = 0; p < pixels; ++p) {
        out[n * channels * pixels + p * channels + c] = in[n * channels * pixels + c * pixels + p];
      }
    }
  }
}

void NhwcToNchw(const float* in, const Block& b, float* out) {
  const size_t channels = b[1], pixels = b[2] * b[3];
  for (size_t n = 0; n < b[0]; ++n) {
    const float* src = in + n * channels * pixels;
    float* dst = out + n * channels * pixels;
    for (size_t p = 0; p < pixels; ++p) {
      for (size_t c = 0; c < channels; ++c) dst[c * pixels + p] = src[p * channels + c];
    }
  }
}

}  // namespace

// Lowers one ModelProto. Lives for one import; all state is per import.
class OnnxImporter {
 public:
  OnnxImporter(const onnx::ModelProto& model, const OnnxImportOptions& options,
               GraphBuilder builder)
      : model_(model), graph_(model.graph()), options_(options), result_(std::move(builder)) {}

  absl::StatusOr<OnnxModel> Import();

 private:
  // --- errors -------------------------------------------------------------
  std::string NodeName() const {
    if (node_ == nullptr) return "graph";
    const std::string name = node_->name().empty() ? absl::StrCat("#", node_index_)
                                                   : absl::StrCat("'", node_->name(), "'");
    return absl::StrFormat("node %s (%s)", name, node_->op_type());
  }
  absl::Status Error(absl::StatusCode code, absl::string_view what) const {
    return absl::Status(code, absl::StrCat(NodeName(), ": ", what));
  }
  absl::Status Invalid(absl::string_view what) const {
    return Error(absl::StatusCode::kInvalidArgument, what);
  }
  absl::Status Unimplemented(absl::string_view what) const {
    return Error(absl::StatusCode::kUnimplemented, what);
  }
  // Prefixes a builder error with the node.
  absl::Status Wrap(const absl::Status& status) const {
    if (status.ok()) return status;
    return Error(status.code(), status.message());
  }
  template <typename T>
  absl::StatusOr<T> Wrap(absl::StatusOr<T> value) const {
    if (!value.ok()) return Wrap(value.status());
    return value;
  }

  // --- graph boundary -----------------------------------------------------
  absl::Status DefineInput();
  absl::Status DefineOutput();

  // --- names --------------------------------------------------------------
  absl::StatusOr<const Entry*> Lookup(const std::string& name);
  // Input k of the current node; empty names (omitted optional inputs) and
  // k >= input_size() are nullptr.
  absl::StatusOr<const Entry*> Input(int k);
  absl::StatusOr<Tensor> TensorInput(int k);
  absl::StatusOr<std::shared_ptr<const Constant>> ConstantInput(int k);
  absl::StatusOr<std::shared_ptr<const Constant>> FloatConstantInput(int k);
  absl::Status SetOutput(int k, Tensor tensor);
  absl::Status SetOutput(int k, Constant constant);
  absl::Status CheckUnusedOutputs(int first_unused);
  absl::Status CheckInputCount(int min, int max) const;

  // --- attributes ---------------------------------------------------------
  const onnx::AttributeProto* Attribute(absl::string_view name) const;
  absl::StatusOr<int64_t> IntAttribute(absl::string_view name, int64_t default_value) const;
  absl::StatusOr<float> FloatAttribute(absl::string_view name, float default_value) const;
  absl::StatusOr<std::string> StringAttribute(absl::string_view name,
                                              absl::string_view default_value) const;
  absl::StatusOr<std::optional<std::vector<int64_t>>> IntsAttribute(absl::string_view name) const;
  // A count, stride, padding or kernel size in [min, kMaxAttributeValue].
  absl::StatusOr<uint32_t> Bounded(int64_t value, int64_t min, absl::string_view what) const;

  // --- layout -------------------------------------------------------------
  absl::StatusOr<ValueId> EnsureBuilderShape(ValueId id, const std::vector<size_t>& shape);
  absl::StatusOr<Tensor> ToPlain(Tensor t, absl::string_view why);
  absl::StatusOr<Tensor> ToNchw(Tensor t, absl::string_view why);
  absl::StatusOr<Tensor> Reshape(Tensor t, std::vector<size_t> new_shape);
  // `c` laid out to broadcast against `t`'s builder value elementwise.
  absl::StatusOr<ValueId> ConstantOperand(const Tensor& t, const Constant& c);

  // --- operators ----------------------------------------------------------
  absl::Status LowerNode();
  absl::Status LowerConv();
  absl::Status TryFoldBatchNorm(size_t out_channels, size_t per_output, std::vector<float>* filter,
                                std::vector<float>* bias, std::string* output_name);
  absl::Status LowerBatchNorm();
  absl::Status LowerGemm();
  absl::Status LowerMatMul();
  absl::Status LowerFullyConnected(Tensor a, std::vector<float> weights, size_t outputs,
                                   std::vector<float> bias);
  absl::Status LowerClamp(float lo, float hi);
  absl::Status LowerClip();
  absl::Status LowerUnary(absl::StatusOr<ValueId> (GraphBuilder::*add)(ValueId));
  absl::Status LowerHardSigmoid();
  absl::Status LowerBinary(bool multiply);
  absl::Status LowerPool(bool max);
  absl::Status LowerGlobalAveragePool();
  absl::Status LowerPad();
  absl::Status LowerFlatten();
  absl::Status LowerReshape();
  absl::Status LowerSqueezeUnsqueeze(bool squeeze);
  absl::Status LowerSoftmax();
  absl::Status LowerIdentity();
  // QDQ (see the header): int8 activations and weights.
  absl::Status LowerQuantizeLinear();
  absl::Status LowerDequantizeLinear();
  absl::Status LowerWithInt8Twin();
  absl::StatusOr<Int8Quantization> QuantizeLinearParams(const onnx::NodeProto& node);
  std::optional<Int8Quantization> OutputQuantization(const std::string& name, bool through_relu);
  absl::StatusOr<bool> TryLowerInt8Conv(const Conv2DParams& params, const std::vector<float>& bias);
  absl::StatusOr<bool> TryLowerInt8Gemm(bool trans_b, size_t n, size_t k,
                                        const std::vector<float>& bias);
  absl::StatusOr<bool> TryLowerInt8Add();
  absl::StatusOr<bool> TryLowerInt8GlobalAveragePool();
  // Records the int8 result `y` of the current node: its dequantized float
  // value under the node's output name (dead unless a float op reads it) and
  // `y` as that name's int8 twin.
  absl::Status SetInt8Output(Tensor y);
  // Constant folding.
  absl::Status FoldConstantNode();
  absl::Status FoldShape();
  absl::Status FoldGather();
  absl::Status FoldCast();
  absl::Status FoldConcat();
  absl::Status FoldArithmetic(char op);

  // The axes attribute (opset < 13) or input 1 (opset >= 13) of Squeeze/Unsqueeze.
  absl::StatusOr<std::optional<std::vector<int64_t>>> AxesOperand();
  // Integer values of a constant (INT64, or integral DOUBLE/FLOAT).
  absl::StatusOr<std::vector<int64_t>> Ints(const Constant& c, absl::string_view what) const;
  // Spatial padding of Conv/pool nodes from pads or auto_pad; returns
  // {top, left, bottom, right}.
  absl::StatusOr<std::array<uint32_t, 4>> SpatialPadding(const Block& in,
                                                         const std::array<uint32_t, 2>& kernel,
                                                         const std::array<uint32_t, 2>& stride,
                                                         const std::array<uint32_t, 2>& dilation);
  // kernel_shape/strides/dilations as two values each.
  absl::StatusOr<std::array<uint32_t, 2>> Pair(absl::string_view name, uint32_t default_value,
                                               int64_t min);

  // Whether the current node's output k is read by another node or is the graph output.
  bool IsUsed(const std::string& name) const {
    return consumers_.count(name) > 0 || name == graph_.output(0).name();
  }

  const onnx::ModelProto& model_;
  const onnx::GraphProto& graph_;
  OnnxImportOptions options_;
  OnnxModel result_;
  int64_t opset_ = 1;
  std::optional<size_t> declared_batch_;  // the model's own first input dimension
  ValueId input_id_ = 0;
  std::unordered_map<std::string, const onnx::TensorProto*> initializers_;
  std::unordered_map<std::string, Entry> values_;
  std::unordered_map<std::string, std::vector<int>> consumers_;  // name -> node indices
  std::unordered_set<int> folded_nodes_;  // BatchNormalization nodes merged into a Conv
  // name -> an int8 tensor holding the same values as the float one in values_
  // (DequantizeLinear outputs, and what int8 ops and pass-through ops make).
  std::unordered_map<std::string, Tensor> int8_twins_;
  bool lowering_twin_ = false;  // inside LowerWithInt8Twin's second lowering
  const onnx::NodeProto* node_ = nullptr;
  int node_index_ = 0;
};

// ---------------------------------------------------------------------------
// Top level.

absl::StatusOr<OnnxModel> OnnxImporter::Import() {
  for (const onnx::OperatorSetIdProto& opset : model_.opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") opset_ = opset.version();
  }
  for (const onnx::TensorProto& initializer : graph_.initializer()) {
    initializers_[initializer.name()] = &initializer;
  }
  for (int i = 0; i < graph_.node_size(); ++i) {
    for (const std::string& input : graph_.node(i).input()) {
      if (!input.empty()) consumers_[input].push_back(i);
    }
  }
  if (graph_.output_size() != 1) {
    return absl::UnimplementedError(
        absl::StrFormat("graph: %d outputs; one output per graph for now", graph_.output_size()));
  }
  RETURN_IF_ERROR(DefineInput());
  result_.stats_.nodes = graph_.node_size();
  for (int i = 0; i < graph_.node_size(); ++i) {
    node_ = &graph_.node(i);
    node_index_ = i;
    if (folded_nodes_.count(i) > 0) continue;
    RETURN_IF_ERROR(LowerNode());
  }
  node_ = nullptr;
  RETURN_IF_ERROR(DefineOutput());
  return std::move(result_);
}

absl::Status OnnxImporter::DefineInput() {
  std::vector<const onnx::ValueInfoProto*> inputs;
  for (const onnx::ValueInfoProto& input : graph_.input()) {
    // Before IR version 4 initializers were listed as inputs too.
    if (initializers_.count(input.name()) == 0) inputs.push_back(&input);
  }
  if (inputs.size() != 1) {
    return absl::UnimplementedError(
        absl::StrFormat("graph: %d inputs (not counting initializers); one input per graph for now",
                        inputs.size()));
  }
  const onnx::ValueInfoProto& input = *inputs[0];
  result_.input_name_ = input.name();
  if (!input.type().has_tensor_type() ||
      input.type().tensor_type().elem_type() != onnx::TensorProto::FLOAT) {
    return absl::UnimplementedError(
        absl::StrFormat("graph: input '%s' is not a FLOAT tensor (elem_type %s)", input.name(),
                        DataTypeName(input.type().tensor_type().elem_type())));
  }
  const onnx::TensorShapeProto& shape = input.type().tensor_type().shape();
  if (shape.dim_size() < 1 || shape.dim_size() > kMaxRank) {
    return absl::UnimplementedError(
        absl::StrFormat("graph: input '%s' has rank %d; 1 to %d supported", input.name(),
                        shape.dim_size(), kMaxRank));
  }
  std::vector<size_t> dims;
  for (int d = 0; d < shape.dim_size(); ++d) {
    const onnx::TensorShapeProto::Dimension& dim = shape.dim(d);
    const bool known = dim.has_dim_value() && dim.dim_value() > 0;
    if (d == 0 && known) declared_batch_ = static_cast<size_t>(dim.dim_value());
    if (d == 0 && options_.batch_size > 0) {
      dims.push_back(options_.batch_size);
      continue;
    }
    if (!known) {
      const std::string what = dim.has_dim_param()
                                   ? absl::StrCat("symbolic ('", dim.dim_param(), "')")
                                   : absl::StrCat(dim.dim_value());
      return absl::InvalidArgumentError(absl::StrFormat(
          "graph: input '%s' dimension %d is %s; %s", input.name(), d, what,
          d == 0 ? "set OnnxImportOptions::batch_size" : "only the batch dimension may be unset"));
    }
    if (dim.dim_value() > kMaxElements) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "graph: input '%s' dimension %d is %d, too large", input.name(), d, dim.dim_value()));
    }
    dims.push_back(static_cast<size_t>(dim.dim_value()));
  }
  Tensor t;
  t.shape = dims;
  std::vector<size_t> builder_shape = dims;
  if (dims.size() == 4) {
    t.block = ToBlock(dims);
    builder_shape = NhwcShape(*t.block);
  }
  absl::StatusOr<ValueId> id = result_.builder_.AddInput(builder_shape);
  if (!id.ok()) {
    return absl::Status(id.status().code(),
                        absl::StrCat("graph: input '", input.name(), "': ", id.status().message()));
  }
  t.id = *id;
  input_id_ = t.id;
  result_.input_ = {t.shape, t.block};
  values_[input.name()] = Entry{t, nullptr};
  return absl::OkStatus();
}

absl::Status OnnxImporter::DefineOutput() {
  const std::string& name = graph_.output(0).name();
  result_.output_name_ = name;
  auto it = values_.find(name);
  if (it == values_.end()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("graph: output '%s' is not produced by any node", name));
  }
  if (!it->second.tensor.has_value()) {
    return absl::UnimplementedError(
        absl::StrFormat("graph: output '%s' is a constant; nothing to run", name));
  }
  Tensor out = *it->second.tensor;
  if (out.id == input_id_) {
    return absl::UnimplementedError(absl::StrFormat(
        "graph: output '%s' is the input (at most identities in between); nothing to run", name));
  }
  // A trivial block is the same memory in either order: no conversion in Run.
  if (out.block.has_value() && OrderIsTrivial(*out.block)) out.block.reset();
  if (absl::Status status = result_.builder_.MarkOutput(out.id); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("graph: output '", name, "': ", status.message()));
  }
  result_.output_ = {out.shape, out.block};
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Names, inputs and outputs.

absl::StatusOr<const Entry*> OnnxImporter::Lookup(const std::string& name) {
  auto it = values_.find(name);
  if (it != values_.end()) return &it->second;
  auto init = initializers_.find(name);
  if (init == initializers_.end()) {
    return Invalid(absl::StrFormat(
        "input '%s' is not produced by an earlier node, an initializer or the graph input", name));
  }
  absl::StatusOr<Constant> parsed =
      ParseTensor(*init->second, absl::StrFormat("initializer '%s'", name));
  if (!parsed.ok()) return Wrap(parsed.status());
  Entry entry;
  entry.constant = std::make_shared<const Constant>(*std::move(parsed));
  return &(values_[name] = std::move(entry));
}

absl::StatusOr<const Entry*> OnnxImporter::Input(int k) {
  if (k >= node_->input_size() || node_->input(k).empty()) return nullptr;
  return Lookup(node_->input(k));
}

absl::StatusOr<Tensor> OnnxImporter::TensorInput(int k) {
  ASSIGN_OR_RETURN(const Entry* entry, Input(k));
  if (entry == nullptr) return Invalid(absl::StrFormat("input %d is missing", k));
  if (!entry->tensor.has_value()) {
    return Unimplemented(absl::StrFormat(
        "input %d '%s' is a constant; only activations are supported there", k, node_->input(k)));
  }
  return *entry->tensor;
}

absl::StatusOr<std::shared_ptr<const Constant>> OnnxImporter::ConstantInput(int k) {
  ASSIGN_OR_RETURN(const Entry* entry, Input(k));
  if (entry == nullptr) return Invalid(absl::StrFormat("input %d is missing", k));
  if (entry->constant == nullptr) {
    return Unimplemented(absl::StrFormat(
        "input %d '%s' is computed at run time; it must be a constant (initializer or Constant)", k,
        node_->input(k)));
  }
  return entry->constant;
}

absl::StatusOr<std::shared_ptr<const Constant>> OnnxImporter::FloatConstantInput(int k) {
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> c, ConstantInput(k));
  if (c->type != Constant::Type::kFloat) {
    return Unimplemented(absl::StrFormat("input %d '%s' is %s; FLOAT expected", k, node_->input(k),
                                         TypeName(c->type)));
  }
  return c;
}

absl::Status OnnxImporter::CheckInputCount(int min, int max) const {
  if (node_->input_size() < min || node_->input_size() > max) {
    return Invalid(
        absl::StrFormat("has %d inputs, expected %d to %d", node_->input_size(), min, max));
  }
  if (node_->output_size() < 1 || node_->output(0).empty()) return Invalid("has no output");
  return absl::OkStatus();
}

absl::Status OnnxImporter::SetOutput(int k, Tensor tensor) {
  values_[node_->output(k)] = Entry{std::move(tensor), nullptr};
  return absl::OkStatus();
}

absl::Status OnnxImporter::SetOutput(int k, Constant constant) {
  Entry entry;
  entry.constant = std::make_shared<const Constant>(std::move(constant));
  values_[node_->output(k)] = std::move(entry);
  ++result_.stats_.folded_constant_nodes;
  return absl::OkStatus();
}

absl::Status OnnxImporter::CheckUnusedOutputs(int first_unused) {
  for (int k = first_unused; k < node_->output_size(); ++k) {
    if (!node_->output(k).empty() && IsUsed(node_->output(k))) {
      return Unimplemented(absl::StrFormat("output %d '%s' is used; only output 0 is supported", k,
                                           node_->output(k)));
    }
  }
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Attributes.

const onnx::AttributeProto* OnnxImporter::Attribute(absl::string_view name) const {
  for (const onnx::AttributeProto& a : node_->attribute()) {
    if (a.name() == name) return &a;
  }
  return nullptr;
}

absl::StatusOr<int64_t> OnnxImporter::IntAttribute(absl::string_view name,
                                                   int64_t default_value) const {
  const onnx::AttributeProto* a = Attribute(name);
  if (a == nullptr) return default_value;
  if (a->type() != onnx::AttributeProto::INT) {
    return Invalid(absl::StrFormat("attribute '%s' is not an INT", name));
  }
  return a->i();
}

absl::StatusOr<float> OnnxImporter::FloatAttribute(absl::string_view name,
                                                   float default_value) const {
  const onnx::AttributeProto* a = Attribute(name);
  if (a == nullptr) return default_value;
  if (a->type() != onnx::AttributeProto::FLOAT) {
    return Invalid(absl::StrFormat("attribute '%s' is not a FLOAT", name));
  }
  return a->f();
}

absl::StatusOr<std::string> OnnxImporter::StringAttribute(absl::string_view name,
                                                          absl::string_view default_value) const {
  const onnx::AttributeProto* a = Attribute(name);
  if (a == nullptr) return std::string(default_value);
  if (a->type() != onnx::AttributeProto::STRING) {
    return Invalid(absl::StrFormat("attribute '%s' is not a STRING", name));
  }
  return a->s();
}

absl::StatusOr<std::optional<std::vector<int64_t>>> OnnxImporter::IntsAttribute(
    absl::string_view name) const {
  const onnx::AttributeProto* a = Attribute(name);
  if (a == nullptr) return std::optional<std::vector<int64_t>>();
  if (a->type() != onnx::AttributeProto::INTS) {
    return Invalid(absl::StrFormat("attribute '%s' is not INTS", name));
  }
  return std::optional<std::vector<int64_t>>(
      std::vector<int64_t>(a->ints().begin(), a->ints().end()));
}

absl::StatusOr<uint32_t> OnnxImporter::Bounded(int64_t value, int64_t min,
                                               absl::string_view what) const {
  if (value < min || value > kMaxAttributeValue) {
    if (value < 0 && min >= 0) {
      return Unimplemented(
          absl::StrFormat("%s is %d; negative values are not supported", what, value));
    }
    return Invalid(
        absl::StrFormat("%s is %d, expected %d to %d", what, value, min, kMaxAttributeValue));
  }
  return static_cast<uint32_t>(value);
}

absl::StatusOr<std::array<uint32_t, 2>> OnnxImporter::Pair(absl::string_view name,
                                                           uint32_t default_value, int64_t min) {
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> values, IntsAttribute(name));
  if (!values.has_value()) return std::array<uint32_t, 2>{default_value, default_value};
  if (values->size() != 2) {
    return Unimplemented(absl::StrFormat("attribute '%s' has %d values; only 2D is supported", name,
                                         values->size()));
  }
  std::array<uint32_t, 2> pair{};
  for (int i = 0; i < 2; ++i) {
    ASSIGN_OR_RETURN(pair[i], Bounded((*values)[i], min, absl::StrFormat("%s[%d]", name, i)));
  }
  return pair;
}

absl::StatusOr<std::array<uint32_t, 4>> OnnxImporter::SpatialPadding(
    const Block& in, const std::array<uint32_t, 2>& kernel, const std::array<uint32_t, 2>& stride,
    const std::array<uint32_t, 2>& dilation) {
  ASSIGN_OR_RETURN(const std::string auto_pad, StringAttribute("auto_pad", "NOTSET"));
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> pads, IntsAttribute("pads"));
  std::array<uint32_t, 4> padding{};  // top, left, bottom, right = ONNX order
  if (auto_pad == "NOTSET") {
    if (pads.has_value()) {
      if (pads->size() != 4) {
        return Unimplemented(
            absl::StrFormat("attribute 'pads' has %d values; only 2D (4) is "
                            "supported",
                            pads->size()));
      }
      for (int i = 0; i < 4; ++i) {
        ASSIGN_OR_RETURN(padding[i], Bounded((*pads)[i], 0, absl::StrFormat("pads[%d]", i)));
      }
    }
  } else if (auto_pad == "VALID") {
    // no padding
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    // Output ceil(in / stride); total padding split evenly, the odd one at the
    // end (UPPER) or the beginning (LOWER).
    for (int axis = 0; axis < 2; ++axis) {
      const size_t input = in[2 + axis];
      const size_t out = (input + stride[axis] - 1) / stride[axis];
      const size_t extent = static_cast<size_t>(dilation[axis]) * (kernel[axis] - 1) + 1;
      const size_t needed = (out - 1) * stride[axis] + extent;
      const size_t total = needed > input ? needed - input : 0;
      const size_t small = total / 2, large = total - small;
      if (large > static_cast<size_t>(kMaxAttributeValue))
        return Invalid("auto_pad padding too large");
      padding[axis] = static_cast<uint32_t>(auto_pad == "SAME_UPPER" ? small : large);
      padding[2 + axis] = static_cast<uint32_t>(auto_pad == "SAME_UPPER" ? large : small);
    }
  } else {
    return Invalid(
        absl::StrFormat("auto_pad '%s' is not one of NOTSET, VALID, SAME_UPPER, "
                        "SAME_LOWER",
                        auto_pad));
  }
  return padding;
}

absl::StatusOr<std::vector<int64_t>> OnnxImporter::Ints(const Constant& c,
                                                        absl::string_view what) const {
  std::vector<int64_t> ints;
  ints.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    const double v = c.at(i);
    if (c.type == Constant::Type::kInt64) {
      ints.push_back(c.ints[i]);
    } else if (std::isfinite(v) && v == std::floor(v) && std::abs(v) < 9e15) {
      ints.push_back(static_cast<int64_t>(v));
    } else {
      return Invalid(absl::StrFormat("%s holds %g, not an integer", what, v));
    }
  }
  return ints;
}

// ---------------------------------------------------------------------------
// Layout.

absl::StatusOr<ValueId> OnnxImporter::EnsureBuilderShape(ValueId id,
                                                         const std::vector<size_t>& shape) {
  absl::Span<const size_t> current = result_.builder_.shape(id);
  if (std::equal(current.begin(), current.end(), shape.begin(), shape.end())) return id;
  return Wrap(result_.builder_.AddReshape(id, shape));
}

absl::StatusOr<Tensor> OnnxImporter::ToPlain(Tensor t, absl::string_view why) {
  if (!t.block.has_value()) return t;
  if (!OrderIsTrivial(*t.block)) {
    const Block& b = *t.block;
    return Unimplemented(absl::StrFormat(
        "input of shape %s is held channels-last (NHWC of [%d, %d, %d, %d]) and %s needs it "
        "in ONNX order, which takes a transpose (XNNPACK ae108ef has none)",
        ShapeString(t.shape), b[0], b[1], b[2], b[3], why));
  }
  ASSIGN_OR_RETURN(t.id, EnsureBuilderShape(t.id, t.shape));
  t.block.reset();
  return t;
}

absl::StatusOr<Tensor> OnnxImporter::ToNchw(Tensor t, absl::string_view why) {
  if (t.is_nchw()) {
    ASSIGN_OR_RETURN(t.id, EnsureBuilderShape(t.id, NhwcShape(*t.block)));
    return t;
  }
  ASSIGN_OR_RETURN(t, ToPlain(std::move(t), why));
  if (t.shape.size() != 4) {
    return Unimplemented(
        absl::StrFormat("input has shape %s; %s needs 4D NCHW", ShapeString(t.shape), why));
  }
  const Block b = ToBlock(t.shape);
  if (!OrderIsTrivial(b)) {
    return Unimplemented(absl::StrFormat(
        "input of shape %s is in ONNX order and %s needs it channels-last, which takes a "
        "transpose (XNNPACK ae108ef has none)",
        ShapeString(t.shape), why));
  }
  ASSIGN_OR_RETURN(t.id, EnsureBuilderShape(t.id, NhwcShape(b)));
  t.block = b;
  return t;
}

absl::StatusOr<Tensor> OnnxImporter::Reshape(Tensor t, std::vector<size_t> new_shape) {
  if (new_shape.empty() || new_shape.size() > kMaxRank) {
    return Unimplemented(absl::StrFormat("result shape %s: rank 1 to %d supported",
                                         ShapeString(new_shape), kMaxRank));
  }
  if (Product(new_shape) != Product(t.shape)) {
    return Invalid(absl::StrFormat("cannot reshape %s (%d elements) to %s (%d elements)",
                                   ShapeString(t.shape), Product(t.shape), ShapeString(new_shape),
                                   Product(new_shape)));
  }
  if (t.block.has_value() && !OrderIsTrivial(*t.block)) {
    const Block b = *t.block;
    t.shape = std::move(new_shape);
    if (t.is_nchw()) {
      ASSIGN_OR_RETURN(t.id, EnsureBuilderShape(t.id, NhwcShape(b)));
    } else if (t.is_flat()) {
      ASSIGN_OR_RETURN(t.id, EnsureBuilderShape(t.id, {b[0], b[1] * b[2] * b[3]}));
    }
    // Any other shape stays lazy: elementwise consumers and the output accept
    // it, the rest fail in ToPlain naming themselves.
    return t;
  }
  ASSIGN_OR_RETURN(t, ToPlain(std::move(t), "reshape"));
  ASSIGN_OR_RETURN(t.id, EnsureBuilderShape(t.id, new_shape));
  t.shape = std::move(new_shape);
  return t;
}

absl::StatusOr<ValueId> OnnxImporter::ConstantOperand(const Tensor& t, const Constant& c) {
  if (c.type != Constant::Type::kFloat) {
    return Unimplemented(
        absl::StrFormat("constant operand is %s; FLOAT expected", TypeName(c.type)));
  }
  if (c.floats.empty()) return Invalid("constant operand has no elements");
  std::vector<size_t> dims(c.dims.begin(), c.dims.end());
  if (c.floats.size() == 1) {
    return Wrap(result_.builder_.AddConstant({1}, c.floats));  // broadcasts against anything
  }
  if (!t.block.has_value()) {
    if (dims.size() > t.shape.size()) {
      return Unimplemented(
          absl::StrFormat("constant of shape %s has a higher rank than the "
                          "input %s",
                          ShapeString(dims), ShapeString(t.shape)));
    }
    return Wrap(result_.builder_.AddConstant(dims, c.floats));
  }
  const Block& b = *t.block;
  if (t.is_nchw()) {
    if (dims.size() > 4) return Unimplemented("constant has a higher rank than the 4D input");
    dims.insert(dims.begin(), 4 - dims.size(), 1);
    // [n, c, h, w] constant -> [n, h, w, c], data transposed alike.
    const Block cb = ToBlock(dims);
    std::vector<float> nhwc(c.floats.size());
    NchwToNhwc(c.floats.data(), cb, nhwc.data());
    return Wrap(result_.builder_.AddConstant(NhwcShape(cb), nhwc));
  }
  if (t.is_flat()) {
    if (dims.size() > 2) return Unimplemented("constant has a higher rank than the 2D input");
    dims.insert(dims.begin(), 2 - dims.size(), 1);
    if (dims[1] == 1) return Wrap(result_.builder_.AddConstant(dims, c.floats));
    // Each row in (c, h, w) order -> the (h, w, c) order the input is held in.
    const Block rows = {dims[0], b[1], b[2], b[3]};
    std::vector<float> permuted(c.floats.size());
    NchwToNhwc(c.floats.data(), rows, permuted.data());
    return Wrap(result_.builder_.AddConstant(dims, permuted));
  }
  return Unimplemented(absl::StrFormat(
      "a per-element constant against input %s, held channels-last as a reshape of [%d, %d, %d, "
      "%d], needs a transpose",
      ShapeString(t.shape), b[0], b[1], b[2], b[3]));
}

// ---------------------------------------------------------------------------
// Operators.

absl::Status OnnxImporter::LowerNode() {
  const std::string& op = node_->op_type();
  if (!node_->domain().empty() && node_->domain() != "ai.onnx") {
    return Unimplemented(absl::StrFormat("domain '%s' is not supported", node_->domain()));
  }
  if (node_->output_size() < 1 || node_->output(0).empty()) return Invalid("has no output");
  if (op == "QuantizeLinear") return LowerQuantizeLinear();
  if (op == "DequantizeLinear") return LowerDequantizeLinear();
  // Ops that move or select values also run on an int8 input's twin.
  const bool int8_pass_through = op == "Relu" || op == "Clip" || op == "MaxPool" ||
                                 op == "Flatten" || op == "Reshape" || op == "Squeeze" ||
                                 op == "Unsqueeze" || op == "Identity" || op == "Dropout";
  if (int8_pass_through && !lowering_twin_ && node_->input_size() >= 1 &&
      int8_twins_.count(node_->input(0)) > 0) {
    return LowerWithInt8Twin();
  }
  if (op == "Conv") return LowerConv();
  if (op == "BatchNormalization") return LowerBatchNorm();
  if (op == "Gemm") return LowerGemm();
  if (op == "MatMul") return LowerMatMul();
  if (op == "Relu") {
    RETURN_IF_ERROR(CheckInputCount(1, 1));
    return LowerClamp(0.0f, std::numeric_limits<float>::infinity());
  }
  if (op == "Clip") return LowerClip();
  if (op == "Sigmoid") return LowerUnary(&GraphBuilder::AddSigmoid);
  if (op == "HardSwish") return LowerUnary(&GraphBuilder::AddHardSwish);
  if (op == "HardSigmoid") return LowerHardSigmoid();
  if (op == "Add") return LowerBinary(/*multiply=*/false);
  if (op == "Mul") return LowerBinary(/*multiply=*/true);
  if (op == "Sub" || op == "Div") return FoldArithmetic(op == "Sub" ? '-' : '/');
  if (op == "MaxPool") return LowerPool(/*max=*/true);
  if (op == "AveragePool") return LowerPool(/*max=*/false);
  if (op == "GlobalAveragePool") return LowerGlobalAveragePool();
  if (op == "Pad") return LowerPad();
  if (op == "Flatten") return LowerFlatten();
  if (op == "Reshape") return LowerReshape();
  if (op == "Squeeze") return LowerSqueezeUnsqueeze(/*squeeze=*/true);
  if (op == "Unsqueeze") return LowerSqueezeUnsqueeze(/*squeeze=*/false);
  if (op == "Softmax") return LowerSoftmax();
  if (op == "Identity" || op == "Dropout") return LowerIdentity();
  if (op == "Constant") return FoldConstantNode();
  if (op == "Shape") return FoldShape();
  if (op == "Gather") return FoldGather();
  if (op == "Cast") return FoldCast();
  if (op == "Concat") return FoldConcat();
  return Unimplemented("operator not supported");
}

absl::Status OnnxImporter::LowerConv() {
  RETURN_IF_ERROR(CheckInputCount(2, 3));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> w, FloatConstantInput(1));
  std::shared_ptr<const Constant> b;
  ASSIGN_OR_RETURN(const Entry* bias_entry, Input(2));
  if (bias_entry != nullptr) {
    ASSIGN_OR_RETURN(b, FloatConstantInput(2));
  }
  if (w->dims.size() != 4) {
    return Unimplemented(
        absl::StrFormat("weight has shape %s; only 2D convolution (4D weight) "
                        "is supported",
                        ShapeString(w->dims)));
  }
  ASSIGN_OR_RETURN(x, ToNchw(std::move(x), "Conv"));
  const Block in = *x.block;
  ASSIGN_OR_RETURN(const int64_t group, IntAttribute("group", 1));
  ASSIGN_OR_RETURN(const uint32_t groups, Bounded(group, 1, "group"));
  const size_t out_channels = static_cast<size_t>(w->dims[0]);
  const size_t group_in = static_cast<size_t>(w->dims[1]);
  if (group_in * groups != in[1] || out_channels % groups != 0 || out_channels == 0) {
    return Invalid(absl::StrFormat(
        "weight %s with group %d does not fit input %s (needs dims[1] * group == %d channels and "
        "group | dims[0])",
        ShapeString(w->dims), group, ShapeString(x.shape), in[1]));
  }
  std::array<uint32_t, 2> kernel{};
  ASSIGN_OR_RETURN(kernel[0], Bounded(w->dims[2], 1, "weight kernel height"));
  ASSIGN_OR_RETURN(kernel[1], Bounded(w->dims[3], 1, "weight kernel width"));
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> kernel_shape, IntsAttribute("kernel_shape"));
  if (kernel_shape.has_value() && (kernel_shape->size() != 2 || (*kernel_shape)[0] != w->dims[2] ||
                                   (*kernel_shape)[1] != w->dims[3])) {
    return Invalid(absl::StrFormat("kernel_shape %s disagrees with weight %s",
                                   ShapeString(*kernel_shape), ShapeString(w->dims)));
  }
  ASSIGN_OR_RETURN(const UintPair strides, Pair("strides", 1, 1));
  ASSIGN_OR_RETURN(const UintPair dilations, Pair("dilations", 1, 1));
  ASSIGN_OR_RETURN(const Padding pads, SpatialPadding(in, kernel, strides, dilations));
  if (b != nullptr && b->floats.size() != out_channels) {
    return Invalid(absl::StrFormat("bias has %d values for %d output channels", b->floats.size(),
                                   out_channels));
  }

  // OIHW -> OHWI.
  const size_t taps = static_cast<size_t>(kernel[0]) * kernel[1];
  std::vector<float> filter(w->floats.size());
  for (size_t o = 0; o < out_channels; ++o) {
    for (size_t i = 0; i < group_in; ++i) {
      for (size_t t = 0; t < taps; ++t) {
        filter[(o * taps + t) * group_in + i] = w->floats[(o * group_in + i) * taps + t];
      }
    }
  }
  std::vector<float> bias = b != nullptr ? b->floats : std::vector<float>();

  std::string output_name = node_->output(0);
  RETURN_IF_ERROR(TryFoldBatchNorm(out_channels, taps * group_in, &filter, &bias, &output_name));

  Conv2DParams params;
  params.input_channels = in[1];
  params.output_channels = out_channels;
  params.kernel_height = kernel[0];
  params.kernel_width = kernel[1];
  params.stride_height = strides[0];
  params.stride_width = strides[1];
  params.dilation_height = dilations[0];
  params.dilation_width = dilations[1];
  params.padding_top = pads[0];
  params.padding_left = pads[1];
  params.padding_bottom = pads[2];
  params.padding_right = pads[3];
  params.groups = groups;
  if (output_name == node_->output(0)) {  // no BatchNormalization folded in
    ASSIGN_OR_RETURN(const bool lowered_int8, TryLowerInt8Conv(params, bias));
    if (lowered_int8) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const ValueId y, Wrap(result_.builder_.AddConv2D(x.id, params, filter, bias)));
  absl::Span<const size_t> nhwc = result_.builder_.shape(y);
  Tensor out;
  out.id = y;
  out.block = Block{nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  out.shape = {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  values_[output_name] = Entry{std::move(out), nullptr};
  return absl::OkStatus();
}

// Folds a BatchNormalization that is the current Conv's only consumer:
//   y = gamma * (conv(x) + b - mean) / sqrt(var + eps) + beta
//     = conv_{W * s}(x) + (b - mean) * s + beta,   s = gamma / sqrt(var + eps),
// computed in double. Leaves everything unchanged when the pattern does not
// match (non-constant parameters, another consumer, training mode); the
// BatchNormalization is then lowered on its own.
absl::Status OnnxImporter::TryFoldBatchNorm(size_t out_channels, size_t per_output,
                                            std::vector<float>* filter, std::vector<float>* bias,
                                            std::string* output_name) {
  const std::string conv_out = node_->output(0);
  auto consumers = consumers_.find(conv_out);
  if (consumers == consumers_.end() || consumers->second.size() != 1 ||
      conv_out == graph_.output(0).name()) {
    return absl::OkStatus();
  }
  const int bn_index = consumers->second[0];
  const onnx::NodeProto& bn = graph_.node(bn_index);
  if (bn.op_type() != "BatchNormalization" || !bn.domain().empty() || bn.input_size() != 5 ||
      bn.input(0) != conv_out || bn.output_size() < 1 || bn.output(0).empty()) {
    return absl::OkStatus();
  }
  const onnx::NodeProto* conv_node = node_;
  const int conv_index = node_index_;
  node_ = &bn;  // attribute helpers and errors refer to the BatchNormalization
  node_index_ = bn_index;
  auto restore = [&] {
    node_ = conv_node;
    node_index_ = conv_index;
  };
  std::array<std::shared_ptr<const Constant>, 4> p;  // scale, B, mean, var
  for (int k = 1; k <= 4; ++k) {
    absl::StatusOr<const Entry*> e = Input(k);
    if (!e.ok() || *e == nullptr || (*e)->constant == nullptr ||
        (*e)->constant->type != Constant::Type::kFloat ||
        (*e)->constant->floats.size() != out_channels) {
      restore();
      return absl::OkStatus();
    }
    p[k - 1] = (*e)->constant;
  }
  absl::StatusOr<float> epsilon = FloatAttribute("epsilon", 1e-5f);
  absl::StatusOr<int64_t> training = IntAttribute("training_mode", 0);
  const bool extra_outputs_used = !CheckUnusedOutputs(1).ok();
  restore();
  if (!epsilon.ok() || !training.ok() || *training != 0 || extra_outputs_used) {
    return absl::OkStatus();
  }
  if (bias->empty()) bias->assign(out_channels, 0.0f);
  for (size_t o = 0; o < out_channels; ++o) {
    const double s = p[0]->floats[o] / std::sqrt(double{p[3]->floats[o]} + *epsilon);
    for (size_t j = 0; j < per_output; ++j) {
      (*filter)[o * per_output + j] = static_cast<float>((*filter)[o * per_output + j] * s);
    }
    (*bias)[o] = static_cast<float>(((*bias)[o] - double{p[2]->floats[o]}) * s + p[1]->floats[o]);
  }
  folded_nodes_.insert(bn_index);
  ++result_.stats_.folded_batch_norms;
  *output_name = bn.output(0);  // the conv's result takes the BatchNormalization's name
  return absl::OkStatus();
}

absl::Status OnnxImporter::LowerBatchNorm() {
  RETURN_IF_ERROR(CheckInputCount(5, 5));
  RETURN_IF_ERROR(CheckUnusedOutputs(1));
  ASSIGN_OR_RETURN(const int64_t training, IntAttribute("training_mode", 0));
  if (training != 0) return Unimplemented("training_mode = 1; inference only");
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  if (x.shape.size() < 2) {
    return Invalid(absl::StrFormat("input has shape %s; needs a channel axis (rank >= 2)",
                                   ShapeString(x.shape)));
  }
  const size_t channels = x.shape[1];
  std::array<std::shared_ptr<const Constant>, 4> p;  // scale, B, mean, var
  for (int k = 1; k <= 4; ++k) {
    ASSIGN_OR_RETURN(p[k - 1], FloatConstantInput(k));
    if (p[k - 1]->floats.size() != channels) {
      return Invalid(absl::StrFormat("input %d '%s' has %d values for %d channels", k,
                                     node_->input(k), p[k - 1]->floats.size(), channels));
    }
  }
  ASSIGN_OR_RETURN(const float epsilon, FloatAttribute("epsilon", 1e-5f));
  // y = x * s + (beta - mean * s), s = gamma / sqrt(var + eps), per channel.
  Constant scale, shift;
  scale.dims.push_back(static_cast<int64_t>(channels));
  scale.dims.insert(scale.dims.end(), x.shape.size() - 2, 1);
  shift.dims = scale.dims;
  for (size_t c = 0; c < channels; ++c) {
    const double s = p[0]->floats[c] / std::sqrt(double{p[3]->floats[c]} + epsilon);
    scale.floats.push_back(static_cast<float>(s));
    shift.floats.push_back(static_cast<float>(p[1]->floats[c] - p[2]->floats[c] * s));
  }
  if (x.block.has_value() && OrderIsTrivial(*x.block) && !x.is_nchw()) {
    ASSIGN_OR_RETURN(x, ToPlain(std::move(x), "BatchNormalization"));
  }
  ASSIGN_OR_RETURN(const ValueId scale_id, ConstantOperand(x, scale));
  ASSIGN_OR_RETURN(const ValueId shift_id, ConstantOperand(x, shift));
  ASSIGN_OR_RETURN(ValueId y, Wrap(result_.builder_.AddMultiply(x.id, scale_id)));
  ASSIGN_OR_RETURN(y, Wrap(result_.builder_.AddAdd(y, shift_id)));
  ++result_.stats_.unfolded_batch_norms;
  x.id = y;
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerFullyConnected(Tensor a, std::vector<float> weights, size_t outputs,
                                               std::vector<float> bias) {
  const size_t inputs = a.shape.back();
  if (a.is_flat()) {
    // The input row is held in (h, w, c) order: permute the weight columns.
    const Block& b = *a.block;
    std::vector<float> permuted(weights.size());
    NchwToNhwc(weights.data(), {outputs, b[1], b[2], b[3]}, permuted.data());
    weights = std::move(permuted);
  } else {
    ASSIGN_OR_RETURN(a, ToPlain(std::move(a), node_->op_type()));
  }
  FullyConnectedParams params;
  params.input_channels = inputs;
  params.output_channels = outputs;
  ASSIGN_OR_RETURN(const ValueId y,
                   Wrap(result_.builder_.AddFullyConnected(a.id, params, weights, bias)));
  Tensor out;
  out.id = y;
  out.shape = a.shape;
  out.shape.back() = outputs;
  return SetOutput(0, std::move(out));
}

absl::Status OnnxImporter::LowerGemm() {
  RETURN_IF_ERROR(CheckInputCount(2, 3));
  ASSIGN_OR_RETURN(const Tensor a, TensorInput(0));
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> b, FloatConstantInput(1));
  ASSIGN_OR_RETURN(const int64_t trans_a, IntAttribute("transA", 0));
  ASSIGN_OR_RETURN(const int64_t trans_b, IntAttribute("transB", 0));
  ASSIGN_OR_RETURN(const float alpha, FloatAttribute("alpha", 1.0f));
  ASSIGN_OR_RETURN(const float beta, FloatAttribute("beta", 1.0f));
  if (trans_a != 0) return Unimplemented("transA = 1 (a transposed activation)");
  if (a.shape.size() != 2) {
    return Invalid(absl::StrFormat("A has shape %s; Gemm needs 2D", ShapeString(a.shape)));
  }
  if (b->dims.size() != 2) {
    return Invalid(absl::StrFormat("B has shape %s; Gemm needs 2D", ShapeString(b->dims)));
  }
  const size_t k = a.shape[1];
  const size_t n = static_cast<size_t>(trans_b != 0 ? b->dims[0] : b->dims[1]);
  const size_t b_k = static_cast<size_t>(trans_b != 0 ? b->dims[1] : b->dims[0]);
  if (b_k != k || n == 0) {
    return Invalid(absl::StrFormat("B %s (transB %d) does not fit A %s", ShapeString(b->dims),
                                   trans_b, ShapeString(a.shape)));
  }
  // Weights [n, k] = alpha * (transB ? B : B^T).
  std::vector<float> weights(n * k);
  for (size_t o = 0; o < n; ++o) {
    for (size_t i = 0; i < k; ++i) {
      weights[o * k + i] = alpha * (trans_b != 0 ? b->floats[o * k + i] : b->floats[i * n + o]);
    }
  }
  std::vector<float> bias;
  ASSIGN_OR_RETURN(const Entry* c_entry, Input(2));
  if (c_entry != nullptr) {
    ASSIGN_OR_RETURN(std::shared_ptr<const Constant> c, FloatConstantInput(2));
    // [n], [1, n] or a scalar: one bias per output; [m, n] would vary per row.
    const bool per_output =
        c->floats.size() == n && (c->dims.size() == 1 || (c->dims.size() == 2 && c->dims[0] == 1));
    if (c->floats.size() == 1) {
      bias.assign(n, beta * c->floats[0]);
    } else if (per_output) {
      for (float v : c->floats) bias.push_back(beta * v);
    } else {
      return Unimplemented(
          absl::StrFormat("C has shape %s; only [N], [1, N] or a scalar (one "
                          "bias per output) is supported",
                          ShapeString(c->dims)));
    }
  }
  if (alpha == 1.0f) {
    ASSIGN_OR_RETURN(const bool lowered_int8, TryLowerInt8Gemm(trans_b != 0, n, k, bias));
    if (lowered_int8) return absl::OkStatus();
  }
  return LowerFullyConnected(a, std::move(weights), n, std::move(bias));
}

absl::Status OnnxImporter::LowerMatMul() {
  RETURN_IF_ERROR(CheckInputCount(2, 2));
  ASSIGN_OR_RETURN(const Entry* b_entry, Input(1));
  if (b_entry == nullptr || b_entry->constant == nullptr) {
    return Unimplemented(
        "the right operand is computed at run time; only a constant weight "
        "is supported");
  }
  ASSIGN_OR_RETURN(const Tensor a, TensorInput(0));
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> b, FloatConstantInput(1));
  if (b->dims.size() != 2) {
    return Unimplemented(
        absl::StrFormat("weight has shape %s; only 2D is supported", ShapeString(b->dims)));
  }
  const size_t k = static_cast<size_t>(b->dims[0]), n = static_cast<size_t>(b->dims[1]);
  if (a.shape.back() != k || n == 0) {
    return Invalid(absl::StrFormat("weight %s does not fit input %s", ShapeString(b->dims),
                                   ShapeString(a.shape)));
  }
  std::vector<float> weights(n * k);  // B^T
  for (size_t o = 0; o < n; ++o) {
    for (size_t i = 0; i < k; ++i) weights[o * k + i] = b->floats[i * n + o];
  }
  return LowerFullyConnected(a, std::move(weights), n, {});
}

absl::Status OnnxImporter::LowerClamp(float lo, float hi) {
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddClamp(x.id, lo, hi)));
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerClip() {
  RETURN_IF_ERROR(CheckInputCount(1, 3));
  float lo = -std::numeric_limits<float>::infinity(), hi = std::numeric_limits<float>::infinity();
  if (opset_ < 11) {
    ASSIGN_OR_RETURN(lo, FloatAttribute("min", lo));
    ASSIGN_OR_RETURN(hi, FloatAttribute("max", hi));
  } else {
    for (int k = 1; k <= 2; ++k) {
      ASSIGN_OR_RETURN(const Entry* e, Input(k));
      if (e == nullptr) continue;
      ASSIGN_OR_RETURN(std::shared_ptr<const Constant> c, FloatConstantInput(k));
      if (c->floats.size() != 1) {
        return Invalid(
            absl::StrFormat("input %d has %d values; a scalar expected", k, c->floats.size()));
      }
      (k == 1 ? lo : hi) = c->floats[0];
    }
  }
  return LowerClamp(lo, hi);
}

absl::Status OnnxImporter::LowerUnary(absl::StatusOr<ValueId> (GraphBuilder::*add)(ValueId)) {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(x.id, Wrap((result_.builder_.*add)(x.id)));
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerHardSigmoid() {
  // y = clamp(alpha * x + beta, 0, 1)
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(const float alpha, FloatAttribute("alpha", 0.2f));
  ASSIGN_OR_RETURN(const float beta, FloatAttribute("beta", 0.5f));
  ASSIGN_OR_RETURN(const ValueId a, Wrap(result_.builder_.AddConstant({1}, {alpha})));
  ASSIGN_OR_RETURN(const ValueId b, Wrap(result_.builder_.AddConstant({1}, {beta})));
  ASSIGN_OR_RETURN(ValueId y, Wrap(result_.builder_.AddMultiply(x.id, a)));
  ASSIGN_OR_RETURN(y, Wrap(result_.builder_.AddAdd(y, b)));
  ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddClamp(y, 0.0f, 1.0f)));
  return SetOutput(0, std::move(x));
}

namespace {

// Numpy broadcast of two shapes, or nullopt.
std::optional<std::vector<size_t>> Broadcast(const std::vector<size_t>& a,
                                             const std::vector<size_t>& b) {
  std::vector<size_t> out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    const size_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (da != db && da != 1 && db != 1) return std::nullopt;
    out[out.size() - 1 - i] = std::max(da, db);
  }
  return out;
}

}  // namespace

absl::Status OnnxImporter::LowerBinary(bool multiply) {
  RETURN_IF_ERROR(CheckInputCount(2, 2));
  if (!multiply) {
    ASSIGN_OR_RETURN(const bool lowered_int8, TryLowerInt8Add());
    if (lowered_int8) return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(const Entry* ea, Input(0));
  ASSIGN_OR_RETURN(const Entry* eb, Input(1));
  if (ea == nullptr || eb == nullptr) return Invalid("an operand is missing");
  if (ea->constant != nullptr && eb->constant != nullptr) {
    return FoldArithmetic(multiply ? '*' : '+');
  }
  auto add = [&](ValueId a, ValueId b) {
    return Wrap(multiply ? result_.builder_.AddMultiply(a, b) : result_.builder_.AddAdd(a, b));
  };
  if (ea->constant != nullptr || eb->constant != nullptr) {
    Tensor x = ea->tensor.has_value() ? *ea->tensor : *eb->tensor;
    const Constant& c = ea->constant != nullptr ? *ea->constant : *eb->constant;
    const std::optional<std::vector<size_t>> out =
        Broadcast(x.shape, std::vector<size_t>(c.dims.begin(), c.dims.end()));
    if (!out.has_value()) {
      return Invalid(absl::StrFormat("shapes %s and %s do not broadcast", ShapeString(x.shape),
                                     ShapeString(c.dims)));
    }
    if (*out != x.shape) {
      return Unimplemented(absl::StrFormat("the constant %s broadcasts the input %s up to %s",
                                           ShapeString(c.dims), ShapeString(x.shape),
                                           ShapeString(*out)));
    }
    if (x.block.has_value() && OrderIsTrivial(*x.block) && !x.is_nchw()) {
      ASSIGN_OR_RETURN(x, ToPlain(std::move(x), node_->op_type()));
    }
    ASSIGN_OR_RETURN(const ValueId k, ConstantOperand(x, c));
    ASSIGN_OR_RETURN(x.id, ea->constant != nullptr ? add(k, x.id) : add(x.id, k));
    return SetOutput(0, std::move(x));
  }
  Tensor a = *ea->tensor, b = *eb->tensor;
  const std::optional<std::vector<size_t>> out = Broadcast(a.shape, b.shape);
  if (!out.has_value()) {
    return Invalid(absl::StrFormat("shapes %s and %s do not broadcast", ShapeString(a.shape),
                                   ShapeString(b.shape)));
  }
  Tensor result;
  if (a.block.has_value() && b.block.has_value() && a.shape == b.shape && a.block == b.block &&
      result_.builder_.shape(a.id) == result_.builder_.shape(b.id)) {
    result = a;  // same layout, same shape: elementwise as held
  } else if (out->size() == 4 && (a.is_nchw() || b.is_nchw())) {
    // Bring both to channels-last 4D, padding ranks with leading 1s; an
    // operand in ONNX order gets there only if its order is trivial.
    for (Tensor* t : {&a, &b}) {
      if (t->is_nchw()) continue;
      ASSIGN_OR_RETURN(*t, ToPlain(std::move(*t), node_->op_type()));
      std::vector<size_t> padded = t->shape;
      padded.insert(padded.begin(), 4 - padded.size(), 1);
      ASSIGN_OR_RETURN(*t, Reshape(std::move(*t), padded));
      ASSIGN_OR_RETURN(*t, ToNchw(std::move(*t), node_->op_type()));
    }
    result.block = ToBlock(*out);
    result.shape = *out;
  } else {
    ASSIGN_OR_RETURN(a, ToPlain(std::move(a), node_->op_type()));
    ASSIGN_OR_RETURN(b, ToPlain(std::move(b), node_->op_type()));
    result.shape = *out;
  }
  ASSIGN_OR_RETURN(result.id, add(a.id, b.id));
  return SetOutput(0, std::move(result));
}

absl::Status OnnxImporter::LowerPool(bool max) {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  RETURN_IF_ERROR(CheckUnusedOutputs(1));  // MaxPool's Indices
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(x, ToNchw(std::move(x), node_->op_type()));
  const Block in = *x.block;
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> kernel_shape, IntsAttribute("kernel_shape"));
  if (!kernel_shape.has_value()) return Invalid("attribute 'kernel_shape' is missing");
  ASSIGN_OR_RETURN(const UintPair kernel, Pair("kernel_shape", 1, 1));
  ASSIGN_OR_RETURN(const UintPair strides, Pair("strides", 1, 1));
  ASSIGN_OR_RETURN(const UintPair dilations, Pair("dilations", 1, 1));
  ASSIGN_OR_RETURN(Padding pads, SpatialPadding(in, kernel, strides, dilations));
  ASSIGN_OR_RETURN(const int64_t ceil_mode, IntAttribute("ceil_mode", 0));
  ASSIGN_OR_RETURN(const int64_t storage_order, IntAttribute("storage_order", 0));
  ASSIGN_OR_RETURN(const int64_t count_include_pad, IntAttribute("count_include_pad", 0));
  if (storage_order != 0) return Unimplemented("storage_order = 1 (column-major indices)");
  if (!max && (dilations[0] != 1 || dilations[1] != 1)) {
    return Unimplemented("dilated average pooling (XNNPACK has none)");
  }
  // ceil_mode: PyTorch's rule (ONNX opset 19 wording): ceil, but the last
  // window must start inside the input or its leading padding. The extra
  // rows/columns become trailing padding, which both poolings skip.
  std::array<uint32_t, 2> extra = {0, 0};
  if (ceil_mode != 0) {
    for (int axis = 0; axis < 2; ++axis) {
      const size_t size = in[2 + axis] + pads[axis] + pads[2 + axis];
      const size_t extent = static_cast<size_t>(dilations[axis]) * (kernel[axis] - 1) + 1;
      if (size < extent) break;  // the builder reports it
      size_t out = (size - extent + strides[axis] - 1) / strides[axis] + 1;
      if ((out - 1) * strides[axis] >= in[2 + axis] + pads[axis]) --out;
      const size_t needed = (out - 1) * strides[axis] + extent;
      extra[axis] = static_cast<uint32_t>(needed > size ? needed - size : 0);
    }
  }
  if (!max && count_include_pad != 0 && (pads[0] | pads[1] | pads[2] | pads[3]) != 0) {
    // Padding counts in the divisor: make it real zeros, as PyTorch's exporter does.
    const size_t pre[] = {0, pads[0], pads[1], 0}, post[] = {0, pads[2], pads[3], 0};
    ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddConstantPad(x.id, pre, post, 0.0f)));
    pads = {0, 0, 0, 0};
  }
  Pool2DParams p;
  p.pooling_height = kernel[0];
  p.pooling_width = kernel[1];
  p.stride_height = strides[0];
  p.stride_width = strides[1];
  p.dilation_height = dilations[0];
  p.dilation_width = dilations[1];
  p.padding_top = pads[0];
  p.padding_left = pads[1];
  p.padding_bottom = pads[2] + extra[0];
  p.padding_right = pads[3] + extra[1];
  ASSIGN_OR_RETURN(const ValueId y, Wrap(max ? result_.builder_.AddMaxPool2D(x.id, p)
                                             : result_.builder_.AddAveragePool2D(x.id, p)));
  absl::Span<const size_t> nhwc = result_.builder_.shape(y);
  Tensor out;
  out.id = y;
  out.block = Block{nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  out.shape = {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  return SetOutput(0, std::move(out));
}

absl::Status OnnxImporter::LowerGlobalAveragePool() {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(const bool lowered_int8, TryLowerInt8GlobalAveragePool());
  if (lowered_int8) return absl::OkStatus();
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(x, ToNchw(std::move(x), "GlobalAveragePool"));
  ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddGlobalAveragePool(x.id)));
  x.block = Block{x.shape[0], x.shape[1], 1, 1};
  x.shape = {x.shape[0], x.shape[1], 1, 1};
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerPad() {
  RETURN_IF_ERROR(CheckInputCount(1, 4));
  ASSIGN_OR_RETURN(const std::string mode, StringAttribute("mode", "constant"));
  if (mode != "constant") {
    return Unimplemented(absl::StrFormat("mode '%s'; only 'constant' is supported", mode));
  }
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  std::vector<int64_t> pads;
  float value = 0.0f;
  if (opset_ < 11) {
    ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> attr, IntsAttribute("pads"));
    if (!attr.has_value()) return Invalid("attribute 'pads' is missing");
    pads = *attr;
    ASSIGN_OR_RETURN(value, FloatAttribute("value", 0.0f));
  } else {
    ASSIGN_OR_RETURN(std::shared_ptr<const Constant> p, ConstantInput(1));
    ASSIGN_OR_RETURN(pads, Ints(*p, "pads"));
    ASSIGN_OR_RETURN(const Entry* v, Input(2));
    if (v != nullptr) {
      ASSIGN_OR_RETURN(std::shared_ptr<const Constant> c, FloatConstantInput(2));
      if (c->floats.size() != 1) return Invalid("constant_value is not a scalar");
      value = c->floats[0];
    }
    ASSIGN_OR_RETURN(const Entry* axes, Input(3));
    if (axes != nullptr) return Unimplemented("the 'axes' input (opset 18)");
  }
  const size_t rank = x.shape.size();
  if (pads.size() != 2 * rank) {
    return Invalid(absl::StrFormat("%d pads for an input of rank %d", pads.size(), rank));
  }
  std::vector<size_t> pre(rank), post(rank), out(rank);
  for (size_t d = 0; d < rank; ++d) {
    ASSIGN_OR_RETURN(pre[d], Bounded(pads[d], 0, absl::StrFormat("pads[%d]", d)));
    ASSIGN_OR_RETURN(post[d], Bounded(pads[rank + d], 0, absl::StrFormat("pads[%d]", rank + d)));
    out[d] = x.shape[d] + pre[d] + post[d];
  }
  if (rank == 4 && x.block.has_value()) {
    ASSIGN_OR_RETURN(x, ToNchw(std::move(x), "Pad"));
    const size_t nhwc_pre[] = {pre[0], pre[2], pre[3], pre[1]};
    const size_t nhwc_post[] = {post[0], post[2], post[3], post[1]};
    ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddConstantPad(x.id, nhwc_pre, nhwc_post, value)));
    x.block = ToBlock(out);
  } else {
    ASSIGN_OR_RETURN(x, ToPlain(std::move(x), "Pad"));
    ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddConstantPad(x.id, pre, post, value)));
  }
  x.shape = out;
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerFlatten() {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(int64_t axis, IntAttribute("axis", 1));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) {
    return Invalid(absl::StrFormat("axis %d is outside [-%d, %d]", axis, rank, rank));
  }
  size_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : inner) *= x.shape[d];
  ASSIGN_OR_RETURN(x, Reshape(std::move(x), {outer, inner}));
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerReshape() {
  RETURN_IF_ERROR(CheckInputCount(2, 2));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> shape_constant, ConstantInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, Ints(*shape_constant, "shape"));
  ASSIGN_OR_RETURN(const int64_t allow_zero, IntAttribute("allowzero", 0));
  if (shape.empty() || shape.size() > kMaxRank) {
    return Unimplemented(
        absl::StrFormat("target shape %s: rank 1 to %d supported", ShapeString(shape), kMaxRank));
  }
  // A literal first dimension equal to the model's declared batch size means
  // the batch (see the header): follow the batch override.
  if (options_.batch_size > 0 && declared_batch_.has_value() &&
      shape[0] == static_cast<int64_t>(*declared_batch_) && !x.shape.empty() &&
      x.shape[0] == options_.batch_size) {
    shape[0] = static_cast<int64_t>(options_.batch_size);
  }
  std::vector<size_t> out(shape.size());
  int infer = -1;
  size_t known = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) {
      if (allow_zero != 0) return Unimplemented("allowzero = 1 with a zero dimension");
      if (d >= x.shape.size())
        return Invalid(absl::StrFormat("shape[%d] = 0 copies a missing input dimension", d));
      out[d] = x.shape[d];
    } else if (shape[d] == -1) {
      if (infer >= 0) return Invalid("shape has more than one -1");
      infer = static_cast<int>(d);
      continue;
    } else if (shape[d] < 0 || shape[d] > kMaxElements) {
      return Invalid(absl::StrFormat("shape[%d] is %d", d, shape[d]));
    } else {
      out[d] = static_cast<size_t>(shape[d]);
    }
    if (out[d] != 0 && known > static_cast<size_t>(kMaxElements) / out[d]) {
      return Invalid(absl::StrFormat("shape %s has too many elements", ShapeString(shape)));
    }
    known *= out[d];
  }
  const size_t total = Product(x.shape);
  if (infer >= 0) {
    if (known == 0 || total % known != 0) {
      return Invalid(
          absl::StrFormat("cannot infer the -1 in %s from %d elements", ShapeString(shape), total));
    }
    out[infer] = total / known;
  }
  ASSIGN_OR_RETURN(x, Reshape(std::move(x), std::move(out)));
  return SetOutput(0, std::move(x));
}

absl::StatusOr<std::optional<std::vector<int64_t>>> OnnxImporter::AxesOperand() {
  if (opset_ < 13) return IntsAttribute("axes");
  ASSIGN_OR_RETURN(const Entry* e, Input(1));
  if (e == nullptr) return std::optional<std::vector<int64_t>>();
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> c, ConstantInput(1));
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, Ints(*c, "axes"));
  return std::optional<std::vector<int64_t>>(std::move(axes));
}

absl::Status OnnxImporter::LowerSqueezeUnsqueeze(bool squeeze) {
  RETURN_IF_ERROR(CheckInputCount(1, 2));
  ASSIGN_OR_RETURN(const Entry* e, Input(0));
  if (e == nullptr) return Invalid("input 0 is missing");
  ASSIGN_OR_RETURN(std::optional<std::vector<int64_t>> axes, AxesOperand());
  std::vector<int64_t> in_dims;
  if (e->tensor.has_value()) {
    in_dims.assign(e->tensor->shape.begin(), e->tensor->shape.end());
  } else {
    in_dims = e->constant->dims;
  }
  const int64_t out_rank =
      static_cast<int64_t>(in_dims.size()) +
      (squeeze ? 0 : static_cast<int64_t>(axes.has_value() ? axes->size() : 0));
  std::vector<int64_t> out;
  if (squeeze) {
    std::vector<bool> drop(in_dims.size(), false);
    if (!axes.has_value()) {
      for (size_t d = 0; d < in_dims.size(); ++d) drop[d] = in_dims[d] == 1;
    } else {
      for (int64_t a : *axes) {
        if (a < 0) a += static_cast<int64_t>(in_dims.size());
        if (a < 0 || a >= static_cast<int64_t>(in_dims.size()) || in_dims[a] != 1) {
          return Invalid(absl::StrFormat("cannot squeeze axis %d of %s", a, ShapeString(in_dims)));
        }
        drop[a] = true;
      }
    }
    for (size_t d = 0; d < in_dims.size(); ++d) {
      if (!drop[d]) out.push_back(in_dims[d]);
    }
  } else {
    if (!axes.has_value()) return Invalid("axes are missing");
    if (out_rank > kMaxRank) return Unimplemented("result rank above 6");
    std::vector<bool> insert(out_rank, false);
    for (int64_t a : *axes) {
      if (a < 0) a += out_rank;
      if (a < 0 || a >= out_rank || insert[a]) {
        return Invalid(absl::StrFormat("bad unsqueeze axis %d for rank %d", a, out_rank));
      }
      insert[a] = true;
    }
    size_t next = 0;
    for (int64_t d = 0; d < out_rank; ++d) out.push_back(insert[d] ? 1 : in_dims[next++]);
  }
  if (e->constant != nullptr) {
    Constant c = *e->constant;
    c.dims = out;
    return SetOutput(0, std::move(c));
  }
  if (out.empty()) return Unimplemented("a rank-0 result");
  ASSIGN_OR_RETURN(Tensor x, Reshape(*e->tensor, std::vector<size_t>(out.begin(), out.end())));
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerSoftmax() {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  ASSIGN_OR_RETURN(int64_t axis, IntAttribute("axis", opset_ < 13 ? 1 : -1));
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) {
    return Invalid(absl::StrFormat("axis %d is outside the rank-%d input", axis, rank));
  }
  if (x.is_nchw() && axis == 1 && (opset_ >= 13 || (x.shape[2] == 1 && x.shape[3] == 1))) {
    // Over channels, which are the builder's last dimension.
    ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddSoftmax(x.id)));
    return SetOutput(0, std::move(x));
  }
  // Opset < 13: over the flattened dimensions from `axis` on. Opset 13: over
  // `axis` alone, which is the same when every later dimension is 1.
  if (opset_ >= 13) {
    for (int64_t d = axis + 1; d < rank; ++d) {
      if (x.shape[d] != 1) {
        return Unimplemented(
            absl::StrFormat("softmax over axis %d of %s is not over the last non-trivial axis",
                            axis, ShapeString(x.shape)));
      }
    }
  }
  ASSIGN_OR_RETURN(x, ToPlain(std::move(x), "Softmax"));
  const std::vector<size_t> rows = {
      Product(absl::MakeConstSpan(x.shape).subspan(0, static_cast<size_t>(axis))),
      Product(absl::MakeConstSpan(x.shape).subspan(static_cast<size_t>(axis)))};
  ASSIGN_OR_RETURN(const ValueId flat, EnsureBuilderShape(x.id, rows));
  ASSIGN_OR_RETURN(const ValueId y, Wrap(result_.builder_.AddSoftmax(flat)));
  ASSIGN_OR_RETURN(x.id, EnsureBuilderShape(y, x.shape));
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerIdentity() {
  if (node_->input_size() < 1 || node_->input(0).empty()) return Invalid("input 0 is missing");
  RETURN_IF_ERROR(CheckUnusedOutputs(1));  // Dropout's mask
  if (node_->op_type() == "Dropout") {
    ASSIGN_OR_RETURN(const Entry* training, Input(2));
    if (training != nullptr) {
      if (training->constant == nullptr || training->constant->size() != 1 ||
          training->constant->at(0) != 0.0) {
        return Unimplemented("training_mode is not a constant false");
      }
    }
  }
  ASSIGN_OR_RETURN(const Entry* e, Input(0));
  values_[node_->output(0)] = *e;
  ++result_.stats_.skipped_nodes;
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// QDQ: QuantizeLinear / DequantizeLinear and the int8 ops they enable.

absl::StatusOr<Int8Quantization> OnnxImporter::QuantizeLinearParams(const onnx::NodeProto& node) {
  if (node.input_size() < 3 || node.input(2).empty()) {
    return Unimplemented(absl::StrFormat(
        "'%s' has no zero point, which means uint8; only int8 activations are supported",
        node.output_size() > 0 ? node.output(0) : ""));
  }
  ASSIGN_OR_RETURN(const Entry* scale, Lookup(node.input(1)));
  ASSIGN_OR_RETURN(const Entry* zero_point, Lookup(node.input(2)));
  if (scale->constant == nullptr || scale->constant->type != Constant::Type::kFloat ||
      scale->constant->floats.size() != 1) {
    return Unimplemented(absl::StrFormat(
        "scale '%s' must be one FLOAT constant (per-tensor activations only)", node.input(1)));
  }
  if (zero_point->constant == nullptr || zero_point->constant->data_type != onnx::TensorProto::INT8 ||
      zero_point->constant->ints.size() != 1) {
    return Unimplemented(absl::StrFormat(
        "zero point '%s' must be one INT8 constant (int8 activations only)", node.input(2)));
  }
  Int8Quantization q;
  q.scale = scale->constant->floats[0];
  q.zero_point = static_cast<int32_t>(zero_point->constant->ints[0]);
  if (!std::isfinite(q.scale) || !(q.scale > 0.0f)) {
    return Invalid(absl::StrFormat("scale '%s' is %g; must be finite and > 0", node.input(1),
                                   q.scale));
  }
  return q;
}

std::optional<Int8Quantization> OnnxImporter::OutputQuantization(const std::string& name,
                                                                 bool through_relu) {
  if (name == graph_.output(0).name()) return std::nullopt;
  auto it = consumers_.find(name);
  if (it == consumers_.end() || it->second.size() != 1) return std::nullopt;
  const onnx::NodeProto& next = graph_.node(it->second[0]);
  if (!next.domain().empty() || next.output_size() < 1) return std::nullopt;
  if (next.op_type() == "QuantizeLinear") {
    const onnx::NodeProto* current = node_;
    absl::StatusOr<Int8Quantization> q = QuantizeLinearParams(next);
    node_ = current;
    if (q.ok()) return *q;
    return std::nullopt;
  }
  // Conv -> Relu -> QuantizeLinear: the int8 output saturates at the Relu's
  // zero point range and the Relu itself runs on the int8 twin as a clamp.
  if (through_relu && next.op_type() == "Relu") return OutputQuantization(next.output(0), false);
  return std::nullopt;
}

absl::Status OnnxImporter::SetInt8Output(Tensor y) {
  Tensor f = y;
  ASSIGN_OR_RETURN(f.id, Wrap(result_.builder_.AddDequantize(y.id)));
  values_[node_->output(0)] = Entry{std::move(f), nullptr, nullptr};
  int8_twins_[node_->output(0)] = std::move(y);
  ++result_.stats_.int8_nodes;
  return absl::OkStatus();
}

absl::Status OnnxImporter::LowerQuantizeLinear() {
  RETURN_IF_ERROR(CheckInputCount(2, 3));
  ASSIGN_OR_RETURN(Tensor x, TensorInput(0));
  if (result_.builder_.quantization(x.id) != nullptr) {
    return Unimplemented("input is already int8 (requantization is not supported)");
  }
  ASSIGN_OR_RETURN(const Int8Quantization q, QuantizeLinearParams(*node_));
  auto twin = int8_twins_.find(node_->input(0));
  if (twin != int8_twins_.end()) {
    const Int8Quantization* have = result_.builder_.quantization(twin->second.id);
    if (have->scale == q.scale && have->zero_point == q.zero_point) {
      return SetOutput(0, twin->second);  // the int8 op already produced exactly this
    }
  }
  ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddQuantize(x.id, q)));
  return SetOutput(0, std::move(x));
}

absl::Status OnnxImporter::LowerDequantizeLinear() {
  RETURN_IF_ERROR(CheckInputCount(2, 3));
  ASSIGN_OR_RETURN(const Entry* in, Input(0));
  if (in == nullptr) return Invalid("input 0 is missing");
  if (in->tensor.has_value()) {
    // An activation: the int8 value of a QuantizeLinear with the same parameters.
    const Tensor& q = *in->tensor;
    const Int8Quantization* have = result_.builder_.quantization(q.id);
    if (have == nullptr) {
      return Unimplemented(absl::StrFormat(
          "input '%s' is not int8 (only the output of a QuantizeLinear is)", node_->input(0)));
    }
    ASSIGN_OR_RETURN(const Int8Quantization want, QuantizeLinearParams(*node_));
    if (want.scale != have->scale || want.zero_point != have->zero_point) {
      return Unimplemented(absl::StrFormat(
          "scale %g and zero point %d differ from those of '%s' (%g, %d)", want.scale,
          want.zero_point, node_->input(0), have->scale, have->zero_point));
    }
    Tensor f = q;
    ASSIGN_OR_RETURN(f.id, Wrap(result_.builder_.AddDequantize(q.id)));
    values_[node_->output(0)] = Entry{std::move(f), nullptr, nullptr};
    int8_twins_[node_->output(0)] = q;
    return absl::OkStatus();
  }
  // A constant: dequantized once here; INT8 with zero points 0 also keeps its
  // int8 values for the int8 convolution and fully connected paths.
  const Constant& c = *in->constant;
  if (c.type != Constant::Type::kInt64 ||
      (c.data_type != onnx::TensorProto::INT8 && c.data_type != onnx::TensorProto::UINT8 &&
       c.data_type != onnx::TensorProto::INT32)) {
    return Unimplemented(absl::StrFormat("input '%s' is %s; INT8, UINT8 or INT32 expected",
                                         node_->input(0), DataTypeName(c.data_type)));
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> scale, FloatConstantInput(1));
  std::shared_ptr<const Constant> zero_point;
  ASSIGN_OR_RETURN(const Entry* zp_entry, Input(2));
  if (zp_entry != nullptr) {
    ASSIGN_OR_RETURN(zero_point, ConstantInput(2));
    if (zero_point->type != Constant::Type::kInt64 || zero_point->size() != scale->size()) {
      return Invalid(absl::StrFormat("zero point '%s' must be integers, as many as the scales",
                                     node_->input(2)));
    }
  }
  ASSIGN_OR_RETURN(int64_t axis, IntAttribute("axis", 1));
  const int64_t rank = static_cast<int64_t>(c.dims.size());
  if (axis < 0) axis += rank;
  size_t channels = 1, inner = 1;
  if (scale->size() != 1) {
    if (axis < 0 || axis >= rank || scale->size() != static_cast<size_t>(c.dims[axis])) {
      return Invalid(absl::StrFormat("%d scales do not match axis %d of %s", scale->size(), axis,
                                     ShapeString(c.dims)));
    }
    channels = static_cast<size_t>(c.dims[axis]);
    for (int64_t d = axis + 1; d < rank; ++d) inner *= static_cast<size_t>(c.dims[d]);
  }
  Constant f;
  f.dims = c.dims;
  f.floats.resize(c.ints.size());
  bool symmetric = true;
  for (size_t i = 0; i < c.ints.size(); ++i) {
    const size_t ch = (i / inner) % channels;
    const int64_t zp = zero_point != nullptr ? zero_point->ints[ch] : 0;
    symmetric = symmetric && zp == 0;
    f.floats[i] = static_cast<float>(c.ints[i] - zp) * scale->floats[ch];
  }
  Entry out;
  out.constant = std::make_shared<const Constant>(std::move(f));
  if (c.data_type == onnx::TensorProto::INT8 && symmetric && rank >= 1) {
    auto w = std::make_shared<Int8Weight>();
    w->values.assign(c.ints.begin(), c.ints.end());
    w->axis = scale->size() == 1 ? 0 : axis;
    w->scales = scale->size() == 1 ? std::vector<float>(static_cast<size_t>(c.dims[0]),
                                                        scale->floats[0])
                                   : scale->floats;
    out.int8_weight = std::move(w);
  }
  values_[node_->output(0)] = std::move(out);
  return absl::OkStatus();
}

absl::Status OnnxImporter::LowerWithInt8Twin() {
  lowering_twin_ = true;
  absl::Status status = LowerNode();
  if (status.ok() && values_.count(node_->output(0)) > 0) {
    // The same op again on the int8 twin; if the builder cannot do it in int8
    // the twin is simply not recorded and consumers use the float result.
    const std::string& in_name = node_->input(0);
    const Entry float_in = values_[in_name], float_out = values_[node_->output(0)];
    values_[in_name] = Entry{int8_twins_[in_name], nullptr, nullptr};
    const absl::Status twin = LowerNode();
    const Entry twin_out = values_[node_->output(0)];
    if (twin.ok() && twin_out.tensor.has_value() &&
        result_.builder_.quantization(twin_out.tensor->id) != nullptr) {
      int8_twins_[node_->output(0)] = *twin_out.tensor;
    }
    values_[in_name] = float_in;
    values_[node_->output(0)] = float_out;
  }
  lowering_twin_ = false;
  return status;
}

absl::StatusOr<bool> OnnxImporter::TryLowerInt8Conv(const Conv2DParams& params,
                                                    const std::vector<float>& bias) {
  auto twin = int8_twins_.find(node_->input(0));
  if (twin == int8_twins_.end()) return false;
  ASSIGN_OR_RETURN(const Entry* w, Input(1));
  if (w->int8_weight == nullptr || w->int8_weight->axis != 0 ||
      w->int8_weight->scales.size() != params.output_channels) {
    return false;
  }
  const std::optional<Int8Quantization> out_q = OutputQuantization(node_->output(0), true);
  if (!out_q.has_value()) return false;
  ASSIGN_OR_RETURN(Tensor x, ToNchw(twin->second, "Conv"));
  // OIHW -> OHWI, as for float weights.
  const size_t taps = static_cast<size_t>(params.kernel_height) * params.kernel_width;
  const size_t group_in = params.input_channels / params.groups;
  const std::vector<int8_t>& oihw = w->int8_weight->values;
  std::vector<int8_t> filter(oihw.size());
  for (size_t o = 0; o < params.output_channels; ++o) {
    for (size_t i = 0; i < group_in; ++i) {
      for (size_t t = 0; t < taps; ++t) {
        filter[(o * taps + t) * group_in + i] = oihw[(o * group_in + i) * taps + t];
      }
    }
  }
  ASSIGN_OR_RETURN(const ValueId y,
                   Wrap(result_.builder_.AddQuantizedConv2D(
                       x.id, params, filter, w->int8_weight->scales, bias, *out_q)));
  absl::Span<const size_t> nhwc = result_.builder_.shape(y);
  Tensor out;
  out.id = y;
  out.block = Block{nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  out.shape = {nhwc[0], nhwc[3], nhwc[1], nhwc[2]};
  RETURN_IF_ERROR(SetInt8Output(std::move(out)));
  return true;
}

absl::StatusOr<bool> OnnxImporter::TryLowerInt8Gemm(bool trans_b, size_t n, size_t k,
                                                    const std::vector<float>& bias) {
  auto twin = int8_twins_.find(node_->input(0));
  if (twin == int8_twins_.end()) return false;
  ASSIGN_OR_RETURN(const Entry* b, Input(1));
  // Scales must run along the output axis: axis 0 of B^T-stored [n, k] (transB = 1).
  if (b->int8_weight == nullptr || !trans_b || b->int8_weight->axis != 0 ||
      b->int8_weight->scales.size() != n || (!bias.empty() && bias.size() != n)) {
    return false;
  }
  const std::optional<Int8Quantization> out_q = OutputQuantization(node_->output(0), true);
  if (!out_q.has_value()) return false;
  Tensor a = twin->second;
  std::vector<int8_t> weights = b->int8_weight->values;
  if (a.is_flat()) {
    // The input row is held in (h, w, c) order: permute the weight columns.
    const Block& blk = *a.block;
    std::vector<int8_t> permuted(weights.size());
    NchwToNhwcAs(weights.data(), {n, blk[1], blk[2], blk[3]}, permuted.data());
    weights = std::move(permuted);
  } else {
    ASSIGN_OR_RETURN(a, ToPlain(std::move(a), "Gemm"));
  }
  FullyConnectedParams params;
  params.input_channels = k;
  params.output_channels = n;
  ASSIGN_OR_RETURN(const ValueId y,
                   Wrap(result_.builder_.AddQuantizedFullyConnected(
                       a.id, params, weights, b->int8_weight->scales, bias, *out_q)));
  Tensor out;
  out.id = y;
  out.shape = {a.shape[0], n};
  RETURN_IF_ERROR(SetInt8Output(std::move(out)));
  return true;
}

absl::StatusOr<bool> OnnxImporter::TryLowerInt8Add() {
  auto ta = int8_twins_.find(node_->input(0));
  auto tb = int8_twins_.find(node_->input(1));
  if (ta == int8_twins_.end() || tb == int8_twins_.end()) return false;
  const Tensor& a = ta->second;
  const Tensor& b = tb->second;
  if (a.shape != b.shape || a.block != b.block ||
      result_.builder_.shape(a.id) != result_.builder_.shape(b.id)) {
    return false;
  }
  const std::optional<Int8Quantization> out_q = OutputQuantization(node_->output(0), true);
  if (!out_q.has_value()) return false;
  Tensor out = a;
  ASSIGN_OR_RETURN(out.id, Wrap(result_.builder_.AddQuantizedAdd(a.id, b.id, *out_q)));
  RETURN_IF_ERROR(SetInt8Output(std::move(out)));
  return true;
}

absl::StatusOr<bool> OnnxImporter::TryLowerInt8GlobalAveragePool() {
  auto twin = int8_twins_.find(node_->input(0));
  if (twin == int8_twins_.end()) return false;
  const std::optional<Int8Quantization> out_q = OutputQuantization(node_->output(0), true);
  if (!out_q.has_value()) return false;
  ASSIGN_OR_RETURN(Tensor x, ToNchw(twin->second, "GlobalAveragePool"));
  ASSIGN_OR_RETURN(x.id, Wrap(result_.builder_.AddQuantizedGlobalAveragePool(x.id, *out_q)));
  x.block = Block{x.shape[0], x.shape[1], 1, 1};
  x.shape = {x.shape[0], x.shape[1], 1, 1};
  RETURN_IF_ERROR(SetInt8Output(std::move(x)));
  return true;
}


// ---------------------------------------------------------------------------
// Constant folding.

absl::Status OnnxImporter::FoldConstantNode() {
  const onnx::AttributeProto* value = Attribute("value");
  if (value != nullptr && value->type() == onnx::AttributeProto::TENSOR) {
    absl::StatusOr<Constant> c = ParseTensor(value->t(), absl::StrFormat("attribute 'value'"));
    if (!c.ok()) return Wrap(c.status());
    return SetOutput(0, *std::move(c));
  }
  Constant c;
  if (const onnx::AttributeProto* f = Attribute("value_float"); f != nullptr) {
    c.type = Constant::Type::kFloat;
    c.floats = {f->f()};
  } else if (const onnx::AttributeProto* i = Attribute("value_int"); i != nullptr) {
    c.type = Constant::Type::kInt64;
    c.ints = {i->i()};
  } else if (const onnx::AttributeProto* fs = Attribute("value_floats"); fs != nullptr) {
    c.type = Constant::Type::kFloat;
    c.floats.assign(fs->floats().begin(), fs->floats().end());
    c.dims = {static_cast<int64_t>(c.floats.size())};
  } else if (const onnx::AttributeProto* is = Attribute("value_ints"); is != nullptr) {
    c.type = Constant::Type::kInt64;
    c.ints.assign(is->ints().begin(), is->ints().end());
    c.dims = {static_cast<int64_t>(c.ints.size())};
  } else {
    return Unimplemented("a Constant without a tensor, float or int value");
  }
  return SetOutput(0, std::move(c));
}

absl::Status OnnxImporter::FoldShape() {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(const Entry* e, Input(0));
  if (e == nullptr) return Invalid("input 0 is missing");
  Constant c;
  c.type = Constant::Type::kInt64;
  if (e->tensor.has_value()) {
    c.ints.assign(e->tensor->shape.begin(), e->tensor->shape.end());
  } else {
    c.ints = e->constant->dims;
  }
  ASSIGN_OR_RETURN(int64_t start, IntAttribute("start", 0));
  ASSIGN_OR_RETURN(int64_t end, IntAttribute("end", static_cast<int64_t>(c.ints.size())));
  const int64_t rank = static_cast<int64_t>(c.ints.size());
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  c.ints = std::vector<int64_t>(c.ints.begin() + start, c.ints.begin() + end);
  c.dims = {static_cast<int64_t>(c.ints.size())};
  return SetOutput(0, std::move(c));
}

absl::Status OnnxImporter::FoldGather() {
  RETURN_IF_ERROR(CheckInputCount(2, 2));
  ASSIGN_OR_RETURN(const Entry* data_entry, Input(0));
  if (data_entry == nullptr || data_entry->constant == nullptr) {
    return Unimplemented("Gather of an activation (only shape arithmetic on constants is folded)");
  }
  const Constant& data = *data_entry->constant;
  ASSIGN_OR_RETURN(std::shared_ptr<const Constant> indices_constant, ConstantInput(1));
  ASSIGN_OR_RETURN(const std::vector<int64_t> indices, Ints(*indices_constant, "indices"));
  ASSIGN_OR_RETURN(const int64_t axis, IntAttribute("axis", 0));
  if (data.dims.size() != 1 || (axis != 0 && axis != -1)) {
    return Unimplemented("Gather folding handles 1-D data only");
  }
  Constant c;
  c.type = data.type;
  c.dims = indices_constant->dims;
  const int64_t n = data.dims[0];
  for (int64_t i : indices) {
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Invalid(absl::StrFormat("index %d is outside [0, %d)", i, n));
    switch (data.type) {
      case Constant::Type::kFloat:
        c.floats.push_back(data.floats[i]);
        break;
      case Constant::Type::kInt64:
        c.ints.push_back(data.ints[i]);
        break;
      case Constant::Type::kDouble:
        c.doubles.push_back(data.doubles[i]);
        break;
    }
  }
  return SetOutput(0, std::move(c));
}

absl::Status OnnxImporter::FoldCast() {
  RETURN_IF_ERROR(CheckInputCount(1, 1));
  ASSIGN_OR_RETURN(const Entry* e, Input(0));
  if (e == nullptr || e->constant == nullptr) {
    return Unimplemented("Cast of an activation (the graph is fp32 throughout)");
  }
  ASSIGN_OR_RETURN(const int64_t to, IntAttribute("to", 0));
  const Constant& in = *e->constant;
  Constant c;
  c.dims = in.dims;
  switch (to) {
    case onnx::TensorProto::FLOAT:
      c.type = Constant::Type::kFloat;
      for (size_t i = 0; i < in.size(); ++i) c.floats.push_back(static_cast<float>(in.at(i)));
      break;
    case onnx::TensorProto::DOUBLE:
      c.type = Constant::Type::kDouble;
      for (size_t i = 0; i < in.size(); ++i) c.doubles.push_back(in.at(i));
      break;
    case onnx::TensorProto::INT64:
    case onnx::TensorProto::INT32:
      c.type = Constant::Type::kInt64;
      for (size_t i = 0; i < in.size(); ++i) {
        const double v = in.at(i);
        if (!std::isfinite(v) || std::abs(v) > 9e18)
          return Invalid("cast of a non-finite value to an integer");
        c.ints.push_back(static_cast<int64_t>(v));  // truncation, as ONNX
      }
      break;
    default:
      return Unimplemented(absl::StrFormat("cast to %s", DataTypeName(static_cast<int32_t>(to))));
  }
  return SetOutput(0, std::move(c));
}

absl::Status OnnxImporter::FoldConcat() {
  if (node_->input_size() < 1) return Invalid("has no inputs");
  ASSIGN_OR_RETURN(const int64_t axis, IntAttribute("axis", 0));
  Constant c;
  bool first = true;
  for (int k = 0; k < node_->input_size(); ++k) {
    ASSIGN_OR_RETURN(const Entry* e, Input(k));
    if (e == nullptr || e->constant == nullptr) {
      return Unimplemented("Concat of activations (XNNPACK ae108ef has no concatenate node)");
    }
    const Constant& in = *e->constant;
    if (in.dims.size() != 1 || (axis != 0 && axis != -1)) {
      return Unimplemented("Concat folding handles 1-D constants only");
    }
    if (first) {
      c.type = in.type;
      first = false;
    } else if (in.type != c.type) {
      return Invalid("inputs of different types");
    }
    c.floats.insert(c.floats.end(), in.floats.begin(), in.floats.end());
    c.ints.insert(c.ints.end(), in.ints.begin(), in.ints.end());
    c.doubles.insert(c.doubles.end(), in.doubles.begin(), in.doubles.end());
  }
  c.dims = {static_cast<int64_t>(c.size())};
  return SetOutput(0, std::move(c));
}

absl::Status OnnxImporter::FoldArithmetic(char op) {
  RETURN_IF_ERROR(CheckInputCount(2, 2));
  ASSIGN_OR_RETURN(const Entry* ea, Input(0));
  ASSIGN_OR_RETURN(const Entry* eb, Input(1));
  if (ea == nullptr || eb == nullptr || ea->constant == nullptr || eb->constant == nullptr) {
    return Unimplemented(absl::StrFormat(
        "%s of activations (only Add and Mul run in the graph; %s is folded on constants)",
        node_->op_type(), node_->op_type()));
  }
  const Constant& a = *ea->constant;
  const Constant& b = *eb->constant;
  if (a.type != b.type) return Invalid("operands of different types");
  if (a.size() != b.size() && a.size() != 1 && b.size() != 1) {
    return Unimplemented("folding broadcasts only scalars");
  }
  Constant c;
  c.type = a.type;
  c.dims = a.size() >= b.size() ? a.dims : b.dims;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t ia = a.size() == 1 ? 0 : i, ib = b.size() == 1 ? 0 : i;
    switch (a.type) {
      case Constant::Type::kInt64: {
        const int64_t x = a.ints[ia], y = b.ints[ib];
        int64_t r = 0;
        bool overflow = false;
        switch (op) {
          case '+':
            overflow = __builtin_add_overflow(x, y, &r);
            break;
          case '-':
            overflow = __builtin_sub_overflow(x, y, &r);
            break;
          case '*':
            overflow = __builtin_mul_overflow(x, y, &r);
            break;
          default:
            if (y == 0 || (x == std::numeric_limits<int64_t>::min() && y == -1)) {
              return Invalid("integer division by zero or overflow");
            }
            // ONNX integer Div truncates toward zero, as C++.
            r = x / y;
        }
        if (overflow) return Invalid("integer overflow");
        c.ints.push_back(r);
        break;
      }
      case Constant::Type::kFloat:
      case Constant::Type::kDouble: {
        const double x = a.at(ia), y = b.at(ib);
        const double r = op == '+' ? x + y : op == '-' ? x - y : op == '*' ? x * y : x / y;
        if (a.type == Constant::Type::kFloat) {
          c.floats.push_back(static_cast<float>(r));
        } else {
          c.doubles.push_back(r);
        }
        break;
      }
    }
  }
  return SetOutput(0, std::move(c));
}

// ---------------------------------------------------------------------------
// OnnxModel and OnnxRuntime.

absl::StatusOr<OnnxModel> OnnxModel::ImportBytes(absl::string_view bytes,
                                                 const OnnxImportOptions& options,
                                                 absl::string_view source) {
  // Names in messages come from the file; control bytes are escaped so that
  // an error stays one line whatever the file holds.
  auto prefix = [&](const absl::Status& status) {
    return absl::Status(status.code(),
                        EscapeControlBytes(absl::StrCat(source, ": ", status.message())));
  };
  onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        absl::StrCat(source, ": not an ONNX model (protobuf ModelProto parsing failed)"));
  }
  if (!model.has_graph()) return prefix(absl::InvalidArgumentError("the model has no graph"));
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  if (!builder.ok()) return prefix(builder.status());
  OnnxImporter importer(model, options, *std::move(builder));
  absl::StatusOr<OnnxModel> imported = importer.Import();
  if (!imported.ok()) return prefix(imported.status());
  return imported;
}

absl::StatusOr<OnnxModel> OnnxModel::ImportFile(const std::string& path,
                                                const OnnxImportOptions& options) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  // One read into a buffer of the file's size: streaming through a
  // stringstream regrows and copies it, which costs seconds on a ResNet.
  const std::streamoff size = file.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat(path, ": cannot tell its size"));
  std::string bytes(static_cast<size_t>(size), '\0');
  file.seekg(0);
  if (!file.read(bytes.data(), size)) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }
  return ImportBytes(bytes, options, path);
}

absl::StatusOr<OnnxRuntime> OnnxModel::Build(int num_threads) const {
  ASSIGN_OR_RETURN(Runtime runtime, builder_.Build(num_threads));
  return OnnxRuntime(std::move(runtime), input_, output_);
}

OnnxRuntime::OnnxRuntime(Runtime runtime, BoundaryLayout input, BoundaryLayout output)
    : runtime_(std::move(runtime)), input_(std::move(input)), output_(std::move(output)) {
  if (input_.block.has_value()) graph_input_.resize(runtime_.input_size());
  if (output_.block.has_value()) graph_output_.resize(runtime_.output_size());
}

absl::Status OnnxRuntime::Run(absl::Span<const float> input, absl::Span<float> output) {
  if (input.size() != input_size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("run: input has %d floats, the model input %s needs %d", input.size(),
                        ShapeString(input_.shape), input_size()));
  }
  if (output.size() != output_size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("run: output has %d floats, the model output %s needs %d", output.size(),
                        ShapeString(output_.shape), output_size()));
  }
  absl::Span<const float> graph_input = input;
  if (input_.block.has_value()) {
    NchwToNhwc(input.data(), *input_.block, graph_input_.data());
    graph_input = graph_input_;
  }
  if (!output_.block.has_value()) return runtime_.Run(graph_input, output);
  RETURN_IF_ERROR(runtime_.Run(graph_input, absl::MakeSpan(graph_output_)));
  NhwcToNchw(graph_output_.data(), *output_.block, output.data());
  return absl::OkStatus();
}

}  // namespace inference
}  // namespace edgecompress
