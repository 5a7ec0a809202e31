#include "sweep/store.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tools/status/status_macros.h"

namespace edgecompress::sweep {
namespace {

// Binds parameters by position and steps a statement; finalizes on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return stmt_ != nullptr; }
  sqlite3_stmt* get() const { return stmt_; }
  void Bind(int i, absl::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  void Bind(int i, double value) { sqlite3_bind_double(stmt_, i, value); }
  std::string Text(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text == nullptr ? "" : reinterpret_cast<const char*>(text);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace

void SweepStore::Closer::operator()(sqlite3* db) const { sqlite3_close(db); }

absl::Status SweepStore::Error(absl::string_view what) const {
  return absl::InternalError(absl::StrCat(path_, ": ", what, ": ", sqlite3_errmsg(db_.get())));
}

absl::Status SweepStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &message) != SQLITE_OK) {
    const int code = sqlite3_errcode(db_.get());
    std::string text = message == nullptr ? "" : message;
    sqlite3_free(message);
    const std::string full = absl::StrCat(path_, ": ", text);
    return code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? absl::DataLossError(full)
                                                           : absl::InternalError(full);
  }
  return absl::OkStatus();
}

absl::StatusOr<SweepStore> SweepStore::Open(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                 nullptr);
  SweepStore store(path, db);
  if (rc != SQLITE_OK) return store.Error("cannot open");
  // Several controllers must not share one sweep: wait briefly, then fail.
  sqlite3_busy_timeout(db, 2000);
  RETURN_IF_ERROR(store.Exec(
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
      "CREATE TABLE IF NOT EXISTS trials(id INTEGER PRIMARY KEY, assignment TEXT NOT NULL,"
      " state TEXT NOT NULL, exit_code INTEGER NOT NULL, metrics TEXT NOT NULL,"
      " error TEXT NOT NULL, start_time_s REAL NOT NULL, end_time_s REAL NOT NULL,"
      " history TEXT NOT NULL);"));
  return store;
}

absl::Status SweepStore::SetMeta(absl::string_view key, absl::string_view value) {
  Statement statement(db_.get(), "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)");
  if (!statement.ok()) return Error("prepare meta");
  statement.Bind(1, key);
  statement.Bind(2, value);
  if (sqlite3_step(statement.get()) != SQLITE_DONE) return Error(absl::StrCat("write meta ", key));
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> SweepStore::Meta(absl::string_view key) {
  Statement statement(db_.get(), "SELECT value FROM meta WHERE key = ?");
  if (!statement.ok()) return Error("prepare meta");
  statement.Bind(1, key);
  const int rc = sqlite3_step(statement.get());
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  if (rc != SQLITE_ROW) return Error(absl::StrCat("read meta ", key));
  return std::optional<std::string>(statement.Text(0));
}

absl::Status SweepStore::Put(const Trial& trial) {
  Statement statement(db_.get(),
                      "INSERT OR REPLACE INTO trials(id, assignment, state, exit_code, metrics,"
                      " error, start_time_s, end_time_s, history) VALUES(?,?,?,?,?,?,?,?,?)");
  if (!statement.ok()) return Error("prepare trial");
  statement.Bind(1, trial.id);
  statement.Bind(2, nlohmann::json(trial.assignment).dump());
  statement.Bind(3, TrialStateName(trial.state));
  statement.Bind(4, int64_t{trial.exit_code});
  statement.Bind(5, nlohmann::json(trial.metrics).dump());
  statement.Bind(6, trial.error);
  statement.Bind(7, trial.start_time_s);
  statement.Bind(8, trial.end_time_s);
  statement.Bind(9, nlohmann::json(trial.history).dump());
  if (sqlite3_step(statement.get()) != SQLITE_DONE) {
    return Error(absl::StrCat("write trial ", trial.id));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Trial>> SweepStore::Trials() {
  Statement statement(db_.get(),
                      "SELECT id, assignment, state, exit_code, metrics, error, start_time_s,"
                      " end_time_s, history FROM trials ORDER BY id");
  if (!statement.ok()) return Error("prepare trials");
  std::vector<Trial> trials;
  int rc;
  while ((rc = sqlite3_step(statement.get())) == SQLITE_ROW) {
    Trial trial;
    trial.id = sqlite3_column_int64(statement.get(), 0);
    const std::optional<TrialState> state = ParseTrialState(statement.Text(2));
    const nlohmann::json assignment = nlohmann::json::parse(statement.Text(1), nullptr, false);
    const nlohmann::json metrics = nlohmann::json::parse(statement.Text(4), nullptr, false);
    const nlohmann::json history = nlohmann::json::parse(statement.Text(8), nullptr, false);
    if (!state || !assignment.is_array() || !metrics.is_object() || !history.is_array()) {
      return absl::DataLossError(absl::StrCat(path_, ": trial ", trial.id, " is corrupt"));
    }
    trial.state = *state;
    trial.assignment = assignment.get<Assignment>();
    trial.exit_code = sqlite3_column_int(statement.get(), 3);
    trial.metrics = metrics.get<std::map<std::string, double>>();
    trial.error = statement.Text(5);
    trial.start_time_s = sqlite3_column_double(statement.get(), 6);
    trial.end_time_s = sqlite3_column_double(statement.get(), 7);
    trial.history = history.get<std::vector<double>>();
    trials.push_back(std::move(trial));
  }
  if (rc != SQLITE_DONE) return Error("read trials");
  return trials;
}

}  // namespace edgecompress::sweep
