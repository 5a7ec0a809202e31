// train_prune's int8 artifact of a quantization-aware run: the trained fp32
// ONNX model in QDQ form (quantization/onnx_qdq.h), with the activation
// ranges that training observed at the layers' inputs
// (Int8QatCallback::activation_ranges) wherever a layer reads a quantized
// activation, and calibrated ranges (min-max over calibration images through
// inference/, as tools/quantize does) for the rest, which for a classifier
// is the logits. The file is evaluated through inference/, so the result
// holds the top-1 that a deployment of it gets, beside the training
// framework's fake-quantized top-1.
#ifndef EDGECOMPRESS_TOOLS_TRAIN_PRUNE_INT8_EXPORT_H_
#define EDGECOMPRESS_TOOLS_TRAIN_PRUNE_INT8_EXPORT_H_

#include <onnx/onnx_pb.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "quantization/observers.h"
#include "tools/quantize/ptq_pipeline.h"

namespace edgecompress::tools {

struct Int8ExportInputs {
  const onnx::ModelProto* fp32 = nullptr;  // as training::ExportOnnx wrote it
  std::map<std::string, quantization::Range> layer_input_ranges;  // by layer
  const quantize::NormalizedImages* calibration = nullptr;
  const quantize::NormalizedImages* test = nullptr;
  std::string path;  // where to write the QDQ model
};

// Writes the model and returns {"onnx_int8", "onnx_int8_bytes",
// "onnx_int8_top1", "int8_nodes", "ranges_from_training", "calibrated"}.
// Errors name the step (calibration, quantization, the file).
absl::StatusOr<nlohmann::json> ExportInt8Qat(const Int8ExportInputs& inputs);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_TRAIN_PRUNE_INT8_EXPORT_H_
