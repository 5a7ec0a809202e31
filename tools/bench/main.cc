// bench: latency, throughput and memory of ONNX models on our XNNPACK
// runtime, over a grid of batch sizes, thread counts and engines.
//
// Per grid point the model is imported with its batch dimension fixed (once
// per batch size), built on the thread count, warmed up and timed; see
// tools/bench/benchmark_runner.h for every convention (percentiles,
// throughput, peak memory, interleaving with --compare). The table goes to
// stderr; the JSON result (tools/result) to --out, or to stdout:
//
//   {"schema_version": 1, "context": {...},
//    "results": [{"model": "m.onnx", "batch_size": 1, "threads": 2, "engine": "dense",
//                 "latency_ms": {"mean", "median", "p90", "p99", "min", "max", "stdev"},
//                 "items_per_second", "repetitions", "peak_rss_bytes", "model_file_bytes",
//                 ..., "compare": {...}, "speedup": 1.23}, ...]}
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "metrics/metrics_run.h"
#include "tools/bench/benchmark_runner.h"
#include "tools/npy/npy.h"
#include "tools/result/result_json.h"
#include "tools/status/status_macros.h"

ABSL_FLAG(std::string, model, "", "The ONNX model to measure (fp32, one input, one output).");
ABSL_FLAG(std::string, compare, "",
          "A second ONNX model measured interleaved with --model at every grid point; the "
          "table and JSON give the speedup median(compare) / median(model).");
ABSL_FLAG(edgecompress::bench::PositiveIntList, batch, {{1}},
          "Batch sizes, comma-separated (e.g. 1,8); the model is re-imported per batch size.");
ABSL_FLAG(edgecompress::bench::PositiveIntList, threads, {{1}},
          "Thread counts, comma-separated (e.g. 1,2,4,8); 1 runs on the calling thread.");
ABSL_FLAG(edgecompress::bench::EngineList, engine, {{edgecompress::bench::Engine::kDense}},
          "Engines, comma-separated: dense (fp32 XNNPACK), int8 (a QDQ model on XNNPACK int8), "
          "sparse (pruned 1x1 convs and FCs on our SpMM kernels; on aarch64, XNNPACK's NCHW "
          "sparse path), auto (per layer, the faster of dense and sparse, measured once at "
          "build; on aarch64 as sparse).");
ABSL_FLAG(std::string, input_size, "",
          "Image sizes (H = W), comma-separated (e.g. 32,128,224); the model is re-imported "
          "at each. A model that fixes its size (a Reshape, a Flatten into a Gemm) fails with "
          "the importer's message. Empty: the model's own size.");
ABSL_FLAG(std::string, input, "",
          "A NumPy .npy float32 input in the model's layout (NCHW for images): instead of the "
          "timing grid, run one inference on it with the first --engine and --threads (its "
          "first dimension is the batch size) and write --output.");
ABSL_FLAG(std::string, output, "", "With --input: where the .npy float32 output goes.");
ABSL_FLAG(int, warmup, 5, "Untimed runs per model before timing, per grid point.");
ABSL_FLAG(int, min_reps, 20, "Timed repetitions per model at least.");
ABSL_FLAG(double, min_seconds, 2.0, "Measured seconds per model at least.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the uniform [-1, 1] input data.");
ABSL_FLAG(std::string, out, "", "Write the JSON result here (atomically); stdout if empty.");
ABSL_FLAG(std::string, metrics_dir, "",
          "W&B-compatible run directory: one history row per grid point and a summary "
          "(e.g. train_prune's <output_dir>/wandb, so a trial's training and bench metrics are "
          "one run); uploaded when WANDB_BASE_URL is set. Empty: none.");

