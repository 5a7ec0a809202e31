// Reading and writing .onnx files: a serialized onnx::ModelProto.
//
// Kept apart from onnx_export.h so that the exporter stays free of files.
// WriteOnnxFile is atomic: it writes "<path>.tmp.<pid>", fsyncs it and
// renames it over `path`, so a reader sees the old file or the whole new one,
// never a torn write (the directory itself is not fsynced). Errors are one
// line naming the path, with the code that errno maps to (kNotFound for a
// missing directory, kPermissionDenied, ...).
#ifndef EDGECOMPRESS_TRAINING_ONNX_ONNX_FILE_H_
#define EDGECOMPRESS_TRAINING_ONNX_ONNX_FILE_H_

#include <onnx/onnx_pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgecompress::training {

// kInvalidArgument for a model over protobuf's 2 GiB limit; errno's code for
// a failed create, write, fsync or rename (the temporary file is removed).
absl::Status WriteOnnxFile(const onnx::ModelProto& model, absl::string_view path);

// errno's code when `path` cannot be read; kDataLoss when it does not parse
// as a ModelProto with a graph.
absl::StatusOr<onnx::ModelProto> ReadOnnxFile(absl::string_view path);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_ONNX_ONNX_FILE_H_
