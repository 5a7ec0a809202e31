#include "tools/bench/exit_benchmark.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "inference/early_exit.h"
#include "inference/onnx_import.h"
#include "inference/onnx_subgraph.h"
#include "tools/plot/line_chart.h"
#include "tools/status/status_macros.h"
#include "training/onnx/onnx_file.h"

namespace edgecompress::bench {
namespace {

int ArgMax(const std::vector<float>& logits) {
  return static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

}  // namespace

absl::StatusOr<ExitBenchResult> RunExitBenchmark(const ExitBenchConfig& config,
                                                 const quantize::NormalizedImages& images,
                                                 Clock& clock) {
  for (double t : config.thresholds) {
    if (!(t >= 0.0 && t <= 1.0)) {
      return absl::InvalidArgumentError(absl::StrCat("threshold ", t, " is not in [0, 1]"));
    }
  }
  ASSIGN_OR_RETURN(const onnx::ModelProto model, training::ReadOnnxFile(config.model_path));
  ASSIGN_OR_RETURN(inference::EarlyExitModel exits,
                   inference::EarlyExitModel::Import(model, config.num_threads));
  const std::string& input = model.graph().input(0).name();
  ASSIGN_OR_RETURN(const onnx::ModelProto trunk,
                   inference::ExtractSubgraph(model, input, model.graph().output(0).name()));
  ASSIGN_OR_RETURN(const inference::OnnxModel baseline_model,
                   inference::OnnxModel::ImportBytes(trunk.SerializeAsString(), {.batch_size = 1},
                                                     "the final classifier"));
  ASSIGN_OR_RETURN(inference::OnnxRuntime baseline, baseline_model.Build(config.num_threads));
  const size_t image_size = exits.input_size();
  if (static_cast<size_t>(images.channels * images.height * images.width) != image_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        config.model_path, ": takes ", image_size, " floats per image, the dataset has ",
        images.channels * images.height * images.width));
  }

  // 1. Every exit's verdict on every image.
  const int num_exits = exits.num_exits();
  ExitBenchResult result{.model_path = config.model_path, .samples = images.count};
  std::vector<std::vector<float>> confidence(num_exits, std::vector<float>(images.count));
  std::vector<std::vector<bool>> correct(num_exits, std::vector<bool>(images.count));
  std::vector<int64_t> exit_correct(num_exits, 0);
  for (int64_t i = 0; i < images.count; ++i) {
    const absl::Span<const float> image(images.values.data() + i * image_size, image_size);
    ASSIGN_OR_RETURN(const std::vector<std::vector<float>> logits, exits.RunAllExits(image));
    for (int k = 0; k < num_exits; ++k) {
      confidence[k][i] = inference::SoftmaxConfidence(logits[k]);
      correct[k][i] = ArgMax(logits[k]) == images.labels[i];
      exit_correct[k] += correct[k][i];
    }
  }
  for (int64_t c : exit_correct) result.exit_top1.push_back(100.0 * c / images.count);

  // 2. The pieces and the baseline, interleaved.
  std::vector<std::function<absl::Status()>> runs;
  std::vector<std::vector<float>> buffers;  // the runs index it: it may grow
  const auto add = [&](inference::OnnxRuntime& runtime) {
    buffers.emplace_back(runtime.input_size(), 0.1f);
    buffers.emplace_back(runtime.output_size());
    const size_t in = buffers.size() - 2;
    runs.push_back([&runtime, &buffers, in]() {
      return runtime.Run(buffers[in], absl::MakeSpan(buffers[in + 1]));
    });
  };
  add(baseline);
  for (int k = 0; k < num_exits; ++k) add(exits.segment(k));
  for (int k = 0; k + 1 < num_exits; ++k) add(exits.head(k));
  ASSIGN_OR_RETURN(const std::vector<std::vector<double>> samples,
                   MeasureInterleaved(runs, config.policy, clock));
  std::vector<double> medians;
  for (const std::vector<double>& s : samples) {
    ASSIGN_OR_RETURN(const LatencyStats stats, ComputeLatencyStats(s));
    medians.push_back(stats.median_ms);
  }
  result.baseline_ms = medians[0];
  result.segment_ms.assign(medians.begin() + 1, medians.begin() + 1 + num_exits);
  result.head_ms.assign(medians.begin() + 1 + num_exits, medians.end());
  std::vector<double> path_ms(num_exits);  // leaving at exit k
  double so_far = 0.0;
  for (int k = 0; k < num_exits; ++k) {
    so_far += result.segment_ms[k] + (k + 1 < num_exits ? result.head_ms[k] : 0.0);
    path_ms[k] = so_far;
  }

