// End-to-end delivery of the metrics client (//metrics) to the W&B-compatible
// test server on loopback: rows arrive exactly once and in order across
// forced 503/429s, a killed client, a server restart and a dead endpoint;
// with no endpoint everything lands in the run directory; the API key never
// reaches a log line or a file; corrupt spools are named in one error.
//
// Backoff is shrunk to a 1 ms base and a 20 ms cap, so the tests never sleep
// for seconds; waits for the background thread are bounded polls, never
// assertions on time.
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "metrics/metrics_run.h"
#include "metrics/spool.h"
#include "metrics/wandb_test_server.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::metrics {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kApiKey[] = "ec-test-key-0123456789abcdef0123456789abcdef";

std::string FreshDirectory(absl::string_view name) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::filesystem::remove_all(path);
  return path;
}

// Log lines of every run and sync in a test, shared with the upload threads.
class LogCapture {
 public:
  LogLine Sink() {
    return [this](absl::string_view line) {
      absl::MutexLock lock(&mutex_);
      lines_.emplace_back(line);
    };
  }
  std::vector<std::string> lines() const {
    absl::MutexLock lock(&mutex_);
    return lines_;
  }
  std::string joined() const {
    std::string all;
    for (const std::string& line : lines()) absl::StrAppend(&all, line, "\n");
    return all;
  }

 private:
  mutable absl::Mutex mutex_;
  std::vector<std::string> lines_ ABSL_GUARDED_BY(mutex_);
};

// Polls until `done` or 20 s pass; the caller asserts on the outcome.
bool WaitUntil(const std::function<bool()>& done) {
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (!done()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

UploadOptions FastUpload() {
  UploadOptions upload;
  upload.retry_base = absl::Milliseconds(1);
  upload.retry_cap = absl::Milliseconds(20);
  upload.request_timeout = absl::Seconds(5);
  upload.jitter_seed = 7;
  return upload;
}

// In a forked child: logs rows 0..9, waits until they are acknowledged,
// logs rows 10..19 and dies without Finish or destructors, mid-upload.
void RunChildThatDiesMidRun(const MetricsRunOptions& options, const std::string& dir) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<MetricsRun>> run = OpenMetricsRun(options);
    if (!run.ok()) _exit(10);
    for (int i = 0; i < 10; ++i) {
      if (!(*run)->Log(i, {{"row", i}, {"loss", 1.0 / (i + 1)}}).ok()) _exit(11);
    }
    const int64_t first_rows_bytes = static_cast<int64_t>(
        std::filesystem::file_size(absl::StrCat(dir, "/", kSpoolFileName)));
    const bool acked = WaitUntil([&] {
      absl::StatusOr<int64_t> bytes = ReadAckedBytes(dir);
      return bytes.ok() && *bytes >= first_rows_bytes;
    });
    if (!acked) _exit(12);
    for (int i = 10; i < 20; ++i) {
      if (!(*run)->Log(i, {{"row", i}, {"loss", 1.0 / (i + 1)}}).ok()) _exit(11);
    }
    _exit(0);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0) << "10 open, 11 log, 12 nothing acknowledged";
}

class MetricsDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<WandbTestServer>> server = WandbTestServer::Start(kApiKey);
    ASSERT_THAT(server, IsOk());
    server_ = *std::move(server);
  }

  MetricsRunOptions Options(const std::string& run_directory, const std::string& run_id) {
    MetricsRunOptions options;
    options.run_directory = run_directory;
    options.run_id = run_id;
    options.project = "compression";
    options.job_type = "train_prune";
    options.config = {{"lr", 0.01}, {"prune", {{"method", "magnitude"}, {"sparsity", 0.5}}}};
    options.base_url = server_->base_url();
    options.api_key = kApiKey;
    options.min_request_interval = absl::ZeroDuration();
    options.finish_timeout = absl::Seconds(20);
    options.upload = FastUpload();
    options.random_seed = 11;
    options.log_line = log_.Sink();
    return options;
  }

  SyncOptions Sync() {
    SyncOptions options;
    options.endpoint = Endpoint{server_->base_url(), kApiKey};
    options.upload = FastUpload();
    options.give_up_after = absl::Seconds(20);
    options.log_line = log_.Sink();
    return options;
  }

  // Logs rows {"row": i} at steps first..first+count-1.
  static void LogRows(MetricsRun& run, int first, int count) {
    for (int i = first; i < first + count; ++i) {
      ASSERT_THAT(run.Log(i, {{"row", i}, {"loss", 1.0 / (i + 1)}}), IsOk());
    }
  }

  // The server holds rows 0..count-1 once each, in order, with `_step` = row.
  void ExpectRowsOnceInOrder(const std::string& run_id, int count) {
    const std::optional<WandbTestServer::Run> run = server_->FindRun(run_id);
    ASSERT_TRUE(run.has_value()) << run_id;
    ASSERT_EQ(run->history.size(), static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      SCOPED_TRACE(run->history[i]);
      const nlohmann::json row = nlohmann::json::parse(run->history[i]);
      EXPECT_EQ(row["row"].get<int>(), i);
      EXPECT_EQ(row["_step"].get<int64_t>(), i);
      EXPECT_TRUE(row.contains("_runtime") && row.contains("_timestamp"));
    }
    EXPECT_THAT(server_->protocol_errors(), IsEmpty());
  }

  std::unique_ptr<WandbTestServer> server_;
  LogCapture log_;
};

