#include "tools/bench/benchmark_runner.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"
#include "onnx/onnx_pb.h"
#include "tools/status/status_macros.h"

namespace edgecompress::bench {
namespace {

constexpr int kMaxListValue = 4096;  // batch sizes and thread counts

double Milliseconds(double seconds) { return seconds * 1000.0; }

}  // namespace

// --- Flags ----------------------------------------------------------------

const char* EngineName(Engine engine) {
  switch (engine) {
    case Engine::kDense:
      return "dense";
    case Engine::kSparse:
      return "sparse";
    case Engine::kInt8:
      return "int8";
    case Engine::kAuto:
      return "auto";
  }
  return "unknown";
}

bool AbslParseFlag(absl::string_view text, EngineList* list, std::string* error) {
  list->engines.clear();
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    bool found = false;
    for (Engine engine : {Engine::kDense, Engine::kSparse, Engine::kInt8, Engine::kAuto}) {
      if (item == EngineName(engine)) {
        list->engines.push_back(engine);
        found = true;
      }
    }
    if (!found) {
      *error = absl::StrCat("'", item, "' is not an engine (dense, sparse, int8, auto)");
      return false;
    }
  }
  return true;
}

std::string AbslUnparseFlag(const EngineList& list) {
  std::vector<std::string> names;
  for (Engine engine : list.engines) names.push_back(EngineName(engine));
  return absl::StrJoin(names, ",");
}

bool AbslParseFlag(absl::string_view text, PositiveIntList* list, std::string* error) {
  list->values.clear();
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    int value = 0;
    if (!absl::SimpleAtoi(item, &value) || value < 1 || value > kMaxListValue) {
      *error = absl::StrCat("'", item, "' is not an integer in [1, ", kMaxListValue, "]");
      return false;
    }
    list->values.push_back(value);
  }
  return true;
}

std::string AbslUnparseFlag(const PositiveIntList& list) { return absl::StrJoin(list.values, ","); }

bool UsesSparseModel(Engine engine) { return engine == Engine::kSparse || engine == Engine::kAuto; }

// --- Statistics -------------------------------------------------------------

double Percentile(absl::Span<const double> sorted, double p) {
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  const double fraction = rank - static_cast<double>(below);
  return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

absl::StatusOr<LatencyStats> ComputeLatencyStats(absl::Span<const double> samples_ms) {
  if (samples_ms.empty()) return absl::InvalidArgumentError("latency statistics of no samples");
  std::vector<double> sorted(samples_ms.begin(), samples_ms.end());
  double sum = 0.0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!std::isfinite(sorted[i])) {
      return absl::InvalidArgumentError(
          absl::StrFormat("latency sample %d is %g, not finite", i, sorted[i]));
    }
    sum += sorted[i];
  }
  std::sort(sorted.begin(), sorted.end());
  LatencyStats stats;
  stats.count = sorted.size();
  stats.mean_ms = sum / static_cast<double>(sorted.size());
  double squares = 0.0;
  for (double v : sorted) squares += (v - stats.mean_ms) * (v - stats.mean_ms);
  stats.stdev_ms =
      sorted.size() > 1 ? std::sqrt(squares / static_cast<double>(sorted.size() - 1)) : 0.0;
  stats.median_ms = Percentile(sorted, 50);
  stats.p90_ms = Percentile(sorted, 90);
  stats.p99_ms = Percentile(sorted, 99);
  stats.min_ms = sorted.front();
  stats.max_ms = sorted.back();
  return stats;
}

// --- Measuring --------------------------------------------------------------

double SteadyClock::NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

