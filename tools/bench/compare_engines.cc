// compare_engines: one table comparing, in one run, our dense fp32, our
// sparse and auto engines (inference/sparse), our int8 engine and ONNX
// Runtime (npm's onnxruntime-node) on the same ONNX files: an untrained
// MobileNet-v1 pruned to each sparsity, ResNet-20 (CIFAR, 32x32) and
// PyTorch's MobileNetV2 (inference/testdata, batch 1 only: its batch is
// fixed), at each batch size and thread count.
//
//   bazel run //tools/bench:compare_engines                  # the full grid
//   bazel run //tools/bench:compare_engines -- --batch=1 --threads=1 --min_seconds=0.5
//
// How it measures: per (model, batch, threads) every engine is built once,
// warmed up, and then run in rounds; each round runs each engine `block`
// times in turn (e.g. sparse x3, ort x3, dense x3, int8 x3, auto x3), in a
// new random order per round, until every engine has min_reps runs and
// min_seconds of measured time. Blocks rather than single runs alternate,
// with an unmeasured pause before each (settle_ms; ort_settle_ms after ONNX
// Runtime's), because thread pools (ours and ONNX Runtime's) spin for a
// while after a run and would slow whichever engine comes next; the median
// is over all runs. ONNX Runtime's workers spin longest: with a 20 ms pause
// and a fixed order, the engine after it ran 1.6x slower on 2 threads. ONNX
// Runtime runs in a node
// child process (tools/bench/ort_bench.js) that times each session.run
// itself, so the pipe round trip is not counted. Ratios are medians divided:
// dense/sparse > 1 means sparse is faster; ort/dense > 1 means our dense is
// faster than ONNX Runtime.
//
// The int8 column is our int8 engine (XNNPACK QS8/QC8, onnx_import.h) on a
// QDQ version of the same model (quantization/onnx_qdq.h) whose activation
// ranges are fixed at [-8, 8] instead of calibrated: the weights are the
// untrained random ones anyway and latency does not depend on the ranges;
// accuracy is not measured here. Models with BatchNormalization nodes left
// have no int8 column.
//
// Output: the table on stderr as rows finish, the JSON result (tools/result)
// to --out or stdout. Exit codes: 0, 1 bad flags, 2 bad flag values or an
// unreadable model, 3 a build or run failed (including ONNX Runtime), 4 the
// result could not be written.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "inference/onnx_import.h"
#include "inference/sparse/random_pruned_models.h"
#include "inference/sparse/sparse_model.h"
#include "quantization/onnx_qdq.h"
#include "tools/bench/benchmark_runner.h"
#include "tools/io/atomic_file.h"
#include "tools/result/result_json.h"
#include "tools/status/status_macros.h"

extern char** environ;

ABSL_FLAG(std::string, models_dir, "",
          "Where the generated models and their int8 copies (<name>_int8.onnx) are written "
          "(kept for `bench --model`); empty: a fresh "
          "directory under $TEST_TMPDIR or /tmp.");
ABSL_FLAG(int, mobilenet_input_size, 224, "MobileNet-v1 input height and width.");
ABSL_FLAG(double, mobilenet_width, 1.0, "MobileNet-v1 width multiplier.");
ABSL_FLAG(std::string, sparsities, "0,0.7,0.8,0.9,0.95",
          "MobileNet-v1 pointwise and fc sparsities, one model each.");
ABSL_FLAG(std::string, resnet20_sparsities, "0,0.9",
          "ResNet-20 sparsities (all convolutions but the first, and the fc); empty: none.");
ABSL_FLAG(std::string, mobilenet_v2, "inference/testdata/mobilenet_v2.onnx",
          "PyTorch's MobileNetV2 (batch 1); empty: leave it out.");
ABSL_FLAG(edgecompress::bench::PositiveIntList, batch,
          (edgecompress::bench::PositiveIntList{{1, 16}}), "Batch sizes.");
ABSL_FLAG(edgecompress::bench::PositiveIntList, threads,
          (edgecompress::bench::PositiveIntList{{1, 2}}), "Thread counts.");
ABSL_FLAG(int, warmup, 3, "Untimed runs per engine before timing.");
ABSL_FLAG(int, block, 3, "Consecutive runs of one engine per round.");
ABSL_FLAG(int, settle_ms, 20,
          "Pause between blocks (not measured) so that the last engine's spinning pool "
          "threads go to sleep before the next engine runs.");
