#include "training/onnx/torch_export.h"

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"
#include "training/onnx/onnx_file.h"

namespace edgecompress::training {

absl::StatusOr<onnx::ModelProto> ExportOnnx(const ImageClassifier& model,
                                            const OnnxExportOptions& options) {
  // Float32 CPU contiguous tensors: the module's own where they already are
  // (only read), else copies. They hold the memory the ParameterViews point
  // into until the export returns.
  std::vector<torch::Tensor> copies;
  ParameterLookup params;
  try {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& item : model.named_parameters())
      tensors.emplace_back(item.key(), item.value());
    for (const auto& item : model.named_buffers()) tensors.emplace_back(item.key(), item.value());
    copies.reserve(tensors.size());
    for (const auto& [name, tensor] : tensors) {
      if (!c10::isFloatingType(tensor.scalar_type())) continue;  // num_batches_tracked
      torch::Tensor copy = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
      copies.push_back(copy);
      params[name] = ParameterView{copy.sizes().vec(),
                                   absl::Span<const float>(copy.data_ptr<float>(), copy.numel())};
    }
  } catch (const c10::Error& error) {
    return absl::InternalError(
        absl::StrCat("cannot copy the model's tensors: ", error.what_without_backtrace()));
  }
  return ExportOnnx(model.Describe(), params, options);
}

absl::Status ExportOnnxFile(const ImageClassifier& model, absl::string_view path,
                            const OnnxExportOptions& options) {
  ASSIGN_OR_RETURN(const onnx::ModelProto onnx_model, ExportOnnx(model, options));
  return WriteOnnxFile(onnx_model, path);
}

}  // namespace edgecompress::training
