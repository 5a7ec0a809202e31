// The run directory's spool: every record a run produces, on disk before any
// of it goes over the network, in the order it must be sent.
//
// <run_directory>/spool.jsonl is append-only, one JSON object per line:
//   {"type":"run","writer":"<token>","start_time":<unix s>,"variables":{...}}
//   {"type":"history","offset":<line index>,"step":<_step>,"line":"<row text>"}
//   {"type":"summary","values":{<merged user values>},"line":"<whole summary>"}
//   {"type":"complete","writer":"<token>","exit_code":<int>}
// A "run" record (with the UpsertBucket variables) is written by every
// process that opens the run, under a fresh writer token, and a "complete"
// by every one that finishes it, so several processes (training,
// then bench) can share one run: history offsets and `_step`s continue where
// the file ends, the config and the summary merge. "line" holds the exact
// text sent, so a resend after a crash repeats it byte for byte.
// Summary values that are not finite are stored as the strings "NaN",
// "Infinity" and "-Infinity" (strict JSON has no such numbers).
//
// <run_directory>/spool.acked is {"acked_bytes": N}: the spool's first N
// bytes are acknowledged by the server. It is replaced atomically.
//
// Guarantees: appends from several processes are serialised by an exclusive
// flock on spool.jsonl and each record is one write(), so a killed process
// leaves whole records (page cache survives the process). A final line
// without its newline (power loss mid-write) is ignored by readers and cut
// off by the next writer. Records survive power loss only once Flush ran
// (MetricsRun::Finish calls it; there is no fsync per row).
#ifndef EDGECOMPRESS_METRICS_SPOOL_H_
#define EDGECOMPRESS_METRICS_SPOOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "training/metrics_sink.h"

namespace edgecompress::metrics {

inline constexpr char kSpoolFileName[] = "spool.jsonl";
inline constexpr char kAckedFileName[] = "spool.acked";

enum class SpoolRecordType { kRun, kHistory, kSummary, kComplete };

struct SpoolRecord {
  SpoolRecordType type = SpoolRecordType::kRun;
  int64_t end_byte = 0;             // file offset just past this record's newline
  nlohmann::json variables;         // kRun
  double start_time_seconds = 0;    // kRun: Unix seconds when the run began
  int64_t history_offset = 0;       // kHistory
  int64_t step = 0;                 // kHistory
  std::string line;                 // kHistory, kSummary: the text sent
  training::MetricValues summary_values;  // kSummary
  int exit_code = 0;                // kComplete
  std::string writer;               // kRun, kComplete: the writer's token
};

// What the records up to some point say about the run.
struct SpoolState {
  std::string run_id;               // from the first "run" record
  double start_time_seconds = 0;    // from the first "run" record
  nlohmann::json config = nlohmann::json::object();  // merged plain values
  int64_t next_history_offset = 0;
  int64_t last_step = -1;
  training::MetricValues summary;   // merged user values
  std::set<std::string> open_writers;  // tokens with a "run" but no "complete"
};

// The spool's records, in file order, and the state after all of them.
struct SpoolContents {
  std::vector<SpoolRecord> records;
  SpoolState state;
  int64_t whole_bytes = 0;  // bytes up to the last complete line
  int whole_lines = 0;
};

// Reads <run_directory>/spool.jsonl; a missing file reads as empty. A line
// that is not a record, or a history offset that does not continue the
// previous one, is kDataLoss naming "<path>:<line>".
absl::StatusOr<SpoolContents> ReadSpool(const std::string& run_directory);

// A record boundary in the spool and the state of the records before it.
struct SpoolCursor {
  int64_t byte = 0;
  int line = 0;
  SpoolState state;
};

// As ReadSpool, but only the records after `from` (whole_bytes and
// whole_lines still count from the file's start), so a reader that comes
// back need not parse the file again. kDataLoss when the file is shorter.
absl::StatusOr<SpoolContents> ReadSpoolFrom(const std::string& run_directory,
                                            const SpoolCursor& from);

// Appends records to one run directory's spool. Not thread-safe: callers
// serialise their own calls.
class SpoolWriter {
 public:
  // Creates the directory (one level) and the file if needed and reads what
  // the file already holds.
  static absl::StatusOr<std::unique_ptr<SpoolWriter>> Open(const std::string& run_directory);
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  // Under the file lock: reads what other writers appended since this one
  // last looked, calls `make_record` with the state after it, and appends
  // the record it returns (a JSON object in the format above; null appends
  // nothing). An error from `make_record` is returned and nothing is written.
  absl::Status Append(
      const std::function<absl::StatusOr<nlohmann::json>(const SpoolState&)>& make_record);

  // fdatasync: what was appended survives a power loss too (Append alone
  // survives the process, not the machine).
  absl::Status Flush();

  // The state after this writer's last Open or Append.
  const SpoolState& state() const { return state_; }
  const std::string& path() const { return path_; }

 private:
  SpoolWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  absl::Status CatchUp();  // with the lock held

  std::string path_;
  int fd_;
  SpoolState state_;
  int64_t scanned_bytes_ = 0;
  int scanned_lines_ = 0;
};

// spool.acked of `run_directory`: 0 when the file is missing, kDataLoss
// naming it when it does not hold {"acked_bytes": N} with N >= 0.
absl::StatusOr<int64_t> ReadAckedBytes(const std::string& run_directory);
absl::Status WriteAckedBytes(const std::string& run_directory, int64_t acked_bytes);

// Encodes summary values for a "summary" record (see above).
nlohmann::json SummaryValuesJson(const training::MetricValues& values);

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_SPOOL_H_
