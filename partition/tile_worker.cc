#include "partition/tile_worker.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "partition/frame_io.h"
#include "tools/status/status_macros.h"

namespace edgecompress::partition {

absl::StatusOr<inference::OnnxRuntime*> TileWorker::Runtime(const std::string& model_bytes) {
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->bytes == model_bytes) {
      cache_.splice(cache_.begin(), cache_, it);
      return &cache_.front().runtime;
    }
  }
  ASSIGN_OR_RETURN(const inference::OnnxModel model,
                   inference::OnnxModel::ImportBytes(model_bytes, {}, "tile model"));
  ASSIGN_OR_RETURN(inference::OnnxRuntime runtime, model.Build(options_.num_threads));
  cache_.push_front({model_bytes, std::move(runtime)});
  if (cache_.size() > options_.max_cached_models) cache_.pop_back();
  return &cache_.front().runtime;
}

Frame TileWorker::Handle(const Frame& request) {
  absl::StatusOr<RunTileRequest> run = DecodeRunTile(request);
  const auto fail = [&](const absl::Status& status) {
    ++errors_;
    return EncodeError({.request_id = run.ok() ? run->request_id : 0,
                        .message = std::string(status.message())});
  };
  if (!run.ok()) return fail(run.status());
  absl::StatusOr<inference::OnnxRuntime*> runtime = Runtime(run->model);
  if (!runtime.ok()) return fail(runtime.status());
  const absl::Span<const size_t> in = (*runtime)->input_shape();
  const absl::Span<const size_t> out = (*runtime)->output_shape();
  if (in.size() != 4 || out.size() != 4 ||
      !std::equal(in.begin(), in.end(), run->shape.begin(), run->shape.end(),
                  [](size_t a, int64_t b) { return static_cast<int64_t>(a) == b; })) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "the input shape ", run->shape[0], "x", run->shape[1], "x", run->shape[2], "x",
        run->shape[3], " is not the tile model's")));
  }
  TileResult result{.request_id = run->request_id};
  for (int d = 0; d < 4; ++d) result.shape[d] = static_cast<int64_t>(out[d]);
  result.output.resize((*runtime)->output_size());
  if (absl::Status s = (*runtime)->Run(run->input, absl::MakeSpan(result.output)); !s.ok()) {
    return fail(s);
  }
  ++tiles_served_;
  return EncodeTileResult(result);
}

absl::Status TileWorker::Serve(int listen_fd, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    absl::StatusOr<ScopedFd> connection =
        AcceptTcp(listen_fd, absl::Now() + absl::Milliseconds(100));
    if (absl::IsDeadlineExceeded(connection.status())) continue;
    if (!connection.ok()) return connection.status();
    absl::StatusOr<Frame> request =
        ReadFrame(connection->get(), absl::Now() + options_.read_timeout);
    Frame reply;
    if (request.ok()) {
      reply = Handle(*request);
    } else if (absl::IsDataLoss(request.status())) {
      ++errors_;  // a malformed frame: say so; the stream cannot be trusted further
      reply = EncodeError({.message = std::string(request.status().message())});
    } else {
      ++errors_;  // the gateway went away or stalled: nobody to answer
      continue;
    }
    // A gateway that stopped reading loses its reply, nothing more.
    (void)WriteFrame(connection->get(), reply, absl::Now() + options_.read_timeout);
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::partition
