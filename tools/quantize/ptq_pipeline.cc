#include "tools/quantize/ptq_pipeline.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"
#include "tools/status/status_macros.h"

namespace edgecompress::quantize {
namespace {

absl::Status Prefix(const absl::Status& status, const std::string& what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

NormalizedImages Normalize(const training::ImageDataset& dataset, const std::vector<float>& mean,
                           const std::vector<float>& stddev, int64_t count) {
  NormalizedImages out;
  out.count = count <= 0 || count >= dataset.size ? dataset.size : count;
  out.channels = dataset.channels;
  out.height = dataset.height;
  out.width = dataset.width;
  const int64_t image = dataset.image_bytes(), plane = dataset.height * dataset.width;
  out.values.resize(static_cast<size_t>(out.count * image));
  for (int64_t i = 0; i < out.count; ++i) {
    const int64_t source = i * dataset.size / out.count;  // evenly spread, deterministic
    out.labels.push_back(dataset.labels[source]);
    for (int64_t j = 0; j < image; ++j) {
      const int64_t c = j / plane;
      out.values[i * image + j] =
          (dataset.pixels[source * image + j] / 255.0f - mean[c]) / stddev[c];
    }
  }
  return out;
}

absl::StatusOr<std::map<std::string, quantization::Range>> Calibrate(
    const onnx::ModelProto& model, const std::vector<std::string>& names,
    const NormalizedImages& images, const quantization::ObserverOptions& observer_options,
    int batch_size, int num_threads) {
  std::map<std::string, quantization::Range> ranges;
  const size_t image = static_cast<size_t>(images.channels * images.height * images.width);
  const int64_t batches = images.count / batch_size;
  if (batches < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "calibration: ", images.count, " samples are fewer than one batch of ", batch_size));
  }
  std::string input_name;
  for (const onnx::ValueInfoProto& input : model.graph().input()) {
    bool is_initializer = false;
    for (const onnx::TensorProto& t : model.graph().initializer()) {
      is_initializer = is_initializer || t.name() == input.name();
    }
    if (!is_initializer) input_name = input.name();
  }
  for (const std::string& name : names) {
    ASSIGN_OR_RETURN(std::unique_ptr<quantization::RangeObserver> observer,
                     quantization::CreateObserver(observer_options));
    const std::string what = absl::StrCat("calibrating '", name, "'");
    if (name == input_name) {
      for (int64_t b = 0; b < batches; ++b) {
        RETURN_IF_ERROR(Prefix(
            observer->Observe(absl::MakeConstSpan(images.values)
                                  .subspan(b * batch_size * image, batch_size * image)),
            what));
      }
    } else {
      onnx::ModelProto truncated = model;
      onnx::ValueInfoProto* output = truncated.mutable_graph()->mutable_output(0);
      output->Clear();
      output->set_name(name);
      inference::OnnxImportOptions options;
      options.batch_size = static_cast<size_t>(batch_size);
      absl::StatusOr<inference::OnnxModel> imported = inference::OnnxModel::ImportBytes(
          truncated.SerializeAsString(), options, absl::StrCat("model up to '", name, "'"));
      RETURN_IF_ERROR(Prefix(imported.status(), what));
      absl::StatusOr<inference::OnnxRuntime> runtime = imported->Build(num_threads);
      RETURN_IF_ERROR(Prefix(runtime.status(), what));
      std::vector<float> activations(runtime->output_size());
      for (int64_t b = 0; b < batches; ++b) {
        RETURN_IF_ERROR(Prefix(
            runtime->Run(absl::MakeConstSpan(images.values)
                             .subspan(b * batch_size * image, batch_size * image),
                         absl::MakeSpan(activations)),
            what));
        RETURN_IF_ERROR(Prefix(observer->Observe(activations), what));
      }
    }
    ASSIGN_OR_RETURN(ranges[name], observer->ComputeRange());
  }
  return ranges;
}

absl::StatusOr<Top1Result> EvaluateTop1(const std::string& model_bytes, const std::string& source,
                                        const NormalizedImages& images, int batch_size,
                                        int num_threads) {
  // The last partial batch runs at its own batch size.
  const size_t image = static_cast<size_t>(images.channels * images.height * images.width);
  int64_t correct = 0;
  Top1Result result;
  int64_t start = 0;
  while (start < images.count) {
    const int64_t n = std::min<int64_t>(batch_size, images.count - start);
    inference::OnnxImportOptions options;
    options.batch_size = static_cast<size_t>(n);
    ASSIGN_OR_RETURN(inference::OnnxModel model,
                     inference::OnnxModel::ImportBytes(model_bytes, options, source));
    result.int8_nodes = model.stats().int8_nodes;
    ASSIGN_OR_RETURN(inference::OnnxRuntime runtime, model.Build(num_threads));
    std::vector<float> logits(runtime.output_size());
    const size_t classes = logits.size() / static_cast<size_t>(n);
    do {
      RETURN_IF_ERROR(runtime.Run(
          absl::MakeConstSpan(images.values).subspan(start * image, n * image),
          absl::MakeSpan(logits)));
      for (int64_t i = 0; i < n; ++i) {
        const float* row = logits.data() + i * classes;
        const size_t best = std::max_element(row, row + classes) - row;
        if (best == images.labels[start + i]) ++correct;
      }
      start += n;
    } while (images.count - start >= n);
  }
  result.top1_percent = images.count > 0 ? 100.0 * correct / images.count : 0.0;
  return result;
}

}  // namespace edgecompress::quantize
