// Latency benchmarking of ONNX models on our XNNPACK runtime, the way
// DeepSparse's `deepsparse.benchmark` and TFLite's `benchmark_model` do it:
// warm-up runs first, then timed repetitions until both a minimum count and
// a minimum measured time are reached, then order statistics.
//
//   SteadyClock clock;
//   ASSIGN_OR_RETURN(LoadedModel model, LoadModel("m.onnx", /*batch_size=*/1, clock));
//   const LoadedModel* models[] = {&model};
//   ASSIGN_OR_RETURN(PointResult point, MeasurePoint(models, point_config, clock));
//   std::cerr << FormatTable({point});
//
// Conventions (where benchmark tools disagree):
//   - Latency is the wall time of one Run() call (one batch), in ms, on a
//     monotonic clock; input conversion NCHW->NHWC and back is included,
//     import and Build() are not (reported separately).
//   - Percentiles interpolate linearly between closest ranks, rank =
//     p / 100 * (n - 1) over the sorted samples (NumPy's default, Hyndman &
//     Fan type 7): p50 of 1..10 is 5.5, p90 is 9.1, p99 is 9.91.
//   - stdev is the sample standard deviation (divides by n - 1; 0 for n = 1).
//   - Throughput is items per second = batch_size * 1000 / mean_ms, i.e.
//     sequential runs of one batch; no concurrent streams.
//   - Compared models run interleaved (A, B, A, B, ...) so that frequency
//     scaling and neighbours' load hit both alike; repetitions continue until
//     every model has min_reps and min_seconds. speedup = median(compare) /
//     median(model): above 1 means --model is faster. Known limitation: with
//     threads > 1 each model has its own pthreadpool, whose workers spin for
//     a while after a run and so take cycles from the other model's run;
//     ratios at one thread are unaffected.
//   - Peak resident memory: /proc/self/status VmHWM after resetting it
//     through /proc/self/clear_refs ("5", Linux >= 4.0) at the start of the
//     grid point, so it covers building and running this point with the
//     imported model(s) already resident (rss_before_bytes). Where the reset
//     is refused the value is the process-wide peak (peak_rss_scope "process").
//
// Engines: dense fp32, and int8, which runs a QDQ model (tools/quantize) as
// XNNPACK int8 through the same import (the model decides; main.cc rejects a
// model without int8 ops). sparse and auto run the model through
// inference/sparse (SparseModel): sparse puts every cuttable pruned 1x1
// convolution and fully connected layer on our SpMM kernels, auto only those
// that a one-time measurement at Build() finds faster (build_ms includes
// it); the per-layer decisions are in the JSON. On aarch64 both are
// XNNPACK's own sparse path (XNN_FLAG_SPARSE_INFERENCE).
#ifndef EDGECOMPRESS_TOOLS_BENCH_BENCHMARK_RUNNER_H_
#define EDGECOMPRESS_TOOLS_BENCH_BENCHMARK_RUNNER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "training/metrics_sink.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"
#include "inference/sparse/sparse_model.h"
#include "nlohmann/json.hpp"

namespace edgecompress::bench {

// --- Flags ----------------------------------------------------------------

enum class Engine { kDense, kSparse, kInt8, kAuto };

const char* EngineName(Engine engine);

// Comma-separated flag values: --engine=dense,sparse and --batch=1,8.
struct EngineList {
  std::vector<Engine> engines;
};
struct PositiveIntList {
  std::vector<int> values;
};
// Abseil flag marshalling (absl/flags/marshalling.h): an unknown engine, an
// empty list, or a value that is not an integer in [1, 4096] is a flag error.
bool AbslParseFlag(absl::string_view text, EngineList* list, std::string* error);
std::string AbslUnparseFlag(const EngineList& list);
bool AbslParseFlag(absl::string_view text, PositiveIntList* list, std::string* error);
std::string AbslUnparseFlag(const PositiveIntList& list);

// Whether `engine` runs through inference/sparse (sparse, auto).
bool UsesSparseModel(Engine engine);

// --- Statistics -------------------------------------------------------------

struct LatencyStats {
  size_t count = 0;
  double mean_ms = 0, median_ms = 0, p90_ms = 0, p99_ms = 0, min_ms = 0, max_ms = 0, stdev_ms = 0;
};

// p in [0, 100] of `sorted` (ascending, non-empty), as in the header comment.
double Percentile(absl::Span<const double> sorted, double p);

// kInvalidArgument when `samples_ms` is empty or holds a non-finite value.
absl::StatusOr<LatencyStats> ComputeLatencyStats(absl::Span<const double> samples_ms);

// --- Measuring --------------------------------------------------------------

// A monotonic clock, a parameter so that tests can drive time.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual double NowSeconds() = 0;
};

class SteadyClock : public Clock {
 public:
  double NowSeconds() override;
};

