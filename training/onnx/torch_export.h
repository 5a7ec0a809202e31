// LibTorch adapter of the ONNX exporter: an ImageClassifier to an ONNX model.
//
// Gathers the module's named_parameters() and named_buffers() as contiguous
// float32 CPU tensors, copying only those that are not already; buffers that
// are not floating point (BatchNorm's num_batches_tracked) are skipped. Then
// it calls the framework-free ExportOnnx (onnx_export.h) on model.Describe().
//
// BatchNorm: the export always uses the running statistics, i.e. the model's
// eval() semantics. A module left in train() mode exports exactly what it
// would export in eval() mode, but its own forward() then normalises with
// batch statistics and computes a different function; compare outputs with
// the module in eval() mode. The module's mode is neither read nor changed.
//
// These are the only ONNX files that include LibTorch. Public functions
// catch c10::Error and return kInternal with its message.
#ifndef EDGECOMPRESS_TRAINING_ONNX_TORCH_EXPORT_H_
#define EDGECOMPRESS_TRAINING_ONNX_TORCH_EXPORT_H_

#include <onnx/onnx_pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "training/models/classifier.h"
#include "training/onnx/onnx_export.h"

namespace edgecompress::training {

// ExportOnnx(model.Describe(), <model's tensors>, options): its errors, or
// kInternal for a LibTorch error while copying tensors.
absl::StatusOr<onnx::ModelProto> ExportOnnx(const ImageClassifier& model,
                                            const OnnxExportOptions& options = {});

// ExportOnnx, then WriteOnnxFile(path) (onnx_file.h): atomic, errors name the path.
absl::Status ExportOnnxFile(const ImageClassifier& model, absl::string_view path,
                            const OnnxExportOptions& options = {});

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_ONNX_TORCH_EXPORT_H_