absl::Status ValidatePolicy(const RepetitionPolicy& policy) {
  if (policy.warmup_runs < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("warm-up runs %d must not be negative", policy.warmup_runs));
  }
  if (policy.min_reps < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("min_reps %d must be at least 1", policy.min_reps));
  }
  if (!std::isfinite(policy.min_seconds) || policy.min_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("min_seconds %g must be finite and not negative", policy.min_seconds));
  }
  if (policy.max_reps < policy.min_reps) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max_reps %d is below min_reps %d", policy.max_reps, policy.min_reps));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::vector<double>>> MeasureInterleaved(
    absl::Span<const std::function<absl::Status()>> runs, const RepetitionPolicy& policy,
    Clock& clock) {
  RETURN_IF_ERROR(ValidatePolicy(policy));
  for (int i = 0; i < policy.warmup_runs; ++i) {
    for (const auto& run : runs) RETURN_IF_ERROR(run());
  }
  std::vector<std::vector<double>> latencies_ms(runs.size());
  std::vector<double> measured_seconds(runs.size(), 0.0);
  auto satisfied = [&](size_t k) {
    const int count = static_cast<int>(latencies_ms[k].size());
    return count >= policy.max_reps ||
           (count >= policy.min_reps && measured_seconds[k] >= policy.min_seconds);
  };
  while (true) {
    bool all = true;
    for (size_t k = 0; k < runs.size(); ++k) all = all && satisfied(k);
    if (all) break;
    // One repetition of every model per round, even of those already done,
    // so that the interleaving stays A, B, A, B to the end.
    for (size_t k = 0; k < runs.size(); ++k) {
      if (static_cast<int>(latencies_ms[k].size()) >= policy.max_reps) continue;
      const double start = clock.NowSeconds();
      RETURN_IF_ERROR(runs[k]());
      const double elapsed = clock.NowSeconds() - start;
      latencies_ms[k].push_back(Milliseconds(elapsed));
      measured_seconds[k] += elapsed;
    }
  }
  return latencies_ms;
}

// --- Models and grid points -----------------------------------------------

namespace {

// The model's bytes with its image input resized to input_size x input_size.
absl::StatusOr<std::string> ResizedModel(const std::string& path, size_t input_size) {
  std::ifstream file(path, std::ios::binary);
  onnx::ModelProto model;
  if (!file || !model.ParseFromIstream(&file)) {
    return absl::DataLossError(absl::StrCat(path, ": not an ONNX model"));
  }
  onnx::GraphProto& graph = *model.mutable_graph();
  std::set<std::string> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) initializers.insert(t.name());
  for (onnx::ValueInfoProto& input : *graph.mutable_input()) {
    if (initializers.count(input.name()) > 0) continue;  // IR < 4 lists them as inputs
    onnx::TensorShapeProto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() != 4) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: --input_size needs an image input [N, C, H, W]; '%s' has rank %d",
                          path, input.name(), shape->dim_size()));
    }
    for (int d : {2, 3}) shape->mutable_dim(d)->set_dim_value(static_cast<int64_t>(input_size));
  }
  graph.clear_value_info();  // the exporter's shapes were for the old size
  return model.SerializeAsString();
}

}  // namespace

absl::StatusOr<LoadedModel> LoadModel(const std::string& path, size_t batch_size, Clock& clock,
                                      bool with_sparse, size_t input_size) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  inference::OnnxImportOptions options;
  options.batch_size = batch_size;
  const double start = clock.NowSeconds();
  std::string bytes;
  if (input_size > 0) {
    ASSIGN_OR_RETURN(bytes, ResizedModel(path, input_size));
  } else {
    std::ifstream file(path, std::ios::binary);
    std::stringstream content;
    content << file.rdbuf();
    bytes = content.str();
  }
  // A model that fixes its spatial size somewhere (a Reshape, a Gemm after a
  // Flatten) fails to import at another size; the message says where.
  const std::string source =
      input_size > 0 ? absl::StrCat(path, " at input size ", input_size) : path;
  ASSIGN_OR_RETURN(inference::OnnxModel model,
                   inference::OnnxModel::ImportBytes(bytes, options, source));
  std::shared_ptr<const inference::sparse::SparseModel> sparse;
  if (with_sparse) {
    ASSIGN_OR_RETURN(inference::sparse::SparseModel s,
                     inference::sparse::SparseModel::ImportBytes(bytes, options, source));
    sparse = std::make_shared<const inference::sparse::SparseModel>(std::move(s));
  }
  const double import_ms = Milliseconds(clock.NowSeconds() - start);
  return LoadedModel{path, static_cast<int64_t>(info.st_size), import_ms, std::move(model),
                     std::move(sparse)};
}