class ForcedFailureTest : public MetricsDeliveryTest,
                          public ::testing::WithParamInterface<int> {};

TEST_P(ForcedFailureTest, EveryRowArrivesOnceInOrderAndTheRunCompletes) {
  const int status = GetParam();
  const std::string dir = FreshDirectory(absl::StrCat("forced_", status));
  // 429 also says when to come back (Retry-After wins over our backoff).
  server_->FailNextRequests(6, status, status == 429 ? "0.001" : "");
  auto run = OpenMetricsRun(Options(dir, "forced01"));
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 30);
  ASSERT_THAT((*run)->Summarize({{"test_top1", 0.8764}}), IsOk());
  ASSERT_THAT((*run)->Finish(0), IsOk());

  ExpectRowsOnceInOrder("forced01", 30);
  const std::optional<WandbTestServer::Run> received = server_->FindRun("forced01");
  EXPECT_EQ(server_->requests_failed_on_purpose(), 6);
  EXPECT_EQ(received->exit_code, 0);
  EXPECT_EQ(received->completions, 1);
  EXPECT_EQ(received->entity, "test-entity");  // the server chose: entity was null
  EXPECT_EQ(nlohmann::json::parse(received->summary)["test_top1"].get<double>(), 0.8764);
  EXPECT_EQ(received->upsert_variables["jobType"], "train_prune");
  EXPECT_EQ(nlohmann::json::parse(received->upsert_variables["config"].get<std::string>()),
            (nlohmann::json{{"lr", {{"value", 0.01}}},
                            {"prune", {{"value", {{"method", "magnitude"}, {"sparsity", 0.5}}}}}}));
  EXPECT_THAT(log_.lines(), IsEmpty());  // nothing left unsent, nothing to say
  EXPECT_THAT(ReadAckedBytes(dir), IsOkAndHolds(std::filesystem::file_size(
                                       absl::StrCat(dir, "/", kSpoolFileName))));
}

INSTANTIATE_TEST_SUITE_P(ServiceUnavailableAndTooManyRequests, ForcedFailureTest,
                         ::testing::Values(503, 429));

TEST_F(MetricsDeliveryTest, KilledClientRowsArriveOnceThroughSyncAndTheNextStart) {
  const std::string dir = FreshDirectory("killed");
  MetricsRunOptions options = Options(dir, "killed01");
  ASSERT_NO_FATAL_FAILURE(RunChildThatDiesMidRun(options, dir));

  // The worst crash point: the server had answered 2xx but our
  // acknowledgement never reached the disk. Everything is resent.
  ASSERT_THAT(WriteAckedBytes(dir, 0), IsOk());
  ASSERT_THAT(SyncRunDirectory(dir, Sync()), IsOk());
  ExpectRowsOnceInOrder("killed01", 20);
  std::optional<WandbTestServer::Run> received = server_->FindRun("killed01");
  EXPECT_GT(received->resent_lines, 0);  // identical lines at identical offsets
  EXPECT_EQ(received->exit_code, 1);     // killed: completed as failed, like `wandb sync`
  EXPECT_THAT(log_.joined(), HasSubstr("ended without finishing"));
  // A second sync has nothing left to send.
  const int requests = server_->requests_received();
  ASSERT_THAT(SyncRunDirectory(dir, Sync()), IsOk());
  EXPECT_EQ(server_->requests_received(), requests);

  // The next start in the same directory resumes the run where it ended.
  options.run_id.clear();  // taken from the directory
  auto run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  EXPECT_EQ((*run)->run_id(), "killed01");
  LogRows(**run, 20, 5);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ExpectRowsOnceInOrder("killed01", 25);
  received = server_->FindRun("killed01");
  EXPECT_EQ(received->exit_code, 0);
  EXPECT_EQ(received->completions, 2);
}

