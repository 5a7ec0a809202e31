// A W&B-compatible server for tests (cpp-httplib on 127.0.0.1, an ephemeral
// port): UpsertBucket on POST /graphql and file_stream on
// POST /files/<entity>/<project>/<run>/file_stream, as
// ../shared/docs/wandb-protocol.md describes them. It records what arrives
// and is strict where the protocol lets a server be: history lines are kept
// by index like wandb's own test backend (tests/fixtures/wandb_backend_spy),
// an identical resend is counted and accepted, a different line at a known
// index is a 409 and a gap a 400, both also noted in protocol_errors().
// It can fail the next N requests with 503 or 429 and can be stopped and
// restarted on the same port; the runs it holds survive a restart.
#ifndef EDGECOMPRESS_METRICS_WANDB_TEST_SERVER_H_
#define EDGECOMPRESS_METRICS_WANDB_TEST_SERVER_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"

namespace httplib {
class Server;
}

namespace edgecompress::metrics {

class WandbTestServer {
 public:
  struct Run {
    std::string entity;
    std::string project;
    std::string run_id;
    nlohmann::json upsert_variables;  // of the last UpsertBucket
    int upserts = 0;
    std::vector<std::string> history;  // by line index
    std::string summary;               // the last summary line
    std::optional<int> exit_code;      // set by "complete"; a later upsert resumes
    int completions = 0;
    int heartbeats = 0;
    int resent_lines = 0;  // identical lines sent again at their index
  };

  // Accepts only Basic auth with user "api" and password `api_key`.
  static absl::StatusOr<std::unique_ptr<WandbTestServer>> Start(const std::string& api_key);
  ~WandbTestServer();

  int port() const { return port_; }
  std::string base_url() const;

  // The next `count` requests get `http_status` (with Retry-After when
  // `retry_after` is not empty) and change nothing.
  void FailNextRequests(int count, int http_status, const std::string& retry_after = "");
  // file_stream responses carry "stopped": true from now on.
  void AnswerStopped();

  void Stop();
  // Listens again on the same port.
  absl::Status Restart();

  std::optional<Run> FindRun(const std::string& run_id) const;
  std::vector<std::string> protocol_errors() const;
  int requests_received() const;
  int requests_failed_on_purpose() const;

 private:
  explicit WandbTestServer(std::string expected_authorization);
  absl::Status Listen(int port);

  const std::string expected_authorization_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;

  mutable absl::Mutex mutex_;
  std::map<std::string, Run> runs_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::string> protocol_errors_ ABSL_GUARDED_BY(mutex_);
  int requests_received_ ABSL_GUARDED_BY(mutex_) = 0;
  int requests_failed_on_purpose_ ABSL_GUARDED_BY(mutex_) = 0;
  int failures_left_ ABSL_GUARDED_BY(mutex_) = 0;
  int failure_status_ ABSL_GUARDED_BY(mutex_) = 503;
  std::string failure_retry_after_ ABSL_GUARDED_BY(mutex_);
  bool answer_stopped_ ABSL_GUARDED_BY(mutex_) = false;
};

// Standard base64 (RFC 4648, with padding), for the Basic auth header.
std::string Base64Encode(const std::string& bytes);

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_WANDB_TEST_SERVER_H_
