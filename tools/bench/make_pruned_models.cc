// make_pruned_models: writes untrained MobileNet-v1 or ResNet-20 ONNX files
// whose prunable weights are magnitude-pruned to each requested sparsity
// (inference/sparse/random_pruned_models.h), for `bench --engine=sparse` and
// //tools/bench:compare_engines. Files are <out_dir>/<model>_<input>_s<pct>.onnx,
// e.g. mobilenet_v1_224_s90.onnx; one line per file on stderr.
#include <cmath>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "inference/sparse/random_pruned_models.h"
#include "tools/io/atomic_file.h"

ABSL_FLAG(std::string, out_dir, "", "Directory for the .onnx files (must exist).");
ABSL_FLAG(std::string, model, "mobilenet_v1", "mobilenet_v1 or resnet20.");
ABSL_FLAG(int, input_size, 224, "Input height and width (mobilenet_v1 >= 32, resnet20 >= 8).");
ABSL_FLAG(double, width, 1.0, "MobileNet-v1 width multiplier in (0, 4].");
ABSL_FLAG(int, num_classes, 1000, "Classes of the final fully connected layer.");
ABSL_FLAG(std::string, sparsities, "0,0.7,0.8,0.9,0.95",
          "Comma-separated fractions in [0, 1]: one model each.");
ABSL_FLAG(bool, prune_all_convs, false,
          "Also prune every non-depthwise convolution but the first (resnet20: the 3x3 ones).");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the random weights.");

namespace edgecompress {
namespace {

constexpr int kExitBadInput = 2, kExitOutputFailed = 4;

int Fail(int code, const absl::Status& status) {
  std::cerr << "make_pruned_models: " << status.message() << "\n";
  return code;
}

int Run() {
  const std::string out_dir = absl::GetFlag(FLAGS_out_dir);
  if (out_dir.empty())
    return Fail(kExitBadInput, absl::InvalidArgumentError("--out_dir is required"));
  std::vector<double> sparsities;
  for (absl::string_view item : absl::StrSplit(absl::GetFlag(FLAGS_sparsities), ',')) {
    double s = 0;
    if (!absl::SimpleAtod(item, &s) || !(s >= 0.0 && s <= 1.0)) {
      return Fail(kExitBadInput, absl::InvalidArgumentError(absl::StrCat(
                                     "--sparsities: '", item, "' is not a fraction in [0, 1]")));
    }
    sparsities.push_back(s);
  }
  const std::string name = absl::GetFlag(FLAGS_model);
  const int input_size = absl::GetFlag(FLAGS_input_size);
  absl::StatusOr<training::LayerGraph> graph = absl::InvalidArgumentError(
      absl::StrCat("--model: '", name, "' is not mobilenet_v1 or resnet20"));
  if (name == "mobilenet_v1") {
    graph = inference::sparse::MobileNetV1Graph({.input_size = input_size,
                                                 .width_multiplier = absl::GetFlag(FLAGS_width),
                                                 .num_classes = absl::GetFlag(FLAGS_num_classes)});
  } else if (name == "resnet20") {
    graph = inference::sparse::ResNet20Graph(input_size, absl::GetFlag(FLAGS_num_classes));
  }
  if (!graph.ok()) return Fail(kExitBadInput, graph.status());
  for (double sparsity : sparsities) {
    inference::sparse::RandomPruneOptions options;
    options.sparsity = sparsity;
    options.prune_all_convs = absl::GetFlag(FLAGS_prune_all_convs);
    options.seed = absl::GetFlag(FLAGS_seed);
    absl::StatusOr<onnx::ModelProto> model = inference::sparse::RandomPrunedModel(*graph, options);
    if (!model.ok()) return Fail(kExitBadInput, model.status());
    const std::string path = absl::StrCat(out_dir, "/", name, "_", input_size, "_s",
                                          static_cast<int>(std::lround(sparsity * 100)), ".onnx");
    if (absl::Status status = tools::WriteFileAtomically(path, model->SerializeAsString());
        !status.ok()) {
      return Fail(kExitOutputFailed, status);
    }
    std::cerr << path << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace edgecompress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes untrained, magnitude-pruned MobileNet-v1 or ResNet-20 ONNX models, one per\n"
      "sparsity. Example: bazel run //tools/bench:make_pruned_models -- --out_dir=/tmp/m "
      "--model=mobilenet_v1 --input_size=224 --sparsities=0,0.9\n"
      "Exit codes: 0 success, 1 bad flags, 2 flag values that make no sense, 4 a file could\n"
      "not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::Run();
}