TEST_F(MetricsDeliveryTest, KilledClientRowsArriveOnceThroughTheNextStartAlone) {
  const std::string dir = FreshDirectory("killed_next_start");
  MetricsRunOptions options = Options(dir, "killed02");
  ASSERT_NO_FATAL_FAILURE(RunChildThatDiesMidRun(options, dir));
  // No sync: the next process in the directory uploads the rest, completes
  // the dead writer (exit 1) and then resumes the run with its own rows.
  auto run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 20, 5);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ExpectRowsOnceInOrder("killed02", 25);
  const std::optional<WandbTestServer::Run> received = server_->FindRun("killed02");
  EXPECT_EQ(received->completions, 2);  // failed (the killed child), then finished
  EXPECT_EQ(received->exit_code, 0);
}

TEST_F(MetricsDeliveryTest, RowsLoggedWhileTheServerIsDownArriveAfterItRestarts) {
  const std::string dir = FreshDirectory("restart");
  server_->Stop();
  auto run = OpenMetricsRun(Options(dir, "restart1"));
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 5);
  ASSERT_THAT(server_->Restart(), IsOk());
  LogRows(**run, 5, 5);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ExpectRowsOnceInOrder("restart1", 10);
  EXPECT_EQ(server_->FindRun("restart1")->exit_code, 0);

  // And a restart in the middle of a run, after rows were delivered.
  const std::string second_dir = FreshDirectory("restart_mid");
  run = OpenMetricsRun(Options(second_dir, "restart2"));
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 5);
  ASSERT_TRUE(WaitUntil([&] {
    const auto received = server_->FindRun("restart2");
    return received.has_value() && received->history.size() == 5;
  }));
  server_->Stop();
  LogRows(**run, 5, 5);
  ASSERT_THAT(server_->Restart(), IsOk());
  LogRows(**run, 10, 5);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ExpectRowsOnceInOrder("restart2", 15);
}

TEST_F(MetricsDeliveryTest, ADeadEndpointNeverFailsTheToolAndSyncUploadsLater) {
  const std::string dir = FreshDirectory("dead");
  server_->Stop();
  MetricsRunOptions options = Options(dir, "dead0001");
  options.finish_timeout = absl::Milliseconds(200);
  auto run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 10);
  ASSERT_THAT((*run)->Finish(3), IsOk());
  // run + 10 rows + complete, said in one line that names the spool.
  ASSERT_EQ(log_.lines().size(), 1u);
  EXPECT_THAT(log_.lines()[0], HasSubstr("12 records of run dead0001 not uploaded"));
  EXPECT_THAT(log_.lines()[0], HasSubstr(absl::StrCat(dir, "/", kSpoolFileName)));
  EXPECT_THAT(log_.lines()[0], HasSubstr("no response"));  // why, from the last attempt

  ASSERT_THAT(server_->Restart(), IsOk());
  ASSERT_THAT(SyncRunDirectory(dir, Sync()), IsOk());
  ExpectRowsOnceInOrder("dead0001", 10);
  EXPECT_EQ(server_->FindRun("dead0001")->exit_code, 3);
}

