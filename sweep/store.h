// The sweep's state in one SQLite file (<sweep dir>/sweep.db), so that a
// killed controller loses nothing but its running trials: `sweep resume`
// reads the config and every trial back and runs only what is not done.
//
// Tables: meta(key, value) holds the config text, program, seed and the
// like; trials(id, ...) one row per trial, written when a trial starts and
// again when it ends, each write its own transaction (WAL journal, so a
// reader such as `sweep report` never blocks the controller). A row whose
// state is "running" after a restart belongs to a trial that was cut off.
#ifndef EDGECOMPRESS_SWEEP_STORE_H_
#define EDGECOMPRESS_SWEEP_STORE_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "sweep/trial.h"

struct sqlite3;

namespace edgecompress::sweep {

class SweepStore {
 public:
  // Opens or creates the database; errors name the path (kDataLoss for a
  // file that is not a sweep database).
  static absl::StatusOr<SweepStore> Open(const std::string& path);

  absl::Status SetMeta(absl::string_view key, absl::string_view value);
  // nullopt when the key was never set.
  absl::StatusOr<std::optional<std::string>> Meta(absl::string_view key);

  // Inserts or replaces the row of `trial.id`.
  absl::Status Put(const Trial& trial);
  // Every trial, by id.
  absl::StatusOr<std::vector<Trial>> Trials();

  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(sqlite3* db) const;
  };
  SweepStore(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}
  absl::Status Exec(const char* sql);
  absl::Status Error(absl::string_view what) const;

  std::string path_;
  std::unique_ptr<sqlite3, Closer> db_;
};

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_STORE_H_
