// The steps of tools/quantize that touch a runtime: calibration of activation
// ranges by running an fp32 ONNX model on XNNPACK (inference/), and top-1 of
// any ONNX classifier on a labelled image set. The quantization itself is
// quantization/onnx_qdq.h.
//
// Calibration: for each activation name, the model is imported with that
// tensor as its output (inference/ has one output per graph), and the
// calibration images run through it in batches, each batch fed to a fresh
// observer of that name. Cost: one partial forward pass per name and sample;
// for LeNet-5 and 500 samples, well under a second. The graph input is
// observed directly.
#ifndef EDGECOMPRESS_TOOLS_QUANTIZE_PTQ_PIPELINE_H_
#define EDGECOMPRESS_TOOLS_QUANTIZE_PTQ_PIPELINE_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "quantization/observers.h"
#include "training/data/image_dataset.h"

namespace edgecompress::quantize {

// Images as the model sees them: NCHW floats, (pixel / 255 - mean[c]) / stddev[c].
struct NormalizedImages {
  int64_t count = 0, channels = 0, height = 0, width = 0;
  std::vector<float> values;
  std::vector<uint8_t> labels;
};

// `count` images of `dataset` spread evenly over it (image i * size / count),
// or all of them when count <= 0 or count >= size.
NormalizedImages Normalize(const training::ImageDataset& dataset, const std::vector<float>& mean,
                           const std::vector<float>& stddev, int64_t count);

// One range per name; errors name the tensor (import or run failures).
absl::StatusOr<std::map<std::string, quantization::Range>> Calibrate(
    const onnx::ModelProto& model, const std::vector<std::string>& names,
    const NormalizedImages& images, const quantization::ObserverOptions& observer_options,
    int batch_size, int num_threads);

struct Top1Result {
  double top1_percent = 0.0;
  int int8_nodes = 0;  // ops the import ran as XNNPACK int8
};

// Percent of `images` whose largest logit is the label; `model_bytes` is a
// serialized ModelProto, `source` names it in errors.
absl::StatusOr<Top1Result> EvaluateTop1(const std::string& model_bytes, const std::string& source,
                                        const NormalizedImages& images, int batch_size,
                                        int num_threads);

}  // namespace edgecompress::quantize

#endif  // EDGECOMPRESS_TOOLS_QUANTIZE_PTQ_PIPELINE_H_
