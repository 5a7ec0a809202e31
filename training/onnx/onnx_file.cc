#include "training/onnx/onnx_file.h"


#include <cerrno>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "tools/io/atomic_file.h"

namespace edgecompress::training {
namespace {

absl::Status ErrnoError(absl::string_view path, absl::string_view what) {
  return absl::ErrnoToStatus(errno, absl::StrCat(path, ": ", what));
}

}  // namespace

absl::Status WriteOnnxFile(const onnx::ModelProto& model, absl::string_view path) {
  const size_t bytes = model.ByteSizeLong();
  if (bytes > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": model is ", bytes, " bytes, over protobuf's 2 GiB limit for one message"));
  }
  std::string text;
  if (!model.SerializeToString(&text)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": model does not serialize"));
  }
  return tools::WriteFileAtomically(path, text);
}

absl::StatusOr<onnx::ModelProto> ReadOnnxFile(absl::string_view path) {
  const std::string name(path);
  std::ifstream file(name, std::ios::binary);
  if (!file) return ErrnoError(path, "cannot open");
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad()) return ErrnoError(path, "read failed");
  onnx::ModelProto model;
  // An empty or truncated file can parse as a ModelProto; a model has a graph.
  if (!model.ParseFromString(bytes.str()) || !model.has_graph()) {
    return absl::DataLossError(absl::StrCat(path, ": not a serialized ONNX model"));
  }
  return model;
}

}  // namespace edgecompress::training
