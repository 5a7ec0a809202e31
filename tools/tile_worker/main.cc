// tile_worker: one device of fused-tile partitioning (partition/tile_worker.h).
// Listens on --listen, prints "tile_worker: listening on HOST:PORT" once it
// accepts connections (port 0 picks a free one), and runs the tiles gateways
// send until SIGINT or SIGTERM. Flag parsing and wiring only.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/time/time.h"
#include "partition/frame_io.h"
#include "partition/tile_worker.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0", "host:port to listen on; port 0: any free port.");
ABSL_FLAG(int, threads, 1, "XNNPACK threads per tile.");
ABSL_FLAG(double, read_timeout_seconds, 30.0, "Drop a connection that stalls this long.");

namespace {

// The one piece of global state a signal handler needs.
std::atomic<bool> stop_requested{false};

void RequestStop(int) { stop_requested = true; }

int Fail(int code, const absl::Status& status) {
  std::cerr << "tile_worker: " << status.message() << "\n";
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs tile models for a fused-tile gateway (bench --tile_grids, or any\n"
      "partition::TileGateway).\n"
      "  tile_worker --listen=0.0.0.0:7000 --threads=1\n"
      "Exit codes: 0 stopped by a signal, 1 bad flag syntax, 2 bad flags, 3 the\n"
      "socket failed.");
  absl::ParseCommandLine(argc, argv);
  using edgecompress::partition::Endpoint;
  absl::StatusOr<Endpoint> endpoint = edgecompress::partition::ParseEndpoint(absl::GetFlag(FLAGS_listen));
  if (!endpoint.ok()) return Fail(2, endpoint.status());
  const int threads = absl::GetFlag(FLAGS_threads);
  const double timeout = absl::GetFlag(FLAGS_read_timeout_seconds);
  if (threads < 1 || !(timeout > 0)) {
    return Fail(2, absl::InvalidArgumentError("--threads must be >= 1 and --read_timeout_seconds > 0"));
  }
  int port = 0;
  absl::StatusOr<edgecompress::partition::ScopedFd> fd =
      edgecompress::partition::ListenTcp(*endpoint, &port);
  if (!fd.ok()) return Fail(3, fd.status());
  std::signal(SIGINT, RequestStop);
  std::signal(SIGTERM, RequestStop);
  std::printf("tile_worker: listening on %s:%d\n", endpoint->host.c_str(), port);
  std::fflush(stdout);
  edgecompress::partition::TileWorker worker(
      {.num_threads = threads, .read_timeout = absl::Seconds(timeout)});
  if (absl::Status served = worker.Serve(fd->get(), stop_requested); !served.ok()) {
    return Fail(3, served);
  }
  std::fprintf(stderr, "tile_worker: stopped after %lld tiles (%lld bad requests)\n",
               static_cast<long long>(worker.tiles_served()),
               static_cast<long long>(worker.errors()));
  return 0;
}
