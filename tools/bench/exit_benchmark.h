// bench for early-exit models (inference/early_exit.h): a sweep of
// confidence thresholds, each giving the test accuracy, the share of samples
// leaving at every exit and the mean latency per sample, against the same
// network without early exits (its final classifier alone).
//
//   1. Every test image runs through every exit once (RunAllExits); a
//      threshold t sends an image out at the first side exit whose softmax
//      confidence is >= t, else through the final classifier, so every
//      threshold's accuracy and exit shares come from that one pass, exactly
//      as EarlyExitModel::Run would decide.
//   2. The pieces (each segment, each head) and the baseline model are timed
//      interleaved at batch 1 (MeasureInterleaved), so their ratios hold on a
//      noisy machine; the mean latency of a threshold is
//        sum over exits k of share_k * (segments 0..k + heads 0..k),
//      a sample reaching the end paying every head on its way.
//   3. At the chosen threshold (the fastest within `max_top1_drop` points of
//      the final classifier's accuracy) the whole test set is run for real,
//      early exit and baseline alternating per image, and the measured mean
//      latencies are reported beside the modelled ones.
#ifndef EDGECOMPRESS_TOOLS_BENCH_EXIT_BENCHMARK_H_
#define EDGECOMPRESS_TOOLS_BENCH_EXIT_BENCHMARK_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tools/bench/benchmark_runner.h"
#include "tools/quantize/ptq_pipeline.h"

namespace edgecompress::bench {

struct ExitBenchConfig {
  std::string model_path;  // an early-exit ONNX model (train_prune's model_exits.onnx)
  std::vector<double> thresholds = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999};
  double max_top1_drop = 1.0;  // points, for the chosen threshold
  int num_threads = 1;
  RepetitionPolicy policy;
};

struct ThresholdRow {
  double threshold = 0.0;
  double top1 = 0.0;                  // percent
  std::vector<double> exit_shares;    // fractions, one per exit
  double mean_latency_ms = 0.0;       // modelled (step 2)
  double latency_ratio = 0.0;         // mean_latency_ms / baseline median
};

struct ExitBenchResult {
  std::string model_path;
  int64_t samples = 0;
  std::vector<double> exit_top1;      // each exit alone, percent
  double baseline_ms = 0.0;           // the final classifier alone, median
  std::vector<double> segment_ms, head_ms;  // medians
  std::vector<ThresholdRow> rows;
  std::optional<size_t> chosen;       // index into rows
  double measured_exit_ms = 0.0, measured_baseline_ms = 0.0;  // step 3, means
};

// `images`: the test set, normalised as in training. Errors: the model's
// (kInvalidArgument, kUnimplemented, kNotFound, kDataLoss), thresholds
// outside [0, 1].
absl::StatusOr<ExitBenchResult> RunExitBenchmark(const ExitBenchConfig& config,
                                                 const quantize::NormalizedImages& images,
                                                 Clock& clock);

std::string FormatExitTable(const ExitBenchResult& result);
nlohmann::json ExitBenchJson(const ExitBenchResult& result);
// Accuracy against mean latency, one point per threshold and the baseline.
absl::StatusOr<std::string> ExitBenchSvg(const ExitBenchResult& result);

}  // namespace edgecompress::bench

#endif  // EDGECOMPRESS_TOOLS_BENCH_EXIT_BENCHMARK_H_
