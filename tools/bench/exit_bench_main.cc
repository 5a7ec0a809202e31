// exit_bench: bench for early-exit models (exit_benchmark.h): a threshold
// sweep of accuracy, exit shares and mean latency against the model without
// early exits, as a table, JSON and an SVG plot. Flag parsing and wiring only.
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/bench/exit_benchmark.h"
#include "tools/io/atomic_file.h"
#include "tools/quantize/ptq_pipeline.h"
#include "tools/result/result_json.h"
#include "tools/status/exit_code.h"
#include "training/datasets.h"

ABSL_FLAG(std::string, model, "", "An early-exit ONNX model (train_prune's model_exits.onnx).");
ABSL_FLAG(std::string, dataset, "fashion_mnist", "Dataset whose test split is classified.");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder; empty: the dataset's default.");
ABSL_FLAG(int, samples, 0, "Test images, spread over the split; 0: all.");
ABSL_FLAG(std::vector<std::string>, thresholds,
          std::vector<std::string>({"0.5", "0.6", "0.7", "0.8", "0.9", "0.95", "0.99", "0.999"}),
          "Softmax-confidence thresholds to sweep, comma-separated, in [0, 1].");
ABSL_FLAG(double, max_top1_drop, 1.0,
          "The chosen threshold is the fastest within this many points of the final exit.");
ABSL_FLAG(int, threads, 1, "XNNPACK threads.");
ABSL_FLAG(int, warmup, 5, "Untimed runs of each piece.");
ABSL_FLAG(int, min_reps, 50, "Timed repetitions of each piece at least.");
ABSL_FLAG(double, min_seconds, 1.0, "Measured seconds per piece at least.");
ABSL_FLAG(std::string, svg, "", "Write the accuracy-latency plot here.");
ABSL_FLAG(std::string, out, "", "Write the JSON result here (atomically); stdout if empty.");

namespace edgecompress::bench {
namespace {

int Fail(tools::ExitCode code, const absl::Status& status) {
  std::cerr << "exit_bench: " << status.message() << "\n";
  return code;
}

int Run() {
  ExitBenchConfig config;
  config.model_path = absl::GetFlag(FLAGS_model);
  if (config.model_path.empty()) {
    return Fail(tools::kExitBadInput, absl::InvalidArgumentError("--model is required"));
  }
  config.thresholds.clear();
  for (const std::string& text : absl::GetFlag(FLAGS_thresholds)) {
    double t = 0;
    if (!absl::SimpleAtod(text, &t) || !(t >= 0 && t <= 1)) {
      return Fail(tools::kExitBadInput, absl::InvalidArgumentError(absl::StrCat(
                                            "--thresholds: '", text, "' is not in [0, 1]")));
    }
    config.thresholds.push_back(t);
  }
  config.max_top1_drop = absl::GetFlag(FLAGS_max_top1_drop);
  config.num_threads = absl::GetFlag(FLAGS_threads);
  config.policy.warmup_runs = absl::GetFlag(FLAGS_warmup);
  config.policy.min_reps = absl::GetFlag(FLAGS_min_reps);
  config.policy.min_seconds = absl::GetFlag(FLAGS_min_seconds);
  if (absl::Status s = ValidatePolicy(config.policy); !s.ok()) return Fail(tools::kExitBadInput, s);
  if (config.num_threads < 1 || absl::GetFlag(FLAGS_samples) < 0) {
    return Fail(tools::kExitBadInput,
                absl::InvalidArgumentError("--threads must be >= 1 and --samples >= 0"));
  }
  absl::StatusOr<training::TrainTestSplits> data =
      training::LoadDataset(absl::GetFlag(FLAGS_dataset), absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) return Fail(tools::kExitBadInput, data.status());
  // Normalised as train_prune trains: the training split's statistics.
  const training::ChannelStatistics stats = training::ComputeChannelStatistics(data->train);
  const quantize::NormalizedImages images =
      quantize::Normalize(data->test, stats.mean, stats.stddev, absl::GetFlag(FLAGS_samples));
  SteadyClock clock;
  absl::StatusOr<ExitBenchResult> result = RunExitBenchmark(config, images, clock);
  if (!result.ok()) return Fail(tools::ExitCodeFor(result.status()), result.status());
  std::cerr << FormatExitTable(*result);
  if (const std::string svg = absl::GetFlag(FLAGS_svg); !svg.empty()) {
    absl::StatusOr<std::string> plot = ExitBenchSvg(*result);
    if (!plot.ok()) return Fail(tools::kExitFailed, plot.status());
    if (absl::Status s = tools::WriteFileAtomically(svg, *plot); !s.ok()) {
      return Fail(tools::kExitOutputFailed, s);
    }
  }
  nlohmann::json json = tools::NewResult(
      "exit_bench", 0,
      {{"model", config.model_path},
       {"dataset", absl::GetFlag(FLAGS_dataset)},
       {"samples", absl::StrCat(absl::GetFlag(FLAGS_samples))},
       {"thresholds", absl::StrJoin(absl::GetFlag(FLAGS_thresholds), ",")},
       {"max_top1_drop", absl::StrCat(config.max_top1_drop)},
       {"threads", absl::StrCat(config.num_threads)}});
  json.update(ExitBenchJson(*result));
  if (absl::Status s = tools::WriteResult(absl::GetFlag(FLAGS_out), json);
      !s.ok()) {
    return Fail(tools::kExitOutputFailed, s);
  }
  return tools::kExitOk;
}

}  // namespace
}  // namespace edgecompress::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Sweeps the confidence threshold of an early-exit model: test accuracy, the share\n"
      "of images leaving at each exit, and mean latency per image against the model\n"
      "without early exits.\n"
      "  exit_bench --model=/tmp/ee/model_exits.onnx --svg=/tmp/exits.svg\n"
      "Exit codes: 0 success, 1 bad flag syntax, 2 bad input (model, data, flags),\n"
      "3 a run failed, 4 an output could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::bench::Run();
}