namespace edgecompress {
namespace {

// Exit codes beyond Abseil's 1 for bad flags, listed in the usage text.
enum ExitCode {
  kExitOk = 0,
  kExitBadInput = 2,
  kExitRunFailed = 3,
  kExitOutputFailed = 4,
};

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "bench: " << status.message() << "\n";
  return code;
}

std::map<std::string, std::string> FlagValues() {
  return {
      {"model", absl::GetFlag(FLAGS_model)},
      {"compare", absl::GetFlag(FLAGS_compare)},
      {"batch", AbslUnparseFlag(absl::GetFlag(FLAGS_batch))},
      {"threads", AbslUnparseFlag(absl::GetFlag(FLAGS_threads))},
      {"engine", AbslUnparseFlag(absl::GetFlag(FLAGS_engine))},
      {"input_size", absl::GetFlag(FLAGS_input_size)},
      {"warmup", absl::StrCat(absl::GetFlag(FLAGS_warmup))},
      {"min_reps", absl::StrCat(absl::GetFlag(FLAGS_min_reps))},
      {"min_seconds", absl::StrCat(absl::GetFlag(FLAGS_min_seconds))},
  };
}

// --input/--output: one inference, no timing.
// --input_size as numbers; empty when the flag is.
absl::StatusOr<std::vector<int>> InputSizes() {
  const std::string text = absl::GetFlag(FLAGS_input_size);
  if (text.empty()) return std::vector<int>{};
  bench::PositiveIntList list;
  std::string error;
  if (!AbslParseFlag(text, &list, &error)) {
    return absl::InvalidArgumentError(absl::StrCat("--input_size: ", error));
  }
  return list.values;
}

int RunOnNpy(const std::string& model_path, bench::Engine engine) {
  const std::string input_path = absl::GetFlag(FLAGS_input);
  const std::string output_path = absl::GetFlag(FLAGS_output);
  if (output_path.empty()) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--input needs --output"));
  }
  absl::StatusOr<npy::NpyArray> input = npy::ReadNpyFile(input_path);
  if (!input.ok()) return Fail(kExitBadInput, input.status());
  if (input->shape.empty() || input->shape[0] == 0) {
    return Fail(kExitBadInput, absl::InvalidArgumentError(
                                   absl::StrCat(input_path,
                                                ": a scalar or empty array; the first dimension "
                                                "is the batch size")));
  }
  absl::StatusOr<std::vector<int>> parsed_sizes = InputSizes();
  if (!parsed_sizes.ok()) return Fail(kExitBadInput, parsed_sizes.status());
  const std::vector<int>& sizes = *parsed_sizes;
  if (sizes.size() > 1) {
    return Fail(kExitBadInput,
                absl::InvalidArgumentError("--input takes at most one --input_size"));
  }
  bench::SteadyClock clock;
  absl::StatusOr<bench::LoadedModel> model =
      bench::LoadModel(model_path, input->shape[0], clock, bench::UsesSparseModel(engine),
                       sizes.empty() ? 0 : static_cast<size_t>(sizes[0]));
  if (!model.ok()) return Fail(kExitBadInput, model.status());
  const absl::Span<const size_t> want = model->model.input_shape();
  if (!std::equal(want.begin(), want.end(), input->shape.begin(), input->shape.end())) {
    return Fail(kExitBadInput, absl::InvalidArgumentError(absl::StrCat(
                                   input_path, ": shape (", absl::StrJoin(input->shape, ", "),
                                   ") but the model takes (", absl::StrJoin(want, ", "), ")")));
  }
  bench::PointConfig config;
  config.engine = engine;
  config.num_threads = absl::GetFlag(FLAGS_threads).values.front();
  config.seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<std::vector<float>> output = bench::RunOnce(*model, config, input->values, clock);
  if (!output.ok()) return Fail(kExitRunFailed, output.status());
  if (absl::Status status = npy::WriteNpyFile(output_path, model->model.output_shape(), *output);
      !status.ok()) {
    return Fail(kExitOutputFailed, status);
  }
  std::cerr << "bench: " << output_path << " (" << absl::StrJoin(model->model.output_shape(), ", ")
            << ") from " << input_path << " with --engine=" << bench::EngineName(engine) << "\n";
  return kExitOk;
}

// The grid points as rows of a W&B-compatible run (--metrics_dir), the
// first point's numbers as its summary.
absl::Status LogMetrics(const std::vector<bench::PointResult>& points) {
  const std::string dir = absl::GetFlag(FLAGS_metrics_dir);
  if (dir.empty() || points.empty()) return absl::OkStatus();
  metrics::MetricsRunOptions options = metrics::MetricsRunOptionsFromEnvironment(dir);
  if (options.job_type.empty()) options.job_type = "bench";
  for (const auto& [name, value] : FlagValues()) options.config["bench/" + name] = value;
  ASSIGN_OR_RETURN(std::unique_ptr<metrics::MetricsRun> run, metrics::OpenMetricsRun(options));
  for (size_t i = 0; i < points.size(); ++i) {
    RETURN_IF_ERROR(run->Log(static_cast<int64_t>(i), bench::PointMetrics(points[i])));
  }
  RETURN_IF_ERROR(run->Summarize(bench::PointMetrics(points.front())));
  return run->Finish(0);
}

