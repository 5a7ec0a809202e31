// The gateway of fused-tile partitioning (DeepThings, Sec. III): it cuts the
// input into the tiles' regions, sends each tile with its model to a worker
// (tile_worker.h) over the tile protocol (wire.h), stitches the replies into
// the cut and runs the rest of the model itself.
//
// Scheduling: one thread per worker takes tiles from a shared queue, its own
// (tile index mod workers) first, then any left (DeepThings' work stealing: a
// fast device takes more); one connection per tile.
// A worker that refuses, times out (`tile_timeout` for connect, request and
// reply), closes early, or sends a malformed frame or an error is retired
// for the rest of the run, and its tile goes back to the queue for the
// others; a tile is tried once per worker. The run fails (kUnavailable,
// naming the tile and the last error) only when a tile has no worker left.
//
// Exact: the result equals the unpartitioned model's up to float rounding of
// the backends (tile_models.h).
#ifndef EDGECOMPRESS_PARTITION_GATEWAY_H_
#define EDGECOMPRESS_PARTITION_GATEWAY_H_

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"
#include "partition/frame_io.h"
#include "partition/tile_models.h"
#include "partition/tiling.h"

namespace edgecompress::partition {

struct GatewayOptions {
  int fused_layers = 1;
  int rows = 1, cols = 1;
  size_t batch = 1;
  std::vector<Endpoint> workers;  // at least one
  absl::Duration tile_timeout = absl::Seconds(10);
  int num_threads = 1;  // XNNPACK threads of the rest model
};

// How one tile of a run went.
struct TileRun {
  int tile = 0;
  int worker = -1;      // index into options.workers that computed it
  int failed_attempts = 0;
  double seconds = 0.0;  // the successful attempt, connect to reply
};

struct GatewayRun {
  std::vector<float> output;
  std::vector<TileRun> tiles;          // by tile index
  std::vector<std::string> failures;   // one line per failed attempt
  double tiles_seconds = 0.0, rest_seconds = 0.0;
};

class TileGateway {
 public:
  // kInvalidArgument/kUnimplemented from the model and the grid
  // (tile_models.h, tiling.h), or for no workers.
  static absl::StatusOr<std::unique_ptr<TileGateway>> Create(const onnx::ModelProto& model,
                                                             const GatewayOptions& options);

  // `input` is the model's NCHW input for options.batch samples.
  absl::StatusOr<GatewayRun> Run(absl::Span<const float> input);

  const FusedPrefix& prefix() const { return prefix_; }
  const TilePlan& plan() const { return plan_; }
  // The serialized model of each tile, as sent.
  const std::vector<std::string>& tile_models() const { return tile_models_; }
  const onnx::ModelProto& rest_model() const { return rest_model_; }

 private:
  TileGateway(GatewayOptions options, FusedPrefix prefix, TilePlan plan,
              std::vector<std::string> tile_models, onnx::ModelProto rest_model,
              inference::OnnxRuntime rest)
      : options_(std::move(options)),
        prefix_(std::move(prefix)),
        plan_(std::move(plan)),
        tile_models_(std::move(tile_models)),
        rest_model_(std::move(rest_model)),
        rest_(std::move(rest)) {}

  GatewayOptions options_;
  FusedPrefix prefix_;
  TilePlan plan_;
  std::vector<std::string> tile_models_;
  onnx::ModelProto rest_model_;
  inference::OnnxRuntime rest_;
  uint64_t next_request_id_ = 1;
};

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_GATEWAY_H_
