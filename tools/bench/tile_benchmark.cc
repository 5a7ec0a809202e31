#include "tools/bench/tile_benchmark.h"

#include <algorithm>
#include <array>
#include <optional>
#include <atomic>
#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "inference/onnx_import.h"
#include "partition/gateway.h"
#include "partition/tile_memory.h"
#include "partition/tile_worker.h"
#include "training/onnx/onnx_file.h"
#include "tools/status/status_macros.h"

namespace edgecompress::bench {
namespace {

// TileWorkers on free loopback ports, each serving in its own thread until
// destroyed.
class LocalWorkers {
 public:
  static absl::StatusOr<std::unique_ptr<LocalWorkers>> Start(int count, int num_threads) {
    auto workers = std::unique_ptr<LocalWorkers>(new LocalWorkers);
    for (int i = 0; i < count; ++i) {
      int port = 0;
      ASSIGN_OR_RETURN(partition::ScopedFd fd, partition::ListenTcp({"127.0.0.1", 0}, &port));
      workers->endpoints_.push_back({"127.0.0.1", port});
      workers->fds_.push_back(std::move(fd));
      workers->workers_.push_back(
          std::make_unique<partition::TileWorker>(partition::TileWorkerOptions{.num_threads = num_threads}));
    }
    for (int i = 0; i < count; ++i) {
      workers->threads_.emplace_back([w = workers.get(), i] {
        (void)w->workers_[i]->Serve(w->fds_[i].get(), w->stop_);
      });
    }
    return workers;
  }
  ~LocalWorkers() {
    stop_ = true;
    for (std::thread& thread : threads_) thread.join();
  }
  const std::vector<partition::Endpoint>& endpoints() const { return endpoints_; }

 private:
  LocalWorkers() = default;
  std::vector<partition::Endpoint> endpoints_;
  std::vector<partition::ScopedFd> fds_;
  std::vector<std::unique_ptr<partition::TileWorker>> workers_;
  std::atomic<bool> stop_{false};
  std::vector<std::thread> threads_;
};

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0.0 : Percentile(values, 50);
}

}  // namespace

