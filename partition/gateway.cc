#include "partition/gateway.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "partition/wire.h"
#include "tools/status/status_macros.h"

namespace edgecompress::partition {
namespace {

double Seconds(absl::Time since) { return absl::ToDoubleSeconds(absl::Now() - since); }

// One tile on one worker: the reply's floats, checked against the tile.
absl::StatusOr<std::vector<float>> RunTileOn(const Endpoint& worker, const RunTileRequest& request,
                                             const std::array<int64_t, 4>& expected,
                                             absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  ASSIGN_OR_RETURN(const ScopedFd fd, ConnectTcp(worker, deadline));
  RETURN_IF_ERROR(WriteFrame(fd.get(), EncodeRunTile(request), deadline));
  ASSIGN_OR_RETURN(const Frame reply, ReadFrame(fd.get(), deadline));
  if (reply.type == FrameType::kError) {
    ASSIGN_OR_RETURN(const ErrorReply error, DecodeError(reply));
    return absl::InternalError(absl::StrCat("the worker says: ", error.message));
  }
  ASSIGN_OR_RETURN(TileResult result, DecodeTileResult(reply));
  if (result.request_id != request.request_id || result.shape != expected) {
    return absl::DataLossError("a reply for another request or of another shape");
  }
  return std::move(result.output);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TileGateway>> TileGateway::Create(const onnx::ModelProto& model,
                                                                 const GatewayOptions& options) {
  if (options.workers.empty()) return absl::InvalidArgumentError("no workers to send tiles to");
  ASSIGN_OR_RETURN(FusedPrefix prefix,
                   FindFusedPrefix(model, options.fused_layers, static_cast<int64_t>(options.batch)));
  ASSIGN_OR_RETURN(TilePlan plan, PlanTiles(prefix.layers, options.rows, options.cols));
  std::vector<std::string> tile_models;
  for (const Tile& tile : plan.tiles) tile_models.push_back(TileModel(prefix, tile).SerializeAsString());
  ASSIGN_OR_RETURN(onnx::ModelProto rest_model, RestModel(prefix));
  ASSIGN_OR_RETURN(const inference::OnnxModel rest,
                   inference::OnnxModel::ImportBytes(rest_model.SerializeAsString(),
                                                     {.batch_size = options.batch}, "rest model"));
  ASSIGN_OR_RETURN(inference::OnnxRuntime runtime, rest.Build(options.num_threads));
  return std::unique_ptr<TileGateway>(new TileGateway(options, std::move(prefix), std::move(plan),
                                                      std::move(tile_models),
                                                      std::move(rest_model), std::move(runtime)));
}

absl::StatusOr<GatewayRun> TileGateway::Run(absl::Span<const float> input) {
  const std::array<int64_t, 4>& in = prefix_.input_shape;
  if (static_cast<int64_t>(input.size()) != in[0] * in[1] * in[2] * in[3]) {
    return absl::InvalidArgumentError(absl::StrCat("input of ", input.size(), " floats; the model takes ",
                                                   in[0] * in[1] * in[2] * in[3]));
  }
  const int num_tiles = static_cast<int>(plan_.tiles.size());
  const int num_workers = static_cast<int>(options_.workers.size());
  std::vector<RunTileRequest> requests(num_tiles);
  std::vector<std::array<int64_t, 4>> output_shapes(num_tiles);
  for (int t = 0; t < num_tiles; ++t) {
    const Tile& tile = plan_.tiles[t];
    const TileLayer& first = tile.layers.front();
    const TileLayer& last = tile.layers.back();
    requests[t] = {.request_id = next_request_id_++,
                   .model = tile_models_[t],
                   .shape = {in[0], in[1], first.input[0].size(), first.input[1].size()},
                   .input = CropTileInput(input, in, tile)};
    output_shapes[t] = {in[0], prefix_.cut_shape[1], last.output[0].size(),
                        last.output[1].size()};
  }

  GatewayRun run;
  run.tiles.resize(num_tiles);
  std::vector<std::vector<float>> outputs(num_tiles);
  std::vector<std::vector<bool>> tried(num_tiles, std::vector<bool>(num_workers, false));
  std::deque<int> queue;
  for (int t = 0; t < num_tiles; ++t) queue.push_back(t);
  std::vector<bool> busy(num_workers, false), retired(num_workers, false);
  int done = 0, in_flight = 0;
  std::mutex mutex;
  std::condition_variable changed;
  const absl::Time start = absl::Now();
  const auto serve = [&](int worker) {
    std::unique_lock<std::mutex> lock(mutex);
    while (true) {
      // Its own tiles (t mod workers) first, as DeepThings hands them out;
      // then, work stealing, a tile whose owner is busy with another or
      // retired. An owner that has not come for its tile yet keeps it, so
      // every worker gets its own tiles and the schedule does not depend on
      // which thread starts first.
      auto pick = queue.end();
      bool untried = false;
      for (auto it = queue.begin(); it != queue.end(); ++it) {
        if (tried[*it][worker]) continue;
        untried = true;
        const int owner = *it % num_workers;
        if (owner == worker) {
          pick = it;
          break;
        }
        if (pick == queue.end() && (busy[owner] || retired[owner])) pick = it;
      }
      if (pick == queue.end()) {
        // Nothing for this worker now; a tile may still come its way.
        if (done == num_tiles || (!untried && in_flight == 0)) return;
        changed.wait(lock);
        continue;
      }
      const int t = *pick;
      queue.erase(pick);
      tried[t][worker] = true;
      busy[worker] = true;
      ++in_flight;
      lock.unlock();
      const absl::Time attempt = absl::Now();
      absl::StatusOr<std::vector<float>> output =
          RunTileOn(options_.workers[worker], requests[t], output_shapes[t], options_.tile_timeout);
      lock.lock();
      busy[worker] = false;
      --in_flight;
      changed.notify_all();
      if (output.ok()) {
        outputs[t] = *std::move(output);
        run.tiles[t] = {.tile = t, .worker = worker, .failed_attempts = run.tiles[t].failed_attempts,
                        .seconds = Seconds(attempt)};
        ++done;
        continue;
      }
      ++run.tiles[t].failed_attempts;
      run.failures.push_back(absl::StrCat("tile ", t, " on ", options_.workers[worker].host, ":",
                                          options_.workers[worker].port, ": ",
                                          output.status().message()));
      queue.push_front(t);
      retired[worker] = true;
      return;
    }
  };
  std::vector<std::thread> threads;
  for (int w = 0; w < num_workers; ++w) threads.emplace_back(serve, w);
  for (std::thread& thread : threads) thread.join();
  run.tiles_seconds = Seconds(start);
  if (done < num_tiles) {
    const int t = queue.front();
    return absl::UnavailableError(absl::StrCat(
        "tile ", plan_.tiles[t].row, ",", plan_.tiles[t].col, ": no worker left to run it; last: ",
        run.failures.empty() ? "none" : run.failures.back()));
  }

  const std::array<int64_t, 4>& cut = prefix_.cut_shape;
  std::vector<float> stitched(cut[0] * cut[1] * cut[2] * cut[3]);
  for (int t = 0; t < num_tiles; ++t) {
    PlaceTileOutput(outputs[t], plan_.tiles[t], cut, absl::MakeSpan(stitched));
  }
  const absl::Time rest_start = absl::Now();
  run.output.resize(rest_.output_size());
  RETURN_IF_ERROR(rest_.Run(stitched, absl::MakeSpan(run.output)));
  run.rest_seconds = Seconds(rest_start);
  return run;
}

}  // namespace edgecompress::partition