namespace {

// One of the two runtimes, by engine, with its input and output buffers.
struct Prepared {
  std::optional<inference::OnnxRuntime> dense;
  std::optional<inference::sparse::SparseRuntime> sparse;
  std::vector<float> input, output;
  absl::Status Run() {
    return dense.has_value() ? dense->Run(input, absl::MakeSpan(output))
                             : sparse->Run(input, absl::MakeSpan(output));
  }
};

absl::StatusOr<Prepared> Prepare(const LoadedModel& m, const PointConfig& config, Clock& clock) {
  Prepared p;
  if (UsesSparseModel(config.engine)) {
    if (m.sparse == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          m.path, ": --engine=", EngineName(config.engine), " needs LoadModel(with_sparse)"));
    }
    inference::sparse::SparseBuildOptions options;
    options.num_threads = config.num_threads;
    options.policy = config.engine == Engine::kSparse ? inference::sparse::SparsePolicy::kSparse
                                                      : inference::sparse::SparsePolicy::kAuto;
    options.seed = config.seed;
    options.clock_seconds = [&clock] { return clock.NowSeconds(); };
    absl::StatusOr<inference::sparse::SparseRuntime> runtime = m.sparse->Build(options);
    if (!runtime.ok()) {
      return absl::Status(runtime.status().code(),
                          absl::StrCat(m.path, ": ", runtime.status().message()));
    }
    p.sparse.emplace(*std::move(runtime));
    p.input.resize(p.sparse->input_size());
    p.output.resize(p.sparse->output_size());
  } else {
    absl::StatusOr<inference::OnnxRuntime> runtime = m.model.Build(config.num_threads);
    if (!runtime.ok()) {
      return absl::Status(runtime.status().code(),
                          absl::StrCat(m.path, ": ", runtime.status().message()));
    }
    p.dense.emplace(*std::move(runtime));
    p.input.resize(p.dense->input_size());
    p.output.resize(p.dense->output_size());
  }
  return p;
}

}  // namespace

absl::StatusOr<std::vector<float>> RunOnce(const LoadedModel& model, const PointConfig& config,
                                           absl::Span<const float> input, Clock& clock) {
  ASSIGN_OR_RETURN(Prepared p, Prepare(model, config, clock));
  if (input.size() != p.input.size()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: the input has %d values, the model takes %d", model.path, input.size(),
                        p.input.size()));
  }
  std::copy(input.begin(), input.end(), p.input.begin());
  RETURN_IF_ERROR(p.Run());
  return std::move(p.output);
}