TEST_F(MetricsDeliveryTest, WithNoEndpointEverythingLandsInTheRunDirectory) {
  const std::string dir = FreshDirectory("offline");
  MetricsRunOptions options = Options(dir, "offline1");
  options.base_url.clear();
  // A clock that advances 10 s per reading: the run starts at T, row k is
  // read at T + 10 (k + 1) s.
  const absl::Time start = absl::FromUnixSeconds(1767236645);
  auto readings = std::make_shared<std::atomic<int>>(0);
  options.now = [start, readings] { return start + absl::Seconds(10) * (*readings)++; };
  auto run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 3);
  ASSERT_THAT((*run)->Log(0, {{"late", 1.0}}), IsOk());  // step 0 again: becomes _step 3
  ASSERT_THAT((*run)->Summarize({{"test_top1", 0.5}}), IsOk());
  ASSERT_THAT((*run)->Summarize({{"size_bytes", 144905}}), IsOk());
  ASSERT_THAT((*run)->Finish(0), IsOk());
  EXPECT_EQ(server_->requests_received(), 0);
  ASSERT_EQ(log_.lines().size(), 1u);
  EXPECT_THAT(log_.lines()[0], HasSubstr("only (no WANDB_BASE_URL)"));

  const absl::StatusOr<SpoolContents> spool = ReadSpool(dir);
  ASSERT_THAT(spool, IsOk());
  ASSERT_EQ(spool->records.size(), 8u);  // run, 4 rows, 2 summaries, complete
  const nlohmann::json row1 = nlohmann::json::parse(spool->records[2].line);
  EXPECT_EQ(row1["_step"], 1);
  EXPECT_EQ(row1["_runtime"], 20.0);
  EXPECT_EQ(row1["_timestamp"], 1767236665.0);
  EXPECT_EQ(nlohmann::json::parse(spool->records[4].line)["_step"], 3);
  const nlohmann::json summary = nlohmann::json::parse(spool->records[6].line);
  EXPECT_EQ(summary["test_top1"], 0.5);  // merged with the later call
  EXPECT_EQ(summary["size_bytes"], 144905.0);
  EXPECT_EQ(summary["_wandb"]["runtime"], 60);
  EXPECT_TRUE(spool->state.open_writers.empty());

  // The same directory uploads whenever an endpoint appears.
  ASSERT_THAT(SyncRunDirectory(dir, Sync()), IsOk());
  EXPECT_EQ(server_->FindRun("offline1")->history.size(), 4u);
  EXPECT_EQ(server_->FindRun("offline1")->exit_code, 0);
}

TEST_F(MetricsDeliveryTest, TwoProcessesShareOneRunAndItCompletesAfterTheLast) {
  const std::string dir = FreshDirectory("shared");
  MetricsRunOptions train_options = Options(dir, "trial007");
  MetricsRunOptions bench_options = Options(dir, "");  // joins whatever the directory holds
  bench_options.job_type = "bench";
  bench_options.config = {{"engine", "int8"}, {"lr", 0.02}};
  bench_options.random_seed = 12;
  auto train = OpenMetricsRun(train_options);
  ASSERT_THAT(train, IsOk());
  auto bench = OpenMetricsRun(bench_options);
  ASSERT_THAT(bench, IsOk());
  EXPECT_EQ((*bench)->run_id(), "trial007");
  LogRows(**train, 0, 4);
  ASSERT_THAT((*bench)->Log(0, {{"row", 4}, {"latency_ms", 1.25}}), IsOk());  // _step 4
  ASSERT_THAT((*train)->Finish(2), IsOk());
  EXPECT_FALSE(server_->FindRun("trial007")->exit_code.has_value());  // bench still open
  ASSERT_THAT((*bench)->Log(1, {{"row", 5}}), IsOk());
  ASSERT_THAT((*bench)->Finish(0), IsOk());

  ExpectRowsOnceInOrder("trial007", 6);
  const std::optional<WandbTestServer::Run> received = server_->FindRun("trial007");
  EXPECT_EQ(received->exit_code, 2);  // the first failure of the trial's processes
  EXPECT_EQ(received->completions, 1);
  EXPECT_EQ(nlohmann::json::parse(received->upsert_variables["config"].get<std::string>()),
            (nlohmann::json{{"lr", {{"value", 0.02}}},
                            {"engine", {{"value", "int8"}}},
                            {"prune", {{"value", {{"method", "magnitude"}, {"sparsity", 0.5}}}}}}));

  // A run directory belongs to one run id.
  EXPECT_THAT(OpenMetricsRun(Options(dir, "other01")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("trial007")));
}

