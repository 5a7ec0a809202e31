// tile_bench: bench for fused-tile partitioning (tile_benchmark.h): latency
// and per-device memory of a model's first layers run as a grid of tiles on
// workers, against the unpartitioned model. Flag parsing and wiring only.
#include <cstdio>
#include <iostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "partition/tiling.h"
#include "tools/bench/tile_benchmark.h"
#include "tools/result/result_json.h"
#include "tools/status/exit_code.h"

ABSL_FLAG(std::string, model, "", "The fp32 ONNX model (its first layers a chain of convs and pools).");
ABSL_FLAG(int, fused_layers, 1, "Conv and MaxPool layers fused into the tiles.");
ABSL_FLAG(std::vector<std::string>, grids, std::vector<std::string>({"1x1", "2x2", "3x3"}),
          "Tile grids, rows x cols, comma-separated.");
ABSL_FLAG(int, batch, 1, "Images per inference.");
ABSL_FLAG(std::vector<std::string>, workers, {},
          "tile_worker endpoints host:port, comma-separated; empty: --local_workers in-process "
          "workers on loopback.");
ABSL_FLAG(int, local_workers, 2, "In-process workers when --workers is empty.");
ABSL_FLAG(double, tile_timeout_seconds, 10.0,
          "Per tile attempt (connect, send, reply); a worker that takes longer is retired and "
          "its tile re-run on another.");
ABSL_FLAG(int, threads, 1, "XNNPACK threads of each runtime (whole model, rest, local workers).");
ABSL_FLAG(int, warmup, 3, "Untimed runs per grid.");
ABSL_FLAG(int, min_reps, 20, "Timed repetitions per grid at least.");
ABSL_FLAG(double, min_seconds, 1.0, "Measured seconds per grid at least.");
ABSL_FLAG(uint64_t, seed, 1, "Seed of the uniform [-1, 1] input.");
ABSL_FLAG(std::string, out, "", "Write the JSON result here (atomically); stdout if empty.");

namespace edgecompress::bench {
namespace {

int Fail(tools::ExitCode code, const absl::Status& status) {
  std::cerr << "tile_bench: " << status.message() << "\n";
  return code;
}

absl::StatusOr<TileBenchConfig> ConfigFromFlags() {
  TileBenchConfig config;
  config.model_path = absl::GetFlag(FLAGS_model);
  if (config.model_path.empty()) return absl::InvalidArgumentError("--model is required");
  config.fused_layers = absl::GetFlag(FLAGS_fused_layers);
  config.grids.clear();
  for (const std::string& grid : absl::GetFlag(FLAGS_grids)) {
    absl::StatusOr<std::pair<int, int>> parsed = partition::ParseGrid(grid);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--grids: ", parsed.status().message()));
    }
    config.grids.push_back(*parsed);
  }
  if (config.grids.empty()) return absl::InvalidArgumentError("--grids is empty");
  if (absl::GetFlag(FLAGS_batch) < 1 || absl::GetFlag(FLAGS_threads) < 1) {
    return absl::InvalidArgumentError("--batch and --threads must be at least 1");
  }
  config.batch = absl::GetFlag(FLAGS_batch);
  for (const std::string& text : absl::GetFlag(FLAGS_workers)) {
    absl::StatusOr<partition::Endpoint> endpoint = partition::ParseEndpoint(text);
    if (!endpoint.ok()) return absl::InvalidArgumentError(absl::StrCat("--workers: ", endpoint.status().message()));
    config.workers.push_back(*endpoint);
  }
  config.local_workers = absl::GetFlag(FLAGS_local_workers);
  const double timeout = absl::GetFlag(FLAGS_tile_timeout_seconds);
  if (!(timeout > 0)) return absl::InvalidArgumentError("--tile_timeout_seconds must be > 0");
  config.tile_timeout = absl::Seconds(timeout);
  config.num_threads = absl::GetFlag(FLAGS_threads);
  config.policy.warmup_runs = absl::GetFlag(FLAGS_warmup);
  config.policy.min_reps = absl::GetFlag(FLAGS_min_reps);
  config.policy.min_seconds = absl::GetFlag(FLAGS_min_seconds);
  if (absl::Status status = ValidatePolicy(config.policy); !status.ok()) return status;
  config.seed = absl::GetFlag(FLAGS_seed);
  return config;
}

int Run() {
  absl::StatusOr<TileBenchConfig> config = ConfigFromFlags();
  if (!config.ok()) return Fail(tools::kExitBadInput, config.status());
  SteadyClock clock;
  absl::StatusOr<TileBenchResult> result = RunTileBenchmark(*config, clock);
  if (!result.ok()) return Fail(tools::ExitCodeFor(result.status()), result.status());
  std::cerr << FormatTileTable(*result);
  nlohmann::json json = tools::NewResult(
      "tile_bench", config->seed,
      {{"model", config->model_path},
       {"fused_layers", absl::StrCat(config->fused_layers)},
       {"grids", absl::StrJoin(absl::GetFlag(FLAGS_grids), ",")},
       {"workers", absl::StrJoin(absl::GetFlag(FLAGS_workers), ",")},
       {"local_workers", absl::StrCat(config->local_workers)},
       {"threads", absl::StrCat(config->num_threads)},
       {"batch", absl::StrCat(config->batch)}});
  json.update(TileBenchJson(*result));
  if (absl::Status status = tools::WriteResult(absl::GetFlag(FLAGS_out), json);
      !status.ok()) {
    return Fail(tools::kExitOutputFailed, status);
  }
  return tools::kExitOk;
}

}  // namespace
}  // namespace edgecompress::bench

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Latency and per-device memory of a model's first layers run as fused tiles\n"
      "(DeepThings) on tile_worker processes, against the unpartitioned model.\n"
      "  tile_bench --model=m.onnx --fused_layers=6 --grids=1x1,2x2,3x3 "
      "[--workers=10.0.0.2:7000,10.0.0.3:7000]\n"
      "Exit codes: 0 success, 1 bad flag syntax, 2 bad input (model, flags), 3 the\n"
      "workers failed, 4 the result could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::bench::Run();
}