absl::StatusOr<PointResult> MeasurePoint(absl::Span<const LoadedModel* const> models,
                                         const PointConfig& config, Clock& clock) {
  RETURN_IF_ERROR(ValidatePolicy(config.policy));
  if (models.empty()) return absl::InvalidArgumentError("no model to measure");
  if (config.num_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("num_threads %d must be at least 1", config.num_threads));
  }
  PointResult point;
  point.batch_size = models[0]->model.input_shape()[0];
  point.num_threads = config.num_threads;
  point.engine = config.engine;
  point.warmup_runs = config.policy.warmup_runs;

  // The peak of this point: building and running, models already resident.
  point.peak_rss_per_point = ResetPeakRss();
  if (absl::StatusOr<MemoryUsage> before = ReadMemoryUsage(); before.ok()) {
    point.rss_before_bytes = before->rss_bytes;
  }

  std::vector<Prepared> prepared;
  prepared.reserve(models.size());
  std::mt19937 rng(static_cast<std::mt19937::result_type>(config.seed));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (const LoadedModel* m : models) {
    ModelMeasurement measurement;
    measurement.path = m->path;
    measurement.file_bytes = m->file_bytes;
    measurement.import_ms = m->import_ms;
    measurement.input_shape.assign(m->model.input_shape().begin(), m->model.input_shape().end());
    measurement.output_shape.assign(m->model.output_shape().begin(), m->model.output_shape().end());
    const double start = clock.NowSeconds();
    ASSIGN_OR_RETURN(Prepared p, Prepare(*m, config, clock));
    if (p.sparse.has_value()) {
      measurement.spmm_kernel = p.sparse->kernel_name();
      measurement.sparse_candidates = static_cast<int>(m->sparse->candidates().size());
      const auto decisions = p.sparse->decisions();
      measurement.decisions.assign(decisions.begin(), decisions.end());
    }
    measurement.build_ms = Milliseconds(clock.NowSeconds() - start);
    for (float& v : p.input) v = uniform(rng);
    prepared.push_back(std::move(p));
    point.models.push_back(std::move(measurement));
  }

  std::vector<std::function<absl::Status()>> runs;
  for (size_t k = 0; k < prepared.size(); ++k) {
    runs.push_back([&prepared, &models, k]() -> absl::Status {
      absl::Status status = prepared[k].Run();
      if (!status.ok()) {
        return absl::Status(status.code(), absl::StrCat(models[k]->path, ": ", status.message()));
      }
      return status;
    });
  }
  ASSIGN_OR_RETURN(const std::vector<std::vector<double>> latencies,
                   MeasureInterleaved(runs, config.policy, clock));
  for (size_t k = 0; k < prepared.size(); ++k) {
    ModelMeasurement& measurement = point.models[k];
    ASSIGN_OR_RETURN(measurement.latency, ComputeLatencyStats(latencies[k]));
    const double batch = static_cast<double>(measurement.input_shape[0]);
    measurement.items_per_second =
        measurement.latency.mean_ms > 0 ? batch * 1000.0 / measurement.latency.mean_ms : 0.0;
    measurement.hit_max_reps = static_cast<int>(latencies[k].size()) >= config.policy.max_reps;
  }
  if (point.models.size() > 1 && point.models[0].latency.median_ms > 0) {
    point.speedup = point.models[1].latency.median_ms / point.models[0].latency.median_ms;
  }
  if (absl::StatusOr<MemoryUsage> after = ReadMemoryUsage(); after.ok()) {
    point.peak_rss_bytes = after->peak_rss_bytes;
  }
  return point;
}

// --- Memory -----------------------------------------------------------------

absl::StatusOr<MemoryUsage> ReadMemoryUsage() {
  std::ifstream status("/proc/self/status");
  if (!status) return absl::UnavailableError("/proc/self/status: cannot open");
  MemoryUsage usage;
  bool rss = false, peak = false;
  std::string line;
  while (std::getline(status, line)) {
    // "VmHWM:     12345 kB"
    for (auto [key, field, found] : {std::tuple("VmRSS:", &usage.rss_bytes, &rss),
                                     std::tuple("VmHWM:", &usage.peak_rss_bytes, &peak)}) {
      if (absl::StartsWith(line, key)) {
        std::istringstream fields(line.substr(std::string(key).size()));
        int64_t kilobytes = 0;
        if (fields >> kilobytes) {
          *field = kilobytes * 1024;
          *found = true;
        }
      }
    }
  }
  if (!rss || !peak) return absl::UnavailableError("/proc/self/status: no VmRSS or VmHWM");
  return usage;
}

bool ResetPeakRss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  if (!clear_refs) return false;
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

// --- Reporting ----------------------------------------------------------------

std::string FormatTableHeader() {
  return absl::StrFormat("%-28s %5s %7s %6s %6s %9s %9s %9s %9s %9s %8s %10s %8s %8s\n", "model",
                         "batch", "threads", "engine", "reps", "mean ms", "median", "p90", "p99",
                         "min", "stdev", "items/s", "peak MB", "speedup");
}

std::string FormatTableRows(const PointResult& point) {
  std::string rows;
  for (size_t k = 0; k < point.models.size(); ++k) {
    const ModelMeasurement& m = point.models[k];
    std::string name = m.path.substr(m.path.find_last_of('/') + 1);
    if (name.size() > 28) name = "..." + name.substr(name.size() - 25);
    const std::string speedup =
        k == 0 && point.speedup.has_value() ? absl::StrFormat("%.3fx", *point.speedup) : "";
    absl::StrAppendFormat(
        &rows, "%-28s %5d %7d %6s %6d %9.3f %9.3f %9.3f %9.3f %9.3f %8.3f %10.1f %8.1f %8s\n", name,
        point.batch_size, point.num_threads, EngineName(point.engine), m.latency.count,
        m.latency.mean_ms, m.latency.median_ms, m.latency.p90_ms, m.latency.p99_ms,
        m.latency.min_ms, m.latency.stdev_ms, m.items_per_second,
        static_cast<double>(point.peak_rss_bytes) / (1 << 20), speedup);
  }
  return rows;
}

