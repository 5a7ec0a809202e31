// ONNX export of a LayerGraph and its parameters, without LibTorch.
//
// ExportOnnx lowers the graph layer by layer, in its topological order:
//   1. InferShapes() validates the graph and gives every value's shape.
//   2. Each BatchNorm whose input is a Conv2d output read by nothing else
//      (and not the graph output) is folded into that convolution, per output
//      channel c, in double precision:
//        s_c = gamma_c / sqrt(running_var_c + epsilon)
//        w'_c = w_c * s_c,    b'_c = (b_c - running_mean_c) * s_c + beta_c
//      (b_c = 0 for a convolution without bias); the folded Conv writes the
//      BatchNorm's output. Any other BatchNorm becomes a BatchNormalization
//      node. Folding keeps zeros zero, so a pruned convolution stays sparse.
//   3. Layers map to opset-13 operators one to one: Conv (kernel_shape,
//      strides, pads, dilations, group), BatchNormalization (epsilon), Gemm
//      with transB = 1 for Linear, Relu, Clip with min and max as scalar
//      initializer inputs, MaxPool, AveragePool (count_include_pad = 1),
//      GlobalAveragePool, Flatten (axis = 1) and Add.
//   4. onnx::checker::check_model validates the result.
//
// Conventions of the exported model:
//   - One input named "input", float [batch, C, H, W], where "batch" is a
//     symbolic dimension; one output named options.output_name ("logits"),
//     float [batch, ...]. Every other value keeps its LayerGraph name and has
//     a value_info entry with its shape.
//   - Initializers are float32 with little-endian raw_data, named as the
//     torch tensors they come from ("conv1.weight"); a folded convolution's
//     "<conv>.weight" and "<conv>.bias" hold the folded values. Clip bounds
//     are "<clip output>.min" / ".max".
//   - BatchNorm uses running statistics (inference semantics) whatever mode
//     the model that supplied them was in.
//   - ir_version is onnx::IR_VERSION of the libonnx we build with (8 for
//     ONNX 1.12); the default domain is imported at opset 13.
//
// Not exported: training-mode BatchNorm, non-square kernels (LayerGraph has
// none), quantized tensors (QuantizeLinear/DequantizeLinear come later).
//
// Cost: one pass over the layers; parameters are copied once into the model
// (folded ones through a temporary of one layer's size).
#ifndef EDGECOMPRESS_TRAINING_ONNX_ONNX_EXPORT_H_
#define EDGECOMPRESS_TRAINING_ONNX_ONNX_EXPORT_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "training/models/layer_graph.h"

// The namespace stays edgecompress::training: a nested `onnx` namespace would
// hide ::onnx, whose protos every file here names.
namespace edgecompress::training {

inline constexpr int64_t kOnnxOpset = 13;

// One float tensor, row-major. ExportOnnx copies the values and keeps no
// pointer to them after it returns.
struct ParameterView {
  std::vector<int64_t> shape;
  absl::Span<const float> values;
};

// Tensors by their torch name: "<layer>.weight", "<layer>.bias",
// "<layer>.running_mean", "<layer>.running_var" (layer_graph.h). Only the
// names the graph needs are read; others (num_batches_tracked) are ignored.
using ParameterLookup = std::map<std::string, ParameterView, std::less<>>;

struct OnnxExportOptions {
  std::string output_name = "logits";  // the graph output's ONNX name
  std::string graph_name = "edgecompress";
  bool fold_batch_norm = true;  // false keeps a BatchNormalization node for each BatchNorm
  // Also output the graph's side outputs (early exits), named as their
  // LayerGraph values, after the main output. Without it the layers that
  // only feed side outputs are left out: the model is the final classifier.
  bool side_outputs = false;
};

// The model described above. kInvalidArgument for an invalid graph (the
// InferShapes message), a missing parameter or one whose shape or value count
// does not match its layer (naming the parameter), or an output name that is
// empty or already names another value; kInternal if the checker rejects the
// result (a bug here).
absl::StatusOr<onnx::ModelProto> ExportOnnx(const LayerGraph& graph, const ParameterLookup& params,
                                            const OnnxExportOptions& options = {});

// onnx::checker::check_model as a status: kInternal with the checker's
// message (first line) when it rejects `model`.
absl::Status CheckOnnxModel(const onnx::ModelProto& model);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_ONNX_ONNX_EXPORT_H_
