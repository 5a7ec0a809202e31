#include "partition/gateway.h"

#include <sys/socket.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partition/frame_io.h"
#include "partition/test_models.h"
#include "partition/tile_worker.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::partition {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// A TileWorker serving on a free loopback port in a thread of the test.
class LocalWorker {
 public:
  LocalWorker() {
    absl::StatusOr<ScopedFd> fd = ListenTcp({"127.0.0.1", 0}, &port_);
    EXPECT_THAT(fd, IsOk());
    fd_ = *std::move(fd);
    thread_ = std::thread([this] { EXPECT_THAT(worker_.Serve(fd_.get(), stop_), IsOk()); });
  }
  ~LocalWorker() {
    stop_ = true;
    thread_.join();
  }
  Endpoint endpoint() const { return {"127.0.0.1", port_}; }
  const TileWorker& worker() const { return worker_; }

 private:
  int port_ = 0;
  ScopedFd fd_;
  TileWorker worker_{TileWorkerOptions{}};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// A port nothing listens on: bound, then closed.
Endpoint DeadEndpoint() {
  int port = 0;
  { absl::StatusOr<ScopedFd> fd = ListenTcp({"127.0.0.1", 0}, &port); }
  return {"127.0.0.1", port};
}

std::vector<float> Input(size_t batch) {
  std::vector<float> input(batch * 3 * 30 * 30);
  for (size_t i = 0; i < input.size(); ++i) input[i] = std::sin(0.011f * i * i + 0.3f * i);
  return input;
}

void ExpectNear(const std::vector<float>& got, const std::vector<float>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
}

TEST(GatewayTest, TwoWorkersComputeTheWholeModel) {
  const onnx::ModelProto model = StemModel();
  const std::vector<float> input = Input(2);
  const std::vector<float> want = RunModel(model, input, 2);
  LocalWorker a, b;
  absl::StatusOr<std::unique_ptr<TileGateway>> gateway = TileGateway::Create(
      model, {.fused_layers = 4, .rows = 3, .cols = 3, .batch = 2,
              .workers = {a.endpoint(), b.endpoint()}});
  ASSERT_THAT(gateway, IsOk());
  for (int repeat = 0; repeat < 2; ++repeat) {
    absl::StatusOr<GatewayRun> run = (*gateway)->Run(input);
    ASSERT_THAT(run, IsOk());
    ExpectNear(run->output, want);
    EXPECT_THAT(run->failures, IsEmpty());
    ASSERT_THAT(run->tiles, SizeIs(9));
    for (const TileRun& tile : run->tiles) EXPECT_EQ(tile.failed_attempts, 0);
  }
  EXPECT_EQ(a.worker().tiles_served() + b.worker().tiles_served(), 18);
}

// A dead worker, one that never answers and one that answers garbage: each
// fails on the first of its own tiles and is retired, and the live worker
// runs all nine; the output is still exact.
TEST(GatewayTest, FailedWorkersTilesRunElsewhere) {
  const onnx::ModelProto model = StemModel();
  const std::vector<float> input = Input(1);
  const std::vector<float> want = RunModel(model, input, 1);
  LocalWorker live;
  int silent_port = 0, garbage_port = 0;
  absl::StatusOr<ScopedFd> silent = ListenTcp({"127.0.0.1", 0}, &silent_port);  // never accepts
  absl::StatusOr<ScopedFd> garbage = ListenTcp({"127.0.0.1", 0}, &garbage_port);
  ASSERT_THAT(silent, IsOk());
  ASSERT_THAT(garbage, IsOk());
  std::thread liar([&] {
    absl::StatusOr<ScopedFd> connection =
        AcceptTcp(garbage->get(), absl::Now() + absl::Seconds(20));
    if (!connection.ok()) return;
    (void)ReadFrame(connection->get(), absl::Now() + absl::Seconds(5));
    const Frame reply = EncodeTileResult({.request_id = 1, .shape = {1, 1, 1, 1}, .output = {0}});
    std::string bytes = EncodeFrame(reply);
    bytes[kFrameHeaderBytes] ^= 0x55;  // corrupted in transit
    (void)send(connection->get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  });
  const std::vector<Endpoint> workers = {DeadEndpoint(), {"127.0.0.1", silent_port},
                                         {"127.0.0.1", garbage_port}, live.endpoint()};
  absl::StatusOr<std::unique_ptr<TileGateway>> gateway =
      TileGateway::Create(model, {.fused_layers = 2, .rows = 3, .cols = 3, .batch = 1,
                                  .workers = workers, .tile_timeout = absl::Milliseconds(500)});
  ASSERT_THAT(gateway, IsOk());
  absl::StatusOr<GatewayRun> run = (*gateway)->Run(input);
  liar.join();
  ASSERT_THAT(run, IsOk());
  ExpectNear(run->output, want);
  ASSERT_THAT(run->failures, SizeIs(3));
  std::string failures;
  for (const std::string& line : run->failures) failures += line + "\n";
  EXPECT_THAT(failures, HasSubstr("Connection refused"));
  EXPECT_THAT(failures, HasSubstr("timed out"));
  EXPECT_THAT(failures, HasSubstr("checksum mismatch"));
  for (const TileRun& tile : run->tiles) EXPECT_EQ(tile.worker, 3);
}

TEST(GatewayTest, FailsWhenNoWorkerIsLeft) {
  absl::StatusOr<std::unique_ptr<TileGateway>> gateway = TileGateway::Create(
      StemModel(), {.fused_layers = 1, .rows = 2, .cols = 1, .workers = {DeadEndpoint()}});
  ASSERT_THAT(gateway, IsOk());
  absl::StatusOr<GatewayRun> run = (*gateway)->Run(Input(1));
  EXPECT_TRUE(absl::IsUnavailable(run.status())) << run.status();
  EXPECT_THAT(run.status().message(), HasSubstr("no worker left"));
  EXPECT_THAT((*gateway)->Run(std::vector<float>(5)).status().message(),
              HasSubstr("input of 5 floats"));
  EXPECT_THAT(TileGateway::Create(StemModel(), {}).status().message(), HasSubstr("no workers"));
}

// The worker answers every malformed request with an error and keeps going.
TEST(TileWorkerTest, AnswersBadRequestsWithErrors) {
  TileWorker worker{TileWorkerOptions{}};
  const auto message = [&](const Frame& request) {
    const Frame reply = worker.Handle(request);
    absl::StatusOr<ErrorReply> error = DecodeError(reply);
    return error.ok() ? error->message : std::string("no error reply");
  };
  EXPECT_THAT(message(EncodeTileResult({})), HasSubstr("where a tile request was expected"));
  EXPECT_THAT(message(EncodeRunTile({.request_id = 3, .model = "not onnx"})),
              HasSubstr("tile model"));
  absl::StatusOr<FusedPrefix> prefix = FindFusedPrefix(StemModel(), 1, 1);
  ASSERT_THAT(prefix, IsOk());
  absl::StatusOr<TilePlan> plan = PlanTiles(prefix->layers, 1, 1);
  ASSERT_THAT(plan, IsOk());
  const std::string model = TileModel(*prefix, plan->tiles[0]).SerializeAsString();
  EXPECT_THAT(message(EncodeRunTile({.model = model, .shape = {1, 3, 2, 2},
                                     .input = std::vector<float>(12)})),
              HasSubstr("is not the tile model's"));
  EXPECT_EQ(worker.errors(), 3);
  EXPECT_EQ(worker.tiles_served(), 0);
}

}  // namespace
}  // namespace edgecompress::partition