std::string FormatTable(absl::Span<const PointResult> points) {
  std::string table = FormatTableHeader();
  for (const PointResult& point : points) table += FormatTableRows(point);
  return table;
}

nlohmann::json ToJson(const PointResult& point) {
  auto model_json = [](const ModelMeasurement& m) {
    const LatencyStats& l = m.latency;
    nlohmann::json json{
        {"model", m.path},
        {"model_file_bytes", m.file_bytes},
        {"input_shape", m.input_shape},
        {"output_shape", m.output_shape},
        {"import_ms", m.import_ms},
        {"build_ms", m.build_ms},
        {"repetitions", l.count},
        {"hit_max_repetitions", m.hit_max_reps},
        {"latency_ms",
         {{"mean", l.mean_ms},
          {"median", l.median_ms},
          {"p90", l.p90_ms},
          {"p99", l.p99_ms},
          {"min", l.min_ms},
          {"max", l.max_ms},
          {"stdev", l.stdev_ms}}},
        {"items_per_second", m.items_per_second},
    };
    if (!m.spmm_kernel.empty()) {
      nlohmann::json layers = nlohmann::json::array();
      int sparse_layers = 0;
      for (const inference::sparse::LayerDecision& d : m.decisions) {
        sparse_layers += d.sparse;
        nlohmann::json layer = {{"node", d.node}, {"sparsity", d.sparsity}, {"sparse", d.sparse}};
        if (d.dense_ms >= 0) layer["measured_dense_ms"] = d.dense_ms;
        if (d.sparse_ms >= 0) layer["measured_sparse_ms"] = d.sparse_ms;
        layers.push_back(layer);
      }
      json["sparse"] = {{"kernel", m.spmm_kernel},
                        {"candidate_layers", m.sparse_candidates},
                        {"sparse_layers", sparse_layers},
                        {"layers", layers}};
    }
    return json;
  };
  nlohmann::json json = model_json(point.models.at(0));
  json["batch_size"] = point.batch_size;
  json["threads"] = point.num_threads;
  json["engine"] = EngineName(point.engine);
  json["warmup_runs"] = point.warmup_runs;
  json["rss_before_bytes"] = point.rss_before_bytes;
  json["peak_rss_bytes"] = point.peak_rss_bytes;
  json["peak_rss_scope"] = point.peak_rss_per_point ? "grid_point" : "process";
  if (point.models.size() > 1) {
    json["compare"] = model_json(point.models[1]);
    if (point.speedup.has_value()) json["speedup"] = *point.speedup;
  }
  return json;
}

training::MetricValues PointMetrics(const PointResult& point) {
  const std::string prefix = absl::StrCat("bench/", EngineName(point.engine), "/");
  training::MetricValues values = {
      {prefix + "batch_size", static_cast<double>(point.batch_size)},
      {prefix + "threads", static_cast<double>(point.num_threads)},
      {prefix + "peak_rss_bytes", static_cast<double>(point.peak_rss_bytes)}};
  if (!point.models.empty()) {
    const ModelMeasurement& model = point.models.front();
    values[prefix + "latency_mean_ms"] = model.latency.mean_ms;
    values[prefix + "latency_median_ms"] = model.latency.median_ms;
    values[prefix + "latency_p90_ms"] = model.latency.p90_ms;
    values[prefix + "latency_p99_ms"] = model.latency.p99_ms;
    values[prefix + "latency_min_ms"] = model.latency.min_ms;
    values[prefix + "latency_stdev_ms"] = model.latency.stdev_ms;
    values[prefix + "items_per_second"] = model.items_per_second;
    values[prefix + "model_bytes"] = static_cast<double>(model.file_bytes);
  }
  if (point.speedup.has_value()) values[prefix + "speedup"] = *point.speedup;
  return values;
}

}  // namespace edgecompress::bench
