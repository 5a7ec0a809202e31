#include "metrics/wandb_test_server.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace edgecompress::metrics {
namespace {

constexpr char kDefaultEntity[] = "test-entity";

void Reply(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

}  // namespace

std::string Base64Encode(const std::string& bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string encoded;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t triple = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) encoded.push_back(kAlphabet[(triple >> shift) & 63]);
  }
  if (i + 1 == bytes.size()) {
    const uint32_t single = uint8_t(bytes[i]) << 16;
    encoded += {kAlphabet[(single >> 18) & 63], kAlphabet[(single >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const uint32_t pair = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    encoded += {kAlphabet[(pair >> 18) & 63], kAlphabet[(pair >> 12) & 63],
                kAlphabet[(pair >> 6) & 63], '='};
  }
  return encoded;
}

absl::StatusOr<std::unique_ptr<WandbTestServer>> WandbTestServer::Start(const std::string& api_key) {
  std::unique_ptr<WandbTestServer> server(
      new WandbTestServer(absl::StrCat("Basic ", Base64Encode(absl::StrCat("api:", api_key)))));
  const absl::Status status = server->Listen(0);
  if (!status.ok()) return status;
  return server;
}

WandbTestServer::WandbTestServer(std::string expected_authorization)
    : expected_authorization_(std::move(expected_authorization)) {}

WandbTestServer::~WandbTestServer() { Stop(); }

std::string WandbTestServer::base_url() const { return absl::StrCat("http://127.0.0.1:", port_); }

absl::Status WandbTestServer::Listen(int port) {
  server_ = std::make_unique<httplib::Server>();
  // Every request passes here first: count, authenticate, fail on purpose.
  server_->set_pre_routing_handler([this](const httplib::Request& request,
                                          httplib::Response& response) {
    absl::MutexLock lock(&mutex_);
    ++requests_received_;
    if (request.get_header_value("Authorization") != expected_authorization_) {
      protocol_errors_.push_back(absl::StrCat(request.path, ": wrong or missing credentials"));
      Reply(response, 401, {{"error", "unauthorized"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    if (failures_left_ > 0) {
      --failures_left_;
      ++requests_failed_on_purpose_;
      if (!failure_retry_after_.empty()) response.set_header("Retry-After", failure_retry_after_);
      Reply(response, failure_status_, {{"error", "failing on purpose"}});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  server_->Post("/graphql", [this](const httplib::Request& request, httplib::Response& response) {
    const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object() || body.value("operationName", "") != "UpsertBucket" ||
        !body.contains("variables") || !body["variables"].is_object() ||
        !body["variables"].contains("name") || !body["variables"]["name"].is_string()) {
      Reply(response, 400, {{"errors", {{{"message", "expected UpsertBucket with a name"}}}}});
      return;
    }
    const nlohmann::json& variables = body["variables"];
    absl::MutexLock lock(&mutex_);
    Run& run = runs_[variables["name"].get<std::string>()];
    run.run_id = variables["name"].get<std::string>();
    run.entity = variables["entity"].is_string() ? variables["entity"].get<std::string>() : kDefaultEntity;
    run.project = variables["project"].is_string() ? variables["project"].get<std::string>()
                                                   : "uncategorized";
    run.upsert_variables = variables;
    ++run.upserts;
    run.exit_code.reset();  // an upsert of a finished run resumes it
    Reply(response, 200,
          {{"data",
            {{"upsertBucket",
              {{"inserted", run.upserts == 1},
               {"bucket",
                {{"id", absl::StrCat("bucket-", run.run_id)},
                 {"name", run.run_id},
                 {"displayName", run.run_id},
                 {"sweepName", variables.value("sweep", nlohmann::json())},
                 {"historyLineCount", run.history.size()},
                 {"project",
                  {{"id", "project-1"},
                   {"name", run.project},
                   {"entity", {{"id", "entity-1"}, {"name", run.entity}}}}}}}}}}}});
  });

  server_->Post(R"(/files/([^/]+)/([^/]+)/([^/]+)/file_stream)",
                [this](const httplib::Request& request, httplib::Response& response) {
    absl::MutexLock lock(&mutex_);
    const auto found = runs_.find(request.matches[3].str());
    if (found == runs_.end() || found->second.entity != request.matches[1].str() ||
        found->second.project != request.matches[2].str()) {
      protocol_errors_.push_back(absl::StrCat(request.path, ": file_stream before UpsertBucket"));
      Reply(response, 404, {{"error", "no such run"}});
      return;
    }
    Run& run = found->second;
    const nlohmann::json body = nlohmann::json::parse(request.body, nullptr, false);
    if (!body.is_object()) {
      protocol_errors_.push_back(absl::StrCat(request.path, ": body is not a JSON object"));
      Reply(response, 400, {{"error", "body is not a JSON object"}});
      return;
    }
    if (body.empty()) ++run.heartbeats;
    const bool has_data = body.contains("files");
    if (run.exit_code.has_value() && (has_data || body.contains("complete"))) {
      protocol_errors_.push_back(absl::StrCat(run.run_id, ": data after complete, without a resume"));
    }
    const nlohmann::json::json_pointer history_pointer("/files/wandb-history.jsonl");
    if (body.contains(history_pointer)) {
      const nlohmann::json& history = body[history_pointer];
      const int64_t offset = history.value("offset", int64_t{-1});
      const nlohmann::json& content = history.value("content", nlohmann::json::array());
      if (offset < 0 || offset > static_cast<int64_t>(run.history.size())) {
        protocol_errors_.push_back(absl::StrCat(run.run_id, ": history offset ", offset, " with ",
                                                run.history.size(), " lines stored"));
        Reply(response, 400, {{"error", "history offset leaves a gap"}});
        return;
      }
      for (size_t i = 0; i < content.size(); ++i) {
        const size_t index = static_cast<size_t>(offset) + i;
        if (index < run.history.size() && run.history[index] != content[i].get<std::string>()) {
          protocol_errors_.push_back(absl::StrCat(run.run_id, ": different line at ", index));
          Reply(response, 409, {{"error", "a different line exists at this offset"}});
          return;
        }
      }
      for (size_t i = 0; i < content.size(); ++i) {
        const size_t index = static_cast<size_t>(offset) + i;
        if (index < run.history.size()) {
          ++run.resent_lines;
        } else {
          run.history.push_back(content[i].get<std::string>());
        }
      }
    }
    const nlohmann::json::json_pointer summary_pointer("/files/wandb-summary.json/content");
    if (body.contains(summary_pointer) && !body[summary_pointer].empty()) {
      run.summary = body[summary_pointer].back().get<std::string>();
    }
    if (body.value("complete", false)) {
      run.exit_code = body.value("exitcode", -1);
      ++run.completions;
    }
    Reply(response, 200, answer_stopped_ ? nlohmann::json{{"stopped", true}} : nlohmann::json::object());
  });

  port_ = port == 0 ? server_->bind_to_any_port("127.0.0.1") : port;
  if (port_ <= 0 || (port != 0 && !server_->bind_to_port("127.0.0.1", port))) {
    return absl::UnavailableError(absl::StrCat("test server: cannot bind 127.0.0.1:", port));
  }
  httplib::Server* server = server_.get();
  thread_ = std::thread([server] { server->listen_after_bind(); });
  // stop() before the accept loop runs would be lost and join() would hang.
  while (!server_->is_running()) std::this_thread::yield();
  return absl::OkStatus();
}

void WandbTestServer::FailNextRequests(int count, int http_status, const std::string& retry_after) {
  absl::MutexLock lock(&mutex_);
  failures_left_ = count;
  failure_status_ = http_status;
  failure_retry_after_ = retry_after;
}

void WandbTestServer::AnswerStopped() {
  absl::MutexLock lock(&mutex_);
  answer_stopped_ = true;
}

void WandbTestServer::Stop() {
  if (server_ == nullptr) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

absl::Status WandbTestServer::Restart() {
  Stop();
  return Listen(port_);
}

std::optional<WandbTestServer::Run> WandbTestServer::FindRun(const std::string& run_id) const {
  absl::MutexLock lock(&mutex_);
  const auto found = runs_.find(run_id);
  if (found == runs_.end()) return std::nullopt;
  return found->second;
}

std::vector<std::string> WandbTestServer::protocol_errors() const {
  absl::MutexLock lock(&mutex_);
  return protocol_errors_;
}

int WandbTestServer::requests_received() const {
  absl::MutexLock lock(&mutex_);
  return requests_received_;
}

int WandbTestServer::requests_failed_on_purpose() const {
  absl::MutexLock lock(&mutex_);
  return requests_failed_on_purpose_;
}

}  // namespace edgecompress::metrics