TEST_F(MetricsDeliveryTest, TwoConcurrentProcessesAppendToOneRunWithoutLosingARow) {
  const std::string dir = FreshDirectory("concurrent");
  constexpr int kRowsEach = 60;
  MetricsRunOptions parent_options = Options(dir, "conc0001");
  MetricsRunOptions child_options = parent_options;
  child_options.job_type = "bench";
  child_options.random_seed = 99;  // another writer token
  // Both open before either logs, so the run completes only after both.
  auto parent = OpenMetricsRun(parent_options);
  ASSERT_THAT(parent, IsOk());
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<MetricsRun>> run = OpenMetricsRun(child_options);
    if (!run.ok()) _exit(10);
    for (int i = 0; i < kRowsEach; ++i) {
      if (!(*run)->Log(i, {{"writer", 2}, {"i", i}}).ok()) _exit(11);
    }
    _exit((*run)->Finish(0).ok() ? 0 : 12);
  }
  for (int i = 0; i < kRowsEach; ++i) ASSERT_THAT((*parent)->Log(i, {{"writer", 1}, {"i", i}}), IsOk());
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFEXITED(wait_status));
  ASSERT_EQ(WEXITSTATUS(wait_status), 0) << "10 open, 11 log, 12 finish";
  ASSERT_THAT((*parent)->Finish(0), IsOk());
  const std::optional<WandbTestServer::Run> received = server_->FindRun("conc0001");
  ASSERT_TRUE(received.has_value());
  ASSERT_EQ(received->history.size(), 2u * kRowsEach);
  int64_t previous_step = -1;
  int next_i[3] = {0, 0, 0};
  for (const std::string& line : received->history) {
    SCOPED_TRACE(line);
    const nlohmann::json row = nlohmann::json::parse(line);
    EXPECT_GT(row["_step"].get<int64_t>(), previous_step);
    previous_step = row["_step"].get<int64_t>();
    const int writer = static_cast<int>(row["writer"].get<double>());
    ASSERT_TRUE(writer == 1 || writer == 2);
    EXPECT_EQ(row["i"].get<double>(), next_i[writer]++);  // each writer's rows in its order
  }
  EXPECT_EQ(next_i[1], kRowsEach);
  EXPECT_EQ(next_i[2], kRowsEach);
  EXPECT_EQ(received->exit_code, 0);
  EXPECT_EQ(received->completions, 1);
  EXPECT_THAT(server_->protocol_errors(), IsEmpty());
  // Nothing was left behind for a sync.
  const int requests = server_->requests_received();
  ASSERT_THAT(SyncRunDirectory(dir, Sync()), IsOk());
  EXPECT_EQ(server_->requests_received(), requests);
}

TEST_F(MetricsDeliveryTest, TheApiKeyNeverAppearsInLogsOrFiles) {
  const std::string good_dir = FreshDirectory("key_good");
  const std::string bad_dir = FreshDirectory("key_bad");
  server_->FailNextRequests(2, 503);
  auto run = OpenMetricsRun(Options(good_dir, "keygood1"));
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 3);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ExpectRowsOnceInOrder("keygood1", 3);  // so the key did reach the server

  // A wrong key is refused (401, not retried); the message says so without it.
  const std::string wrong_key = "ec-wrong-key-fedcba9876543210";
  MetricsRunOptions bad = Options(bad_dir, "keybad01");
  bad.api_key = wrong_key;
  run = OpenMetricsRun(bad);
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 3);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  EXPECT_FALSE(server_->FindRun("keybad01").has_value());
  EXPECT_THAT(log_.joined(), HasSubstr("UNAUTHENTICATED"));
  EXPECT_THAT(log_.joined(), HasSubstr("HTTP 401"));
  SyncOptions bad_sync = Sync();
  bad_sync.endpoint.api_key = wrong_key;
  const absl::Status sync = SyncRunDirectory(bad_dir, bad_sync);
  EXPECT_THAT(sync, StatusIs(absl::StatusCode::kUnauthenticated));

  std::vector<std::string> secrets;
  for (const std::string& key : {std::string(kApiKey), wrong_key}) {
    secrets.push_back(key);
    secrets.push_back(Base64Encode(absl::StrCat("api:", key)));
  }
  std::string everything = absl::StrCat(log_.joined(), sync.ToString());
  for (const std::string& dir : {good_dir, bad_dir}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream file(entry.path());
      std::stringstream text;
      text << file.rdbuf();
      absl::StrAppend(&everything, entry.path().string(), "\n", text.str());
    }
  }
  for (const std::string& secret : secrets) EXPECT_THAT(everything, Not(HasSubstr(secret)));
}