int Run() {
  const std::string model_path = absl::GetFlag(FLAGS_model);
  const std::string compare_path = absl::GetFlag(FLAGS_compare);
  if (model_path.empty()) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--model is required"));
  }
  bench::PointConfig config;
  config.seed = absl::GetFlag(FLAGS_seed);
  config.policy.warmup_runs = absl::GetFlag(FLAGS_warmup);
  config.policy.min_reps = absl::GetFlag(FLAGS_min_reps);
  config.policy.min_seconds = absl::GetFlag(FLAGS_min_seconds);
  if (absl::Status status = bench::ValidatePolicy(config.policy); !status.ok()) {
    return Fail(kExitBadInput, status);
  }
  const std::vector<bench::Engine> engines = absl::GetFlag(FLAGS_engine).engines;
  if (!absl::GetFlag(FLAGS_input).empty()) return RunOnNpy(model_path, engines.front());
  if (!absl::GetFlag(FLAGS_output).empty()) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--output needs --input"));
  }
  std::vector<size_t> input_sizes = {0};  // 0: the model's own
  absl::StatusOr<std::vector<int>> sizes = InputSizes();
  if (!sizes.ok()) return Fail(kExitBadInput, sizes.status());
  if (!sizes->empty()) input_sizes.assign(sizes->begin(), sizes->end());

  bench::SteadyClock clock;
  std::vector<bench::PointResult> points;
  for (size_t input_size : input_sizes) {
    for (int batch : absl::GetFlag(FLAGS_batch).values) {
      const bool wants_sparse = std::any_of(engines.begin(), engines.end(), bench::UsesSparseModel);
      absl::StatusOr<bench::LoadedModel> model =
          bench::LoadModel(model_path, batch, clock, wants_sparse, input_size);
      if (!model.ok()) return Fail(kExitBadInput, model.status());
      const bool wants_int8 =
          std::find(engines.begin(), engines.end(), bench::Engine::kInt8) != engines.end();
      if (wants_int8 && model->model.stats().int8_nodes == 0) {
        return Fail(kExitBadInput, absl::InvalidArgumentError(absl::StrCat(
                                       model_path,
                                       ": --engine=int8 needs a QDQ model and this one "
                                       "has no int8 ops (make one with tools/quantize)")));
      }
      std::vector<const bench::LoadedModel*> models = {&*model};
      absl::StatusOr<bench::LoadedModel> compare;
      if (!compare_path.empty()) {
        compare = bench::LoadModel(compare_path, batch, clock, wants_sparse, input_size);
        if (!compare.ok()) return Fail(kExitBadInput, compare.status());
        models.push_back(&*compare);
      }
      for (int threads : absl::GetFlag(FLAGS_threads).values) {
        for (bench::Engine engine : engines) {
          config.num_threads = threads;
          config.engine = engine;
          absl::StatusOr<bench::PointResult> point = bench::MeasurePoint(models, config, clock);
          if (!point.ok()) return Fail(kExitRunFailed, point.status());
          // Rows as they come, so that a long grid shows progress.
          if (points.empty()) std::cerr << bench::FormatTableHeader();
          std::cerr << bench::FormatTableRows(*point) << std::flush;
          points.push_back(*std::move(point));
        }
      }
    }
  }

  if (absl::Status logged = LogMetrics(points); !logged.ok()) {
    return Fail(kExitOutputFailed, logged);
  }
  nlohmann::json result = tools::NewResult("bench", absl::GetFlag(FLAGS_seed), FlagValues());
  result["results"] = nlohmann::json::array();
  for (const bench::PointResult& point : points) result["results"].push_back(bench::ToJson(point));
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
      "Measures latency (mean, median, p90, p99, min, stdev), throughput and peak memory of an\n"
      "ONNX model on XNNPACK over a grid of batch sizes, thread counts and engines.\n"
      "Example: bazel run //tools/bench -- --model=$PWD/resnet18.onnx --batch=1,8 "
      "--threads=1,2 --out=/tmp/bench.json\n"
      "Exit codes: 0 success, 1 bad flags, 2 the model cannot be read or imported (or flags\n"
      "that parse but make no sense), 3 a build or run failed, 4 the result could not be\n"
      "written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::Run();
}
