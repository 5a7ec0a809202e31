// A device of fused-tile partitioning (DeepThings' "edge node"): it runs the
// tile models a gateway sends (tile_models.h) on inference/ and replies with
// the tile's output. Stateless per request, so that a gateway can send any
// tile to any worker and re-run a lost one elsewhere; the imported models
// are cached by their bytes (a device usually gets the same tile shapes
// again), up to `max_cached_models`, least recently used first out.
//
// One connection at a time, one request frame and one reply frame per
// connection. A request that does not decode, a model that does not import
// or an input of the wrong size gets a kError reply naming what is wrong;
// the worker goes on serving. A connection that stalls is dropped after
// `read_timeout`.
#ifndef EDGECOMPRESS_PARTITION_TILE_WORKER_H_
#define EDGECOMPRESS_PARTITION_TILE_WORKER_H_

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "inference/onnx_import.h"
#include "partition/wire.h"

namespace edgecompress::partition {

struct TileWorkerOptions {
  int num_threads = 1;  // XNNPACK threads per tile
  absl::Duration read_timeout = absl::Seconds(30);
  size_t max_cached_models = 16;
};

class TileWorker {
 public:
  explicit TileWorker(const TileWorkerOptions& options) : options_(options) {}

  // Accepts and serves connections on `listen_fd` until `stop` becomes true
  // (checked at least every 100 ms). Errors only when accepting fails.
  absl::Status Serve(int listen_fd, const std::atomic<bool>& stop);

  // The reply to one request frame: kTileResult or kError.
  Frame Handle(const Frame& request);

  int64_t tiles_served() const { return tiles_served_; }
  int64_t errors() const { return errors_; }

 private:
  struct CachedModel {
    std::string bytes;
    inference::OnnxRuntime runtime;
  };
  absl::StatusOr<inference::OnnxRuntime*> Runtime(const std::string& model_bytes);

  TileWorkerOptions options_;
  std::list<CachedModel> cache_;  // most recently used first
  int64_t tiles_served_ = 0, errors_ = 0;
};

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_TILE_WORKER_H_