TEST_F(MetricsDeliveryTest, ACorruptSpoolIsOneErrorNamingTheFile) {
  const std::string dir = FreshDirectory("corrupt");
  MetricsRunOptions options = Options(dir, "corrupt1");
  options.base_url.clear();
  auto run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 2);
  ASSERT_THAT((*run)->Finish(0), IsOk());
  const std::string spool_path = absl::StrCat(dir, "/", kSpoolFileName);
  {
    std::ofstream spool(spool_path, std::ios::app);
    spool << "{\"type\": \"history\", \"offset\": \n";
  }
  EXPECT_THAT(OpenMetricsRun(options),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(absl::StrCat(spool_path, ":5: "))));
  EXPECT_THAT(SyncRunDirectory(dir, Sync()),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(absl::StrCat(spool_path, ":5: "))));

  const std::string acked_dir = FreshDirectory("corrupt_acked");
  options.run_directory = acked_dir;
  run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ASSERT_THAT(WriteAckedBytes(acked_dir, 5), IsOk());  // inside the first record
  EXPECT_THAT(SyncRunDirectory(acked_dir, Sync()),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr(absl::StrCat(acked_dir, "/", kAckedFileName))));
  EXPECT_THAT(SyncRunDirectory(FreshDirectory("nothing_here"), Sync()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(MetricsDeliveryTest, HeartbeatsWhileIdleAndStopFromTheServerIsReported) {
  const std::string dir = FreshDirectory("heartbeat");
  MetricsRunOptions options = Options(dir, "beat0001");
  options.heartbeat_interval = absl::Milliseconds(20);
  auto run = OpenMetricsRun(options);
  ASSERT_THAT(run, IsOk());
  LogRows(**run, 0, 1);
  EXPECT_TRUE(WaitUntil([&] {
    const auto received = server_->FindRun("beat0001");
    return received.has_value() && received->heartbeats >= 2;
  }));
  EXPECT_FALSE((*run)->StopRequested());
  server_->AnswerStopped();
  LogRows(**run, 1, 1);
  EXPECT_TRUE(WaitUntil([&] { return (*run)->StopRequested(); }));
  ASSERT_THAT((*run)->Finish(0), IsOk());
  ExpectRowsOnceInOrder("beat0001", 2);
}

TEST(MetricsRunOptionsTest, BadOptionsAreInvalidArgument) {
  MetricsRunOptions options;
  EXPECT_THAT(OpenMetricsRun(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.run_directory = FreshDirectory("bad_options");
  options.run_id = "has/slash";
  EXPECT_THAT(OpenMetricsRun(options),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has/slash")));
  options.run_id = "fine";
  options.config = nlohmann::json::array();
  EXPECT_THAT(OpenMetricsRun(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(MetricsRunOptionsTest, FromEnvironmentReadsTheWandbVariables) {
  setenv("WANDB_BASE_URL", "http://127.0.0.1:9/", 1);
  setenv("WANDB_API_KEY", "k", 1);
  setenv("WANDB_PROJECT", "compression", 1);
  setenv("WANDB_RUN_ID", "q8x2k1ab", 1);
  setenv("WANDB_RUN_GROUP", "sweep-3", 1);
  setenv("WANDB_JOB_TYPE", "train_prune", 1);
  setenv("WANDB_TAGS", "int8, pruned,", 1);
  unsetenv("WANDB_MODE");
  MetricsRunOptions options = MetricsRunOptionsFromEnvironment("/tmp/run");
  EXPECT_EQ(options.base_url, "http://127.0.0.1:9");
  EXPECT_EQ(options.api_key, "k");
  EXPECT_EQ(options.project, "compression");
  EXPECT_EQ(options.run_id, "q8x2k1ab");
  EXPECT_EQ(options.group, "sweep-3");
  EXPECT_EQ(options.job_type, "train_prune");
  EXPECT_EQ(options.tags, (std::vector<std::string>{"int8", "pruned"}));
  setenv("WANDB_MODE", "offline", 1);
  EXPECT_EQ(MetricsRunOptionsFromEnvironment("/tmp/run").base_url, "");
}

}  // namespace
}  // namespace edgecompress::metrics
