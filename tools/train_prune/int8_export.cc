#include "tools/train_prune/int8_export.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "quantization/onnx_qdq.h"
#include "tools/io/atomic_file.h"
#include "tools/status/status_macros.h"

namespace edgecompress::tools {

absl::StatusOr<nlohmann::json> ExportInt8Qat(const Int8ExportInputs& inputs) {
  constexpr int kBatch = 50, kThreads = 1;
  using RangeMap = std::map<std::string, quantization::Range>;
  ASSIGN_OR_RETURN(RangeMap ranges, quantization::ActivationRangesFromLayerInputs(
                                        *inputs.fp32, inputs.layer_input_ranges));
  const size_t from_training = ranges.size();
  ASSIGN_OR_RETURN(const std::vector<std::string> activations,
                   quantization::ActivationsToQuantize(*inputs.fp32));
  std::vector<std::string> missing;
  for (const std::string& name : activations) {
    if (ranges.count(name) == 0) missing.push_back(name);
  }
  if (!missing.empty()) {
    ASSIGN_OR_RETURN(const RangeMap calibrated,
                     quantize::Calibrate(*inputs.fp32, missing, *inputs.calibration,
                                         {.method = quantization::CalibrationMethod::kMinMax},
                                         kBatch, kThreads));
    ranges.insert(calibrated.begin(), calibrated.end());
  }
  ASSIGN_OR_RETURN(const onnx::ModelProto int8,
                   quantization::QuantizeModel(*inputs.fp32, quantization::PtqMode::kInt8, ranges));
  const std::string bytes = int8.SerializeAsString();
  RETURN_IF_ERROR(WriteFileAtomically(inputs.path, bytes));
  ASSIGN_OR_RETURN(const quantize::Top1Result top1,
                   quantize::EvaluateTop1(bytes, inputs.path, *inputs.test, kBatch, kThreads));
  return nlohmann::json{{"onnx_int8", inputs.path},
                        {"onnx_int8_bytes", bytes.size()},
                        {"onnx_int8_top1", top1.top1_percent},
                        {"int8_nodes", top1.int8_nodes},
                        {"ranges_from_training", from_training},
                        {"calibrated", missing}};
}

}  // namespace edgecompress::tools