ABSL_FLAG(int, ort_settle_ms, 60,
          "Pause after ONNX Runtime's block: its worker threads spin for tens of ms after a run "
          "(with 20 ms, our dense engine measured 1.6x slower on 2 threads whenever it came "
          "next).");
ABSL_FLAG(int, min_reps, 15, "Timed runs per engine at least.");
ABSL_FLAG(double, min_seconds, 1.0, "Measured seconds per engine at least.");
ABSL_FLAG(bool, int8, true, "Measure our int8 engine on a QDQ copy of each model.");
ABSL_FLAG(bool, ort, true, "Measure ONNX Runtime (needs node).");
ABSL_FLAG(std::string, node, "node", "The node binary (looked up in PATH).");
ABSL_FLAG(std::string, ort_dir, "",
          "onnxruntime-node's package directory; empty: the runfile, else "
          "/opt/edgecompress/npm/node_modules/onnxruntime-node.");
ABSL_FLAG(std::string, ort_script, "tools/bench/ort_bench.js", "tools/bench/ort_bench.js.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the model weights and the input data.");
ABSL_FLAG(std::string, out, "", "Write the JSON result here (atomically); stdout if empty.");

namespace edgecompress {
namespace {

enum ExitCode { kExitOk = 0, kExitBadInput = 2, kExitRunFailed = 3, kExitOutputFailed = 4 };

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "compare_engines: " << status.message() << "\n";
  return code;
}

bool Exists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0;
}

absl::StatusOr<std::string> Absolute(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  std::string result(resolved);
  free(resolved);
  return result;
}

absl::StatusOr<std::vector<double>> ParseFractions(const std::string& flag,
                                                   const std::string& text) {
  std::vector<double> values;
  if (text.empty()) return values;
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    double v = 0;
    if (!absl::SimpleAtod(item, &v) || !(v >= 0.0 && v <= 1.0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, ": '", item, "' is not a fraction in [0, 1]"));
    }
    values.push_back(v);
  }
  return values;
}

