#include "training/onnx/onnx_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"

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
  const std::string target(path);
  const std::string temporary = absl::StrCat(target, ".tmp.", getpid());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(path, "cannot create");
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const absl::Status status = ErrnoError(path, "write failed");
      close(fd);
      unlink(temporary.c_str());
      return status;
    }
    written += static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave `path` naming an empty file.
  if (fsync(fd) != 0) {
    const absl::Status status = ErrnoError(path, "fsync failed");
    close(fd);
    unlink(temporary.c_str());
    return status;
  }
  if (close(fd) != 0) {
    const absl::Status status = ErrnoError(path, "close failed");
    unlink(temporary.c_str());
    return status;
  }
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    const absl::Status status = ErrnoError(path, "rename failed");
    unlink(temporary.c_str());
    return status;
  }
  return absl::OkStatus();
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
