// What logging through a MetricsRun costs the training loop, beside the
// in-memory RecordingMetricsSink, measured interleaved in one run (rounds
// alternate the variants so machine load hits each alike):
//   recording   training::RecordingMetricsSink (the floor)
//   disk only   MetricsRun without an endpoint: spool append under flock
//   uploading   MetricsRun streaming to the loopback W&B test server while
//               rows are logged (upload on its own thread)
//   server down MetricsRun whose endpoint refuses connections (retrying with
//               backoff on its own thread)
// Then how long Finish takes to drain a backlog to the test server, and what
// one full read of a spool costs (each upload pass reads the spool whole).
//   bazel run -c opt //metrics:metrics_run_benchmark
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "metrics/metrics_run.h"
#include "metrics/spool.h"
#include "metrics/wandb_test_server.h"
#include "training/metrics_sink.h"

namespace edgecompress::metrics {
namespace {

constexpr int kRowsPerRound = 2000;
constexpr int kRounds = 5;
constexpr char kApiKey[] = "benchmark-key";

training::MetricValues Row(int i) {
  return {{"loss", 1.0 / (i + 1)}, {"top1", 0.5 + i * 1e-6}, {"sparsity", 0.8},
          {"lr", 0.01}, {"epoch", i / 100.0}};
}

// Seconds to log `rows` rows into `sink`, starting at `first_step`.
double TimeLogs(training::MetricsSink& sink, int first_step, int rows) {
  const absl::Time start = absl::Now();
  for (int i = first_step; i < first_step + rows; ++i) {
    if (!sink.Log(i, Row(i)).ok()) {
      std::fprintf(stderr, "Log failed\n");
      std::exit(2);
    }
  }
  return absl::ToDoubleSeconds(absl::Now() - start);
}

MetricsRunOptions Options(const std::string& dir, const std::string& base_url) {
  std::filesystem::remove_all(dir);
  MetricsRunOptions options;
  options.run_directory = dir;
  options.run_id = "bench" + std::to_string(base_url.empty());
  options.base_url = base_url;
  options.api_key = kApiKey;
  options.min_request_interval = absl::Milliseconds(50);
  options.finish_timeout = absl::Seconds(120);
  options.log_line = [](absl::string_view line) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
  };
  return options;
}

int Main() {
  auto server = WandbTestServer::Start(kApiKey);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 2;
  }
  const std::string root = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                        "/metrics_run_benchmark");
  std::filesystem::create_directories(root);
  training::RecordingMetricsSink recording;
  auto disk = OpenMetricsRun(Options(root + "/disk", ""));
  auto uploading = OpenMetricsRun(Options(root + "/uploading", (*server)->base_url()));
  // Port 1 on loopback: nothing listens, every attempt is refused.
  MetricsRunOptions down_options = Options(root + "/down", "http://127.0.0.1:1");
  down_options.run_id = "down";
  down_options.finish_timeout = absl::ZeroDuration();
  auto down = OpenMetricsRun(down_options);
  if (!disk.ok() || !uploading.ok() || !down.ok()) {
    std::fprintf(stderr, "cannot open runs\n");
    return 2;
  }
  double recording_s = 0, disk_s = 0, uploading_s = 0, down_s = 0;
  for (int round = 0; round < kRounds; ++round) {
    const int first = round * kRowsPerRound;
    recording_s += TimeLogs(recording, first, kRowsPerRound);
    disk_s += TimeLogs(**disk, first, kRowsPerRound);
    uploading_s += TimeLogs(**uploading, first, kRowsPerRound);
    down_s += TimeLogs(**down, first, kRowsPerRound);
  }
  const int rows = kRounds * kRowsPerRound;
  const auto per_row_us = [&](double seconds) { return seconds / rows * 1e6; };
  std::printf("rows logged per variant: %d (%d interleaved rounds)\n", rows, kRounds);
  std::printf("%-11s %12s %10s\n", "variant", "us per Log", "ratio");
  std::printf("%-11s %12.3f %10.1f\n", "recording", per_row_us(recording_s), 1.0);
  std::printf("%-11s %12.3f %10.1f\n", "disk only", per_row_us(disk_s), disk_s / recording_s);
  std::printf("%-11s %12.3f %10.1f\n", "uploading", per_row_us(uploading_s),
              uploading_s / recording_s);
  std::printf("%-11s %12.3f %10.1f\n", "server down", per_row_us(down_s), down_s / recording_s);

  const absl::Time finish_start = absl::Now();
  if (!(*uploading)->Finish(0).ok()) return 2;
  const double finish_s = absl::ToDoubleSeconds(absl::Now() - finish_start);
  if (!(*disk)->Finish(0).ok() || !(*down)->Finish(0).ok()) return 2;
  const auto received = (*server)->FindRun("bench0");
  std::printf("Finish drained the backlog in %.3f s; server holds %zu of %d rows, exit code %d\n",
              finish_s, received ? received->history.size() : 0, rows,
              received && received->exit_code ? *received->exit_code : -1);
  const absl::Time read_start = absl::Now();
  const absl::StatusOr<SpoolContents> spool = ReadSpool(root + "/uploading");
  std::printf("one ReadSpool of %zu records: %.3f s\n", spool.ok() ? spool->records.size() : 0,
              absl::ToDoubleSeconds(absl::Now() - read_start));
  return 0;
}

}  // namespace
}  // namespace edgecompress::metrics

int main() { return edgecompress::metrics::Main(); }