// ort_bench.js in a child process, over two pipes.
class OrtProcess {
 public:
  static absl::StatusOr<std::unique_ptr<OrtProcess>> Start(const std::vector<std::string>& args) {
    int to_child[2], from_child[2];
    if (pipe(to_child) != 0 || pipe(from_child) != 0) {
      return absl::ErrnoToStatus(errno, "pipe for node");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
    posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
    posix_spawn_file_actions_addclose(&actions, to_child[1]);
    posix_spawn_file_actions_addclose(&actions, from_child[0]);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    const int error = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(to_child[0]);
    close(from_child[1]);
    if (error != 0) {
      close(to_child[1]);
      close(from_child[0]);
      return absl::ErrnoToStatus(error, absl::StrCat("cannot start ", args[0]));
    }
    auto process = std::unique_ptr<OrtProcess>(new OrtProcess(pid, to_child[1], from_child[0]));
    ASSIGN_OR_RETURN(std::string ready, process->ReadLine());
    if (ready.rfind("ready", 0) != 0) {
      return absl::InternalError(absl::StrCat("ort_bench.js said '", ready, "', not ready"));
    }
    process->version_ = ready.size() > 6 ? ready.substr(6) : "";
    return process;
  }

  ~OrtProcess() {
    close(to_child_);
    if (from_child_ != nullptr) fclose(from_child_);
    int status = 0;
    waitpid(pid_, &status, 0);
  }

  // One session.run; its time in ms as node measured it.
  absl::StatusOr<double> RunOnce() {
    static constexpr char kRun[] = "run\n";
    if (write(to_child_, kRun, sizeof(kRun) - 1) != static_cast<ssize_t>(sizeof(kRun) - 1)) {
      return absl::InternalError("ort_bench.js: cannot write to node (it exited?)");
    }
    ASSIGN_OR_RETURN(std::string line, ReadLine());
    double ms = 0;
    if (!absl::SimpleAtod(line, &ms)) {
      return absl::InternalError(absl::StrCat("ort_bench.js answered '", line, "'"));
    }
    return ms;
  }

  const std::string& version() const { return version_; }

 private:
  OrtProcess(pid_t pid, int to_child, int from_child)
      : pid_(pid), to_child_(to_child), from_child_(fdopen(from_child, "r")) {}

  absl::StatusOr<std::string> ReadLine() {
    char* line = nullptr;
    size_t capacity = 0;
    const ssize_t n = from_child_ == nullptr ? -1 : getline(&line, &capacity, from_child_);
    std::string text = n > 0 ? std::string(line, static_cast<size_t>(n)) : "";
    free(line);
    if (n <= 0) return absl::InternalError("ort_bench.js exited (its error is above)");
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }

  pid_t pid_;
  int to_child_;
  FILE* from_child_;
  std::string version_;
};

struct ModelEntry {
  std::string label;  // "mobilenet_v1_224", "resnet20_32", "mobilenet_v2"
  std::string path;
  double sparsity = 0;  // of the layers that were pruned
  bool fixed_batch = false;
};

// One engine of a grid point: a run function and its timings.
struct EngineRun {
  std::string name;
  std::function<absl::StatusOr<double>()> run_ms;
  std::vector<double> ms;
};

struct Row {
  ModelEntry model;
  int batch = 1, threads = 1;
  std::map<std::string, double> median_ms;  // engine -> median
  int sparse_layers = 0, auto_sparse_layers = 0, candidates = 0;
};

absl::StatusOr<std::vector<ModelEntry>> MakeModels(const std::string& dir) {
  std::vector<ModelEntry> models;
  ASSIGN_OR_RETURN(const std::vector<double> sparsities,
                   ParseFractions("sparsities", absl::GetFlag(FLAGS_sparsities)));
  ASSIGN_OR_RETURN(const std::vector<double> resnet_sparsities,
                   ParseFractions("resnet20_sparsities", absl::GetFlag(FLAGS_resnet20_sparsities)));
  const int size = absl::GetFlag(FLAGS_mobilenet_input_size);
  ASSIGN_OR_RETURN(
      training::LayerGraph mobilenet,
      inference::sparse::MobileNetV1Graph(
          {.input_size = size, .width_multiplier = absl::GetFlag(FLAGS_mobilenet_width)}));
  ASSIGN_OR_RETURN(training::LayerGraph resnet, inference::sparse::ResNet20Graph(32, 10));
  auto write = [&](const training::LayerGraph& graph, const std::string& label, double sparsity,
                   bool all_convs) -> absl::Status {
    inference::sparse::RandomPruneOptions options;
    options.sparsity = sparsity;
    options.prune_all_convs = all_convs;
    options.seed = absl::GetFlag(FLAGS_seed);
    ASSIGN_OR_RETURN(onnx::ModelProto model, inference::sparse::RandomPrunedModel(graph, options));
    const std::string path = absl::StrFormat("%s/%s_s%d.onnx", dir, label,
                                             static_cast<int>(std::lround(sparsity * 100)));
    RETURN_IF_ERROR(tools::WriteFileAtomically(path, model.SerializeAsString()));
    models.push_back({label, path, sparsity, false});
    return absl::OkStatus();
  };
  for (double s : sparsities)
    RETURN_IF_ERROR(write(mobilenet, absl::StrCat("mobilenet_v1_", size), s, false));
  for (double s : resnet_sparsities) RETURN_IF_ERROR(write(resnet, "resnet20_32", s, true));
  const std::string v2 = absl::GetFlag(FLAGS_mobilenet_v2);
  if (!v2.empty()) {
    if (!Exists(v2))
      return absl::NotFoundError(absl::StrCat(v2, ": no such file (--mobilenet_v2)"));
    models.push_back({"mobilenet_v2", v2, 0.0, true});
  }
  return models;
}

// Fixed [-8, 8] activation ranges: see the top of the file. The copy is
// also written to `dir` as <name>_int8.onnx, for `bench --engine=int8`.
absl::StatusOr<std::string> Int8Copy(const std::string& path, const std::string& dir) {
  onnx::ModelProto model;
  {
    std::ifstream file(path, std::ios::binary);
    if (!model.ParseFromIstream(&file))
      return absl::DataLossError(absl::StrCat(path, ": not ONNX"));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> names, quantization::ActivationsToQuantize(model));
  std::map<std::string, quantization::Range> ranges;
  for (const std::string& name : names) ranges[name] = {-8.0f, 8.0f};
  ASSIGN_OR_RETURN(onnx::ModelProto qdq,
                   quantization::QuantizeModel(model, quantization::PtqMode::kInt8, ranges));
  std::string bytes = qdq.SerializeAsString();
  std::string name(absl::StripSuffix(path.substr(path.find_last_of('/') + 1), ".onnx"));
  RETURN_IF_ERROR(tools::WriteFileAtomically(absl::StrCat(dir, "/", name, "_int8.onnx"), bytes));
  return bytes;
}

std::string TableHeader() {
  return absl::StrFormat("%-18s %5s %5s %3s %9s %9s %9s %9s %9s %8s %8s %8s %7s\n", "model",
                         "spars", "batch", "thr", "dense_ms", "sparse_ms", "auto_ms", "int8_ms",
                         "ort_ms", "dns/spr", "dns/auto", "ort/dns", "layers");
}

std::string FormatMs(const Row& row, const std::string& engine) {
  auto it = row.median_ms.find(engine);
  return it == row.median_ms.end() ? "n/a" : absl::StrFormat("%.3f", it->second);
}

std::string FormatRatio(const Row& row, const std::string& a, const std::string& b) {
  auto x = row.median_ms.find(a), y = row.median_ms.find(b);
  if (x == row.median_ms.end() || y == row.median_ms.end() || y->second <= 0) return "n/a";
  return absl::StrFormat("%.2f", x->second / y->second);
}

std::string TableRow(const Row& row) {
  return absl::StrFormat(
      "%-18s %5.2f %5d %3d %9s %9s %9s %9s %9s %8s %8s %8s %7s\n", row.model.label,
      row.model.sparsity, row.batch, row.threads, FormatMs(row, "dense"), FormatMs(row, "sparse"),
      FormatMs(row, "auto"), FormatMs(row, "int8"), FormatMs(row, "ort"),
      FormatRatio(row, "dense", "sparse"), FormatRatio(row, "dense", "auto"),
      FormatRatio(row, "ort", "dense"),
      absl::StrFormat("%d/%d/%d", row.sparse_layers, row.auto_sparse_layers, row.candidates));
}

struct Setup {
  std::string models_dir, node, ort_dir, ort_script;
};

absl::StatusOr<Row> MeasureRow(const ModelEntry& entry, int batch, int threads, const Setup& setup,
                               std::string* ort_version) {
  Row row;
  row.model = entry;
  row.batch = batch;
  row.threads = threads;
  inference::OnnxImportOptions import;
  import.batch_size = static_cast<size_t>(batch);
  ASSIGN_OR_RETURN(inference::OnnxModel dense_model,
                   inference::OnnxModel::ImportFile(entry.path, import));
  ASSIGN_OR_RETURN(inference::sparse::SparseModel sparse_model,
                   inference::sparse::SparseModel::ImportFile(entry.path, import));
  ASSIGN_OR_RETURN(inference::OnnxRuntime dense, dense_model.Build(threads));
  inference::sparse::SparseBuildOptions options;
  options.num_threads = threads;
  options.seed = absl::GetFlag(FLAGS_seed);
  options.policy = inference::sparse::SparsePolicy::kSparse;
  ASSIGN_OR_RETURN(inference::sparse::SparseRuntime sparse, sparse_model.Build(options));
  options.policy = inference::sparse::SparsePolicy::kAuto;
  ASSIGN_OR_RETURN(inference::sparse::SparseRuntime automatic, sparse_model.Build(options));
  row.candidates = static_cast<int>(sparse_model.candidates().size());
  row.sparse_layers = sparse.num_sparse_stages();
  row.auto_sparse_layers = automatic.num_sparse_stages();

  std::mt19937 rng(static_cast<uint32_t>(absl::GetFlag(FLAGS_seed)));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> input(dense.input_size());
  for (float& v : input) v = uniform(rng);
  std::vector<float> output(dense.output_size());
  auto timed = [](const std::function<absl::Status()>& f) -> absl::StatusOr<double> {
    const auto start = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(f());
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  std::vector<EngineRun> engines;
  engines.push_back(
      {"dense", [&] { return timed([&] { return dense.Run(input, absl::MakeSpan(output)); }); }});
  engines.push_back(
      {"sparse", [&] { return timed([&] { return sparse.Run(input, absl::MakeSpan(output)); }); }});
  engines.push_back({"auto", [&] {
                       return timed([&] { return automatic.Run(input, absl::MakeSpan(output)); });
                     }});

  std::optional<inference::OnnxRuntime> int8;
  if (absl::GetFlag(FLAGS_int8)) {
    absl::StatusOr<std::string> qdq = Int8Copy(entry.path, setup.models_dir);
    if (qdq.ok()) {
      ASSIGN_OR_RETURN(inference::OnnxModel int8_model,
                       inference::OnnxModel::ImportBytes(*qdq, import, entry.path + " (int8)"));
      ASSIGN_OR_RETURN(inference::OnnxRuntime runtime, int8_model.Build(threads));
      int8.emplace(std::move(runtime));
      engines.push_back({"int8", [&] {
                           return timed([&] { return int8->Run(input, absl::MakeSpan(output)); });
                         }});
    } else {
      std::cerr << "compare_engines: no int8 column for " << entry.path << ": "
                << qdq.status().message() << "\n";
    }
  }
  std::unique_ptr<OrtProcess> ort;
  if (absl::GetFlag(FLAGS_ort) && !(entry.fixed_batch && batch != 1)) {
    std::vector<size_t> dims(dense_model.input_shape().begin(), dense_model.input_shape().end());
    ASSIGN_OR_RETURN(ort,
                     OrtProcess::Start({setup.node, setup.ort_script, setup.ort_dir, entry.path,
                                        absl::StrJoin(dims, ","), absl::StrCat(threads)}));
    *ort_version = ort->version();
    engines.push_back({"ort", [&] { return ort->RunOnce(); }});
  }

  const int warmup = absl::GetFlag(FLAGS_warmup), block = std::max(1, absl::GetFlag(FLAGS_block));
  const int min_reps = absl::GetFlag(FLAGS_min_reps);
  const int settle_ms = std::max(0, absl::GetFlag(FLAGS_settle_ms));
  const int ort_settle_ms = std::max(settle_ms, absl::GetFlag(FLAGS_ort_settle_ms));
  const double min_ms = absl::GetFlag(FLAGS_min_seconds) * 1e3;
  for (EngineRun& e : engines) {
    for (int i = 0; i < warmup; ++i) RETURN_IF_ERROR(e.run_ms().status());
  }
  auto done = [&] {
    for (const EngineRun& e : engines) {
      double total = 0;
      for (double v : e.ms) total += v;
      if (static_cast<int>(e.ms.size()) < min_reps || total < min_ms) return false;
    }
    return true;
  };
  // Each round runs the engines in a fresh random order, so that none
  // always follows the same one.
  std::vector<size_t> order(engines.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::mt19937 shuffle_rng(static_cast<uint32_t>(absl::GetFlag(FLAGS_seed)));
  bool after_ort = false;
  while (!done()) {
    std::shuffle(order.begin(), order.end(), shuffle_rng);
    for (size_t k : order) {
      EngineRun& e = engines[k];
      std::this_thread::sleep_for(std::chrono::milliseconds(after_ort ? ort_settle_ms : settle_ms));
      after_ort = e.name == "ort";
      for (int i = 0; i < block; ++i) {
        absl::StatusOr<double> ms = e.run_ms();
        if (!ms.ok()) {
          return absl::Status(ms.status().code(),
                              absl::StrCat(entry.path, " (", e.name, "): ", ms.status().message()));
        }
        e.ms.push_back(*ms);
      }
    }
  }
  for (const EngineRun& e : engines) {
    ASSIGN_OR_RETURN(bench::LatencyStats stats, bench::ComputeLatencyStats(e.ms));
    row.median_ms[e.name] = stats.median_ms;
  }
  return row;
}

std::map<std::string, std::string> FlagValues() {
  return {{"sparsities", absl::GetFlag(FLAGS_sparsities)},
          {"resnet20_sparsities", absl::GetFlag(FLAGS_resnet20_sparsities)},
          {"mobilenet_input_size", absl::StrCat(absl::GetFlag(FLAGS_mobilenet_input_size))},
          {"mobilenet_width", absl::StrCat(absl::GetFlag(FLAGS_mobilenet_width))},
          {"batch", bench::AbslUnparseFlag(absl::GetFlag(FLAGS_batch))},
          {"threads", bench::AbslUnparseFlag(absl::GetFlag(FLAGS_threads))},
          {"block", absl::StrCat(absl::GetFlag(FLAGS_block))},
          {"settle_ms", absl::StrCat(absl::GetFlag(FLAGS_settle_ms))},
          {"ort_settle_ms", absl::StrCat(absl::GetFlag(FLAGS_ort_settle_ms))},
          {"min_reps", absl::StrCat(absl::GetFlag(FLAGS_min_reps))},
          {"min_seconds", absl::StrCat(absl::GetFlag(FLAGS_min_seconds))}};
}

int Run() {
  std::string dir = absl::GetFlag(FLAGS_models_dir);
  if (dir.empty()) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    std::string pattern = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/compare_engines.XXXXXX");
    if (mkdtemp(pattern.data()) == nullptr) {
      return Fail(kExitOutputFailed, absl::ErrnoToStatus(errno, "mkdtemp " + pattern));
    }
    dir = pattern;
  } else if (!Exists(dir)) {
    return Fail(kExitBadInput, absl::NotFoundError(absl::StrCat(dir, ": no such directory")));
  }
  Setup setup;
  setup.models_dir = dir;
  setup.node = absl::GetFlag(FLAGS_node);
  if (absl::GetFlag(FLAGS_ort)) {
    std::string ort_dir = absl::GetFlag(FLAGS_ort_dir);
    if (ort_dir.empty()) {
      ort_dir = "../onnxruntime_node/node_modules/onnxruntime-node";
      if (!Exists(ort_dir)) ort_dir = "/opt/edgecompress/npm/node_modules/onnxruntime-node";
    }
    absl::StatusOr<std::string> abs_dir = Absolute(ort_dir);
    absl::StatusOr<std::string> script = Absolute(absl::GetFlag(FLAGS_ort_script));
    if (!abs_dir.ok()) return Fail(kExitBadInput, abs_dir.status());
    if (!script.ok()) return Fail(kExitBadInput, script.status());
    setup.ort_dir = *abs_dir;
    setup.ort_script = *script;
  }
  absl::StatusOr<std::vector<ModelEntry>> models = MakeModels(dir);
  if (!models.ok()) return Fail(kExitBadInput, models.status());
  std::cerr << "models in " << dir << "; machine load shared with other processes: compare "
            << "ratios within a row, not absolute ms across runs\n"
            << "layers = sparse engine's sparse layers / auto's / candidates\n"
            << TableHeader() << std::flush;

  nlohmann::json result =
      tools::NewResult("compare_engines", absl::GetFlag(FLAGS_seed), FlagValues());
  result["rows"] = nlohmann::json::array();
  std::string ort_version;
  for (const ModelEntry& entry : *models) {
    for (int batch : absl::GetFlag(FLAGS_batch).values) {
      if (entry.fixed_batch && batch != 1) continue;
      for (int threads : absl::GetFlag(FLAGS_threads).values) {
        absl::StatusOr<Row> row = MeasureRow(entry, batch, threads, setup, &ort_version);
        if (!row.ok()) return Fail(kExitRunFailed, row.status());
        std::cerr << TableRow(*row) << std::flush;
        nlohmann::json json = {{"model", entry.label},
                               {"path", entry.path},
                               {"sparsity", entry.sparsity},
                               {"batch_size", batch},
                               {"threads", threads},
                               {"candidate_layers", row->candidates},
                               {"sparse_layers", row->sparse_layers},
                               {"auto_sparse_layers", row->auto_sparse_layers}};
        for (const auto& [engine, ms] : row->median_ms) json["median_ms"][engine] = ms;
        result["rows"].push_back(json);
      }
    }
  }
  result["onnxruntime_version"] = ort_version;
  result["activation_ranges_int8"] = "fixed [-8, 8], not calibrated (latency only)";
  if (absl::Status status = tools::WriteResult(absl::GetFlag(FLAGS_out), result);
      !status.ok()) {
    return Fail(kExitOutputFailed, status);
  }
  return kExitOk;
}

}  // namespace
}  // namespace edgecompress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Compares our dense, sparse, auto and int8 engines with ONNX Runtime (onnxruntime-node)\n"
      "on pruned MobileNet-v1, ResNet-20 and MobileNetV2, interleaved in one run.\n"
      "Example: bazel run //tools/bench:compare_engines -- --batch=1 --threads=1,2\n"
      "Exit codes: 0 success, 1 bad flags, 2 bad flag values or an unreadable model, 3 a build\n"
      "or run failed, 4 the result could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::Run();
}