struct RepetitionPolicy {
  int warmup_runs = 5;       // per model, untimed
  int min_reps = 20;         // per model
  double min_seconds = 2.0;  // measured time per model
  int max_reps = 1000000;    // per model; a safety stop, reported if it ends the run
};

// kInvalidArgument for negative warm-up, min_reps < 1, negative or
// non-finite min_seconds, or max_reps < min_reps.
absl::Status ValidatePolicy(const RepetitionPolicy& policy);

// Runs every function warmup_runs times, then one timed repetition of each in
// turn until each has at least min_reps repetitions and min_seconds of
// measured time (or max_reps). Returns the latencies in ms, one vector per
// function in `runs` order. The first failing run's status is returned.
absl::StatusOr<std::vector<std::vector<double>>> MeasureInterleaved(
    absl::Span<const std::function<absl::Status()>> runs, const RepetitionPolicy& policy,
    Clock& clock);

// --- Models and grid points -----------------------------------------------

// An ONNX file imported with its batch dimension fixed.
struct LoadedModel {
  std::string path;
  int64_t file_bytes = 0;
  double import_ms = 0;
  inference::OnnxModel model;
  // The same file for the sparse and auto engines (null unless asked for).
  std::shared_ptr<const inference::sparse::SparseModel> sparse;
};

// Errors are the importer's (kNotFound, kDataLoss, kInvalidArgument,
// kUnimplemented), naming the file. `with_sparse` also imports it as a
// SparseModel (import_ms covers both). `input_size` > 0 sets the image
// input's H and W (kInvalidArgument for an input that is not [N, C, H, W];
// the importer's error, naming the size, where the model fixes it).
absl::StatusOr<LoadedModel> LoadModel(const std::string& path, size_t batch_size, Clock& clock,
                                      bool with_sparse = false, size_t input_size = 0);

struct PointConfig {
  int num_threads = 1;
  Engine engine = Engine::kDense;
  RepetitionPolicy policy;
  uint64_t seed = 1;  // uniform [-1, 1] input data
};

struct ModelMeasurement {
  std::string path;
  int64_t file_bytes = 0;
  std::vector<size_t> input_shape, output_shape;
  double import_ms = 0, build_ms = 0;
  LatencyStats latency;
  double items_per_second = 0;
  bool hit_max_reps = false;
  // Sparse and auto engines: the kernel and what ran sparse.
  std::string spmm_kernel;
  int sparse_candidates = 0;  // layers our kernels could run
  std::vector<inference::sparse::LayerDecision> decisions;
};

struct PointResult {
  size_t batch_size = 0;
  int num_threads = 1;
  Engine engine = Engine::kDense;
  int warmup_runs = 0;
  std::vector<ModelMeasurement> models;  // --model first, then --compare
  std::optional<double> speedup;         // median(models[1]) / median(models[0])
  int64_t rss_before_bytes = 0, peak_rss_bytes = 0;
  bool peak_rss_per_point = false;  // false: the process-wide peak
};

// A grid point as named numbers for a metrics sink (one history row):
// "bench/<engine>/<name>" for latency_{mean,median,p90,p99,min,stdev}_ms,
// items_per_second and model_bytes of the --model, plus batch_size,
// threads, peak_rss_bytes and, with --compare, speedup.
training::MetricValues PointMetrics(const PointResult& point);

// Builds a runtime for each model (same batch size) on config.num_threads
// and measures them interleaved. Errors: ValidatePolicy,
// then Build/Run failures as they come.
absl::StatusOr<PointResult> MeasurePoint(absl::Span<const LoadedModel* const> models,
                                         const PointConfig& config, Clock& clock);

// One inference of `model` on `input` (ONNX layout) with config.engine and
// config.num_threads; the output in the ONNX layout. kInvalidArgument when
// the input size differs from the model's.
absl::StatusOr<std::vector<float>> RunOnce(const LoadedModel& model, const PointConfig& config,
                                           absl::Span<const float> input, Clock& clock);

// --- Memory -----------------------------------------------------------------

struct MemoryUsage {
  int64_t rss_bytes = 0, peak_rss_bytes = 0;  // VmRSS, VmHWM
};
absl::StatusOr<MemoryUsage> ReadMemoryUsage();
// Resets VmHWM to the current RSS; false where the kernel refuses.
bool ResetPeakRss();

// --- Reporting ----------------------------------------------------------------

// A fixed-width table: the header line, then one row per model per point
// (ms with 3 decimals, peak resident MB, speedup on the --model row).
std::string FormatTableHeader();
std::string FormatTableRows(const PointResult& point);
std::string FormatTable(absl::Span<const PointResult> points);  // header + all rows

// The point as a JSON object (see tools/bench/main.cc for the whole file).
nlohmann::json ToJson(const PointResult& point);

}  // namespace edgecompress::bench

#endif  // EDGECOMPRESS_TOOLS_BENCH_BENCHMARK_RUNNER_H_
