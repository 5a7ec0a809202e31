#include "tools/memplan/graph_file.h"

#include <onnx/onnx_pb.h>

#include <fstream>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "memplan/json_graph.h"
#include "memplan/onnx_graph.h"

namespace edgecompress::memplan {
namespace {

absl::Status Prefixed(const std::string& path, const absl::Status& status) {
  if (absl::StartsWith(status.message(), path)) return status;
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

}  // namespace

absl::StatusOr<Graph> LoadGraphFile(const std::string& path, int64_t batch) {
  const bool is_onnx = absl::EndsWith(path, ".onnx");
  if (!is_onnx && !absl::EndsWith(path, ".json")) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": unknown graph format; the name must end in .onnx or .json"));
  }
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  // One read into a buffer of the file's size: a stringstream regrows and
  // copies, which costs a second on ResNet-18's 45 MB.
  const std::streamoff size = file.tellg();
  if (size < 0) return absl::DataLossError(absl::StrCat(path, ": cannot tell its size"));
  std::string contents(static_cast<size_t>(size), '\0');
  file.seekg(0);
  if (!file.read(contents.data(), size)) {
    return absl::DataLossError(absl::StrCat(path, ": read failed"));
  }

  absl::StatusOr<GraphSpec> spec;
  if (is_onnx) {
    onnx::ModelProto model;
    if (contents.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
        !model.ParseFromArray(contents.data(), static_cast<int>(contents.size()))) {
      return absl::DataLossError(
          absl::StrCat(path, ": not an ONNX model (protobuf ModelProto parsing failed)"));
    }
    spec = GraphSpecFromOnnx(std::move(model), {.batch = batch});
  } else {
    spec = ParseJsonGraph(contents, path);
  }
  if (!spec.ok()) return Prefixed(path, spec.status());
  absl::StatusOr<Graph> graph = Graph::Create(*spec);
  if (!graph.ok()) return Prefixed(path, graph.status());
  return graph;
}

}  // namespace edgecompress::memplan