  for (double t : config.thresholds) {
    ThresholdRow row{.threshold = t};
    std::vector<int64_t> leaving(num_exits, 0);
    int64_t right = 0;
    for (int64_t i = 0; i < images.count; ++i) {
      int k = 0;
      while (k + 1 < num_exits && confidence[k][i] < t) ++k;
      ++leaving[k];
      right += correct[k][i];
    }
    for (int k = 0; k < num_exits; ++k) {
      row.exit_shares.push_back(static_cast<double>(leaving[k]) / images.count);
      row.mean_latency_ms += row.exit_shares[k] * path_ms[k];
    }
    row.top1 = 100.0 * right / images.count;
    row.latency_ratio = row.mean_latency_ms / result.baseline_ms;
    const bool within = result.exit_top1.back() - row.top1 <= config.max_top1_drop;
    if (within && (!result.chosen.has_value() ||
                   row.mean_latency_ms < result.rows[*result.chosen].mean_latency_ms)) {
      result.chosen = result.rows.size();
    }
    result.rows.push_back(std::move(row));
  }

  // 3. The chosen threshold, run for real against the baseline.
  if (result.chosen.has_value()) {
    const std::vector<double> thresholds(num_exits - 1, result.rows[*result.chosen].threshold);
    std::vector<float> logits(baseline.output_size());
    double exit_seconds = 0.0, baseline_seconds = 0.0;
    for (int64_t i = 0; i < images.count; ++i) {
      const absl::Span<const float> image(images.values.data() + i * image_size, image_size);
      double start = clock.NowSeconds();
      RETURN_IF_ERROR(exits.Run(image, thresholds).status());
      exit_seconds += clock.NowSeconds() - start;
      start = clock.NowSeconds();
      RETURN_IF_ERROR(baseline.Run(image, absl::MakeSpan(logits)));
      baseline_seconds += clock.NowSeconds() - start;
    }
    result.measured_exit_ms = 1e3 * exit_seconds / images.count;
    result.measured_baseline_ms = 1e3 * baseline_seconds / images.count;
  }
  return result;
}

std::string FormatExitTable(const ExitBenchResult& result) {
  std::string table = absl::StrFormat("%s: %d test images; top-1 of each exit alone:",
                                      result.model_path, result.samples);
  for (double t : result.exit_top1) absl::StrAppendFormat(&table, " %.2f%%", t);
  absl::StrAppendFormat(&table, "\nbaseline (final classifier alone) %.4f ms; segments", result.baseline_ms);
  for (double ms : result.segment_ms) absl::StrAppendFormat(&table, " %.4f", ms);
  table += " ms; heads";
  for (double ms : result.head_ms) absl::StrAppendFormat(&table, " %.4f", ms);
  absl::StrAppendFormat(&table, " ms\n%-10s %8s %9s %11s %8s  %s\n", "threshold", "top-1", "drop",
                        "mean ms", "ratio", "share leaving at each exit");
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const ThresholdRow& row = result.rows[r];
    absl::StrAppendFormat(&table, "%-10g %7.2f%% %8.2fpt %11.4f %7.2fx ", row.threshold, row.top1,
                          result.exit_top1.back() - row.top1, row.mean_latency_ms,
                          row.latency_ratio);
    for (double share : row.exit_shares) absl::StrAppendFormat(&table, " %5.1f%%", 100 * share);
    table += result.chosen == r ? "  <- chosen\n" : "\n";
  }
  if (result.chosen.has_value()) {
    absl::StrAppendFormat(&table,
                          "chosen threshold %g, run for real: %.4f ms per image against %.4f ms "
                          "(%.1f%% less)\n",
                          result.rows[*result.chosen].threshold, result.measured_exit_ms,
                          result.measured_baseline_ms,
                          100 * (1 - result.measured_exit_ms / result.measured_baseline_ms));
  }
  return table;
}

nlohmann::json ExitBenchJson(const ExitBenchResult& result) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ThresholdRow& row : result.rows) {
    rows.push_back({{"threshold", row.threshold},
                    {"top1", row.top1},
                    {"top1_drop", result.exit_top1.back() - row.top1},
                    {"exit_shares", row.exit_shares},
                    {"mean_latency_ms", row.mean_latency_ms},
                    {"latency_ratio", row.latency_ratio}});
  }
  nlohmann::json json = {{"model", result.model_path},
                         {"samples", result.samples},
                         {"exit_top1", result.exit_top1},
                         {"baseline_ms", result.baseline_ms},
                         {"segment_ms", result.segment_ms},
                         {"head_ms", result.head_ms},
                         {"thresholds", rows}};
  if (result.chosen.has_value()) {
    json["chosen"] = {{"threshold", result.rows[*result.chosen].threshold},
                      {"measured_exit_ms", result.measured_exit_ms},
                      {"measured_baseline_ms", result.measured_baseline_ms},
                      {"measured_ratio", result.measured_exit_ms / result.measured_baseline_ms}};
  }
  return json;
}

absl::StatusOr<std::string> ExitBenchSvg(const ExitBenchResult& result) {
  tools::Series sweep{"early exit (thresholds)", {}}, baseline{"no early exit", {}};
  for (const ThresholdRow& row : result.rows) sweep.points.emplace_back(row.mean_latency_ms, row.top1);
  baseline.points.emplace_back(result.baseline_ms, result.exit_top1.back());
  return tools::RenderSvg({.title = "Early exit: accuracy against mean latency",
                           .x_label = "mean latency per image (ms)",
                           .y_label = "test top-1 (%)",
                           .series = {sweep, baseline}});
}

}  // namespace edgecompress::bench
