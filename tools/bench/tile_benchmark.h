// bench for fused-tile partitioning (partition/): per tile grid, the
// end-to-end latency of a gateway sending the model's first layers as tiles
// to workers over TCP and running the rest itself, measured interleaved
// with the unpartitioned model on one runtime (so their ratio holds on a
// noisy machine), the time in tiles and in the rest, each device's memory
// (partition/tile_memory.h) against one device holding the whole prefix,
// and the largest difference of the outputs from the unpartitioned model's.
//
// Workers are the given endpoints, or `local_workers` TileWorkers serving
// loopback ports in threads of this process (the protocol and sockets are
// the real ones; the devices share this machine's cores, so the latency is
// an upper bound of what separate boards would see, and the point of the
// number is the overhead of cutting, sending and stitching).
#ifndef EDGECOMPRESS_TOOLS_BENCH_TILE_BENCHMARK_H_
#define EDGECOMPRESS_TOOLS_BENCH_TILE_BENCHMARK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "partition/frame_io.h"
#include "tools/bench/benchmark_runner.h"

namespace edgecompress::bench {

struct TileBenchConfig {
  std::string model_path;
  int fused_layers = 1;
  std::vector<std::pair<int, int>> grids = {{1, 1}, {2, 2}, {3, 3}};  // rows x cols
  size_t batch = 1;
  std::vector<partition::Endpoint> workers;  // empty: local workers
  int local_workers = 2;
  absl::Duration tile_timeout = absl::Seconds(10);  // per attempt (gateway.h)
  int num_threads = 1;  // of the unpartitioned model, the rest model and local workers
  RepetitionPolicy policy;
  uint64_t seed = 1;  // uniform [-1, 1] input
};

struct TileBenchRow {
  int rows = 1, cols = 1;
  LatencyStats tiled, whole;  // ms
  double speedup = 0.0;       // whole median / tiled median
  double tiles_ms = 0.0, rest_ms = 0.0;  // medians of the gateway's two phases
  int64_t max_device_bytes = 0;          // the largest tile's arena and weights
  int64_t whole_prefix_bytes = 0;        // one device running the whole prefix
  int failed_attempts = 0;               // over every repetition
  double max_abs_difference = 0.0;       // from the unpartitioned output
};

struct TileBenchResult {
  std::string model_path;
  int fused_layers = 0;
  std::array<int64_t, 4> input_shape = {}, cut_shape = {};
  int workers = 0;
  std::vector<TileBenchRow> rows;
};

// Errors: the model's (import, prefix, grid; kInvalidArgument,
// kUnimplemented, kNotFound), and kUnavailable when the workers fail.
absl::StatusOr<TileBenchResult> RunTileBenchmark(const TileBenchConfig& config, Clock& clock);

std::string FormatTileTable(const TileBenchResult& result);
nlohmann::json TileBenchJson(const TileBenchResult& result);

}  // namespace edgecompress::bench

#endif  // EDGECOMPRESS_TOOLS_BENCH_TILE_BENCHMARK_H_
