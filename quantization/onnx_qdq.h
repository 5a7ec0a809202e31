// Post-training quantization of an fp32 ONNX model into ONNX Runtime's QDQ
// format: the adapter between the framework-free math (affine.h,
// observers.h) and ONNX's protobuf. No files, no runtime: callers load the
// ModelProto, calibrate (tools/quantize runs inference/), and write it.
//
// Modes (what ONNX Runtime calls quantize_static, quantize_dynamic and
// float16 conversion):
//   kInt8     weights of Conv and Gemm as INT8 initializers, symmetric per
//             output channel ([-127, 127], zero point 0, axis 0), each behind
//             a DequantizeLinear; activations per tensor, asymmetric int8,
//             as QuantizeLinear -> DequantizeLinear pairs from calibrated
//             ranges. inference/ runs this as XNNPACK int8.
//   kDynamic  the same int8 weights, no activation pairs (the runtime
//             computes in float on dequantized weights; the file is smaller).
//   kFp16     Conv and Gemm weights and biases as FLOAT16 initializers, each
//             behind a Cast to FLOAT.
// Biases stay FLOAT in kInt8 and kDynamic (the runtime rounds them to int32 at
// input_scale * weight_scale, which is what QLinearConv stores); they are a
// fraction of a percent of the weights.
//
// Where activation pairs go (ActivationsToQuantize), as ORT's QDQ quantizer:
// the graph input, and the output of every Conv, Gemm, Add and
// GlobalAveragePool; when that output's only consumer is a Relu, the Relu's
// output instead (the Relu is fused). MaxPool, Flatten, Reshape and the like
// get no pair of their own: they move int8 values unchanged, so their outputs
// stay on their input's grid. A pair's consumers are rewired to the
// DequantizeLinear output; a graph output keeps its name (the producer's
// output is renamed "<name>_prequant").
//
// Preconditions: BatchNormalization already folded into the convolutions
// (our exporter does, FoldBatchNorms below does it for other exporters'
// models; a model with one is kFailedPrecondition), Conv and Gemm
// weights are FLOAT initializers, Gemm has alpha = 1. The default-domain
// opset is raised to 13 (per-axis DequantizeLinear) when lower; the ops named
// above have the same semantics at 13.
//
// Cost: O(model). Nothing is kept after a call.
#ifndef EDGECOMPRESS_QUANTIZATION_ONNX_QDQ_H_
#define EDGECOMPRESS_QUANTIZATION_ONNX_QDQ_H_

#include <onnx/onnx_pb.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "quantization/observers.h"

namespace edgecompress {
namespace quantization {

enum class PtqMode { kInt8, kDynamic, kFp16 };

// "int8", "dynamic", "fp16"; kInvalidArgument naming the valid ones otherwise.
absl::StatusOr<PtqMode> ParsePtqMode(absl::string_view name);
std::string PtqModeName(PtqMode mode);

// Names of the activations that kInt8 quantizes (see the file comment), in
// graph order. kFailedPrecondition if the model holds a BatchNormalization.
absl::StatusOr<std::vector<std::string>> ActivationsToQuantize(const onnx::ModelProto& model);

// The quantized model. `activation_ranges` must hold a range for every name
// ActivationsToQuantize returns when mode is kInt8 (kInvalidArgument naming
// the first missing one) and is ignored otherwise. kInvalidArgument names the
// node whose weights are malformed.
absl::StatusOr<onnx::ModelProto> QuantizeModel(
    const onnx::ModelProto& model, PtqMode mode,
    const std::map<std::string, Range>& activation_ranges);

// Translates ranges observed at layer inputs (Int8QatCallback's, keyed by
// layer: "fc1" for the Conv or Gemm whose weight is "fc1.weight") into
// ranges of the activations ActivationsToQuantize names: from each such
// node's data input back through MaxPool, Flatten and Reshape (ops that keep
// the int8 grid, so the range seen after them is the range before) to a
// quantized activation. Two layers reading one activation (a residual
// block's conv and its downsample) give it the union of their ranges.
// Activations no layer reads this way (the logits) are absent: calibrate
// them. kFailedPrecondition as ActivationsToQuantize.
absl::StatusOr<std::map<std::string, Range>> ActivationRangesFromLayerInputs(
    const onnx::ModelProto& model, const std::map<std::string, Range>& layer_input_ranges);

struct FoldedModel {
  onnx::ModelProto model;
  int folded = 0;  // BatchNormalization nodes merged into their convolution
};

// Folds every inference-mode BatchNormalization whose input is a Conv's
// output read by nothing else into that Conv (PyTorch's
// torch.nn.utils.fusion.fuse_conv_bn_eval):
//   s = gamma / sqrt(var + epsilon)
//   W'[o] = W[o] * s[o],  b'[o] = (b[o] - mean[o]) * s[o] + beta[o]
// computed in double. The Conv takes the BatchNormalization's output name;
// folded weights get new initializer names ("<BN output>_folded_weight" and
// "_folded_bias"), so weights that other nodes share are left as they were. A BatchNormalization that cannot
// be folded (after an Add, or the Conv output is read elsewhere) stays, and
// QuantizeModel refuses it as before. kInvalidArgument naming the node for
// malformed parameters (not FLOAT initializers, wrong sizes, training_mode).
absl::StatusOr<FoldedModel> FoldBatchNorms(const onnx::ModelProto& model);

// IEEE binary16 bits of `value`, rounded to nearest even (overflow to inf).
uint16_t FloatToHalf(float value);

}  // namespace quantization
}  // namespace edgecompress

#endif  // EDGECOMPRESS_QUANTIZATION_ONNX_QDQ_H_