absl::StatusOr<TileBenchResult> RunTileBenchmark(const TileBenchConfig& config, Clock& clock) {
  ASSIGN_OR_RETURN(const onnx::ModelProto model, training::ReadOnnxFile(config.model_path));
  ASSIGN_OR_RETURN(const inference::OnnxModel whole_model,
                   inference::OnnxModel::ImportBytes(model.SerializeAsString(),
                                                     {.batch_size = config.batch},
                                                     config.model_path));
  ASSIGN_OR_RETURN(inference::OnnxRuntime whole, whole_model.Build(config.num_threads));
  std::vector<float> input(whole.input_size());
  std::mt19937_64 random(config.seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (float& x : input) x = uniform(random);
  std::vector<float> want(whole.output_size());
  RETURN_IF_ERROR(whole.Run(input, absl::MakeSpan(want)));

  std::unique_ptr<LocalWorkers> local;
  std::vector<partition::Endpoint> endpoints = config.workers;
  if (endpoints.empty()) {
    if (config.local_workers < 1) {
      return absl::InvalidArgumentError("give worker endpoints or at least one local worker");
    }
    ASSIGN_OR_RETURN(local, LocalWorkers::Start(config.local_workers, config.num_threads));
    endpoints = local->endpoints();
  }

  TileBenchResult result{.model_path = config.model_path,
                         .fused_layers = config.fused_layers,
                         .workers = static_cast<int>(endpoints.size())};
  std::optional<int64_t> whole_prefix_bytes;
  for (const auto& [rows, cols] : config.grids) {
    ASSIGN_OR_RETURN(std::unique_ptr<partition::TileGateway> gateway,
                     partition::TileGateway::Create(
                         model, {.fused_layers = config.fused_layers,
                                 .rows = rows,
                                 .cols = cols,
                                 .batch = config.batch,
                                 .workers = endpoints,
                                 .tile_timeout = config.tile_timeout,
                                 .num_threads = config.num_threads}));
    result.input_shape = gateway->prefix().input_shape;
    result.cut_shape = gateway->prefix().cut_shape;
    if (!whole_prefix_bytes.has_value()) {
      ASSIGN_OR_RETURN(const partition::TilePlan one,
                       partition::PlanTiles(gateway->prefix().layers, 1, 1));
      ASSIGN_OR_RETURN(const std::vector<partition::DeviceMemory> device,
                       partition::TileMemory(gateway->prefix(), one));
      whole_prefix_bytes = device.front().total_bytes();
    }
    TileBenchRow row{.rows = rows, .cols = cols, .whole_prefix_bytes = *whole_prefix_bytes};
    ASSIGN_OR_RETURN(const std::vector<partition::DeviceMemory> devices,
                     partition::TileMemory(gateway->prefix(), gateway->plan()));
    for (const partition::DeviceMemory& device : devices) {
      row.max_device_bytes = std::max(row.max_device_bytes, device.total_bytes());
    }
    std::vector<double> tiles_ms, rest_ms;
    std::vector<float> output(want.size());
    const std::function<absl::Status()> runs[] = {
        [&]() -> absl::Status {
          ASSIGN_OR_RETURN(partition::GatewayRun run, gateway->Run(input));
          tiles_ms.push_back(run.tiles_seconds * 1e3);
          rest_ms.push_back(run.rest_seconds * 1e3);
          for (const partition::TileRun& tile : run.tiles) row.failed_attempts += tile.failed_attempts;
          for (size_t i = 0; i < want.size(); ++i) {
            row.max_abs_difference =
                std::max<double>(row.max_abs_difference, std::abs(run.output[i] - want[i]));
          }
          return absl::OkStatus();
        },
        [&]() { return whole.Run(input, absl::MakeSpan(output)); },
    };
    ASSIGN_OR_RETURN(const std::vector<std::vector<double>> samples,
                     MeasureInterleaved(runs, config.policy, clock));
    ASSIGN_OR_RETURN(row.tiled, ComputeLatencyStats(samples[0]));
    ASSIGN_OR_RETURN(row.whole, ComputeLatencyStats(samples[1]));
    row.speedup = row.whole.median_ms / row.tiled.median_ms;
    row.tiles_ms = Median(tiles_ms);
    row.rest_ms = Median(rest_ms);
    result.rows.push_back(row);
  }
  return result;
}

std::string FormatTileTable(const TileBenchResult& result) {
  std::string table = absl::StrFormat(
      "%s: first %d layers (input %dx%dx%d -> cut %dx%dx%d) as tiles on %d workers\n",
      result.model_path, result.fused_layers, result.input_shape[1], result.input_shape[2],
      result.input_shape[3], result.cut_shape[1], result.cut_shape[2], result.cut_shape[3],
      result.workers);
  absl::StrAppendFormat(&table, "%-5s %11s %11s %8s %9s %9s %14s %14s %8s %10s\n", "grid",
                        "tiled ms", "whole ms", "ratio", "tiles ms", "rest ms", "device bytes",
                        "whole prefix", "memory", "max |diff|");
  for (const TileBenchRow& row : result.rows) {
    absl::StrAppendFormat(
        &table, "%-5s %11.3f %11.3f %7.2fx %9.3f %9.3f %14d %14d %7.2fx %10.2e\n",
        absl::StrCat(row.rows, "x", row.cols), row.tiled.median_ms, row.whole.median_ms,
        row.speedup, row.tiles_ms, row.rest_ms, row.max_device_bytes, row.whole_prefix_bytes,
        static_cast<double>(row.whole_prefix_bytes) / row.max_device_bytes,
        row.max_abs_difference);
  }
  return table;
}

nlohmann::json TileBenchJson(const TileBenchResult& result) {
  nlohmann::json rows = nlohmann::json::array();
  const auto latency = [](const LatencyStats& s) {
    return nlohmann::json{{"median", s.median_ms}, {"mean", s.mean_ms}, {"p90", s.p90_ms},
                          {"min", s.min_ms}, {"repetitions", s.count}};
  };
  for (const TileBenchRow& row : result.rows) {
    rows.push_back({{"grid", absl::StrCat(row.rows, "x", row.cols)},
                    {"rows", row.rows},
                    {"cols", row.cols},
                    {"tiled_latency_ms", latency(row.tiled)},
                    {"whole_latency_ms", latency(row.whole)},
                    {"whole_over_tiled", row.speedup},
                    {"tiles_ms_median", row.tiles_ms},
                    {"rest_ms_median", row.rest_ms},
                    {"max_device_bytes", row.max_device_bytes},
                    {"whole_prefix_bytes", row.whole_prefix_bytes},
                    {"device_memory_reduction",
                     static_cast<double>(row.whole_prefix_bytes) / row.max_device_bytes},
                    {"failed_attempts", row.failed_attempts},
                    {"max_abs_difference", row.max_abs_difference}});
  }
  return {{"model", result.model_path},
          {"fused_layers", result.fused_layers},
          {"input_shape", result.input_shape},
          {"cut_shape", result.cut_shape},
          {"workers", result.workers},
          {"grids", rows}};
}

}  // namespace edgecompress::bench
