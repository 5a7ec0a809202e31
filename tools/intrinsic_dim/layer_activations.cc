#include "tools/intrinsic_dim/layer_activations.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"
#include "tools/status/status_macros.h"

namespace edgecompress::intrinsic_dim_tool {
namespace {

absl::Status Prefix(const absl::Status& status, const std::string& what) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

}  // namespace

absl::StatusOr<std::vector<LayerActivations>> CollectLayerActivations(
    const onnx::ModelProto& model, absl::Span<const float> images, int64_t num_images,
    int batch_size, int num_threads) {
  if (batch_size < 1 || num_images < batch_size || num_images % batch_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat(num_images, " images are not whole batches of ",
                                                   batch_size));
  }
  const onnx::GraphProto& graph = model.graph();
  std::map<std::string, int64_t> initializer_elements;
  for (const onnx::TensorProto& tensor : graph.initializer()) {
    int64_t elements = 1;
    for (int64_t dim : tensor.dims()) elements *= dim;
    initializer_elements[tensor.name()] = elements;
  }
  std::map<std::string, std::vector<const onnx::NodeProto*>> consumers;
  for (const onnx::NodeProto& node : graph.node()) {
    for (const std::string& input : node.input()) consumers[input].push_back(&node);
  }

  std::vector<LayerActivations> layers;
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.op_type() != "Conv" && node.op_type() != "Gemm" && node.op_type() != "MatMul") {
      continue;
    }
    if (node.output_size() < 1) continue;
    LayerActivations layer;
    layer.op = node.op_type();
    layer.layer = node.name().empty() ? node.output(0) : node.name();
    for (const std::string& input : node.input()) {
      if (auto it = initializer_elements.find(input); it != initializer_elements.end()) {
        layer.parameters += it->second;
      }
    }
    layer.value = node.output(0);
    for (;;) {
      const auto it = consumers.find(layer.value);
      if (it == consumers.end() || it->second.size() != 1) break;
      const onnx::NodeProto& next = *it->second.front();
      if (next.op_type() != "BatchNormalization" && next.op_type() != "Relu" &&
          next.op_type() != "Clip") {
        break;
      }
      layer.value = next.output(0);
    }
    layers.push_back(std::move(layer));
  }
  if (layers.empty()) {
    return absl::InvalidArgumentError("the model has no Conv, Gemm or MatMul layer");
  }

  for (LayerActivations& layer : layers) {
    const std::string what = absl::StrCat("layer '", layer.layer, "'");
    onnx::ModelProto truncated = model;
    onnx::ValueInfoProto* output = truncated.mutable_graph()->mutable_output(0);
    output->Clear();
    output->set_name(layer.value);
    inference::OnnxImportOptions options;
    options.batch_size = static_cast<size_t>(batch_size);
    absl::StatusOr<inference::OnnxModel> imported = inference::OnnxModel::ImportBytes(
        truncated.SerializeAsString(), options, absl::StrCat("model up to '", layer.value, "'"));
    RETURN_IF_ERROR(Prefix(imported.status(), what));
    absl::StatusOr<inference::OnnxRuntime> runtime = imported->Build(num_threads);
    RETURN_IF_ERROR(Prefix(runtime.status(), what));
    const size_t image = runtime->input_size() / static_cast<size_t>(batch_size);
    if (images.size() != image * static_cast<size_t>(num_images)) {
      return absl::InvalidArgumentError(absl::StrCat(images.size(), " input values are not ",
                                                     num_images, " images of ", image));
    }
    const size_t per_batch = runtime->output_size();
    layer.values.resize(per_batch * static_cast<size_t>(num_images / batch_size));
    for (int64_t b = 0; b < num_images / batch_size; ++b) {
      RETURN_IF_ERROR(Prefix(
          runtime->Run(images.subspan(b * batch_size * image, batch_size * image),
                       absl::MakeSpan(layer.values).subspan(b * per_batch, per_batch)),
          what));
    }
    layer.shape.assign(runtime->output_shape().begin(), runtime->output_shape().end());
    layer.shape[0] = static_cast<size_t>(num_images);
  }
  return layers;
}

}  // namespace edgecompress::intrinsic_dim_tool
