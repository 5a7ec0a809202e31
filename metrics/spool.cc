#include "metrics/spool.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "tools/io/atomic_file.h"
#include "tools/status/status_macros.h"

namespace edgecompress::metrics {
namespace {

absl::Status ErrnoError(absl::string_view path, absl::string_view what) {
  const int error = errno;
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(path, ": ", what, ": ", std::strerror(error)));
}

// The file's bytes from `offset` on; nullopt when it does not exist.
absl::StatusOr<std::optional<std::string>> ReadFileFrom(const std::string& path, int64_t offset) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return ErrnoError(path, "cannot open");
  }
  if (lseek(fd, offset, SEEK_SET) != offset) {
    const absl::Status error = ErrnoError(path, "cannot seek");
    close(fd);
    return error;
  }
  std::string text;
  char buffer[1 << 16];
  while (true) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const absl::Status error = ErrnoError(path, "cannot read");
      close(fd);
      return error;
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return std::optional<std::string>(std::move(text));
}

std::string SpoolPath(const std::string& run_directory) {
  return absl::StrCat(run_directory, "/", kSpoolFileName);
}

absl::Status Corrupt(absl::string_view path, int line_number, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(path, ":", line_number, ": ", what));
}

absl::StatusOr<double> SummaryValue(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value == "NaN") return std::nan("");
  if (value == "Infinity") return HUGE_VAL;
  if (value == "-Infinity") return -HUGE_VAL;
  return absl::InvalidArgumentError("not a number");
}

// Parses one line and folds it into `state`, checking that it continues it.
absl::StatusOr<SpoolRecord> ParseRecord(absl::string_view text, absl::string_view path,
                                        int line_number, SpoolState* state) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return Corrupt(path, line_number, "not a JSON object");
  }
  const auto has = [&](const char* key, nlohmann::json::value_t type) {
    if (!json.contains(key)) return false;
    const nlohmann::json& value = json[key];
    if (type == nlohmann::json::value_t::number_integer) return value.is_number_integer();
    if (type == nlohmann::json::value_t::number_float) return value.is_number();
    return value.type() == type;
  };
  if (!has("type", nlohmann::json::value_t::string)) {
    return Corrupt(path, line_number, "record has no \"type\"");
  }
  const std::string type = json["type"].get<std::string>();
  SpoolRecord record;
  const bool has_writer = has("writer", nlohmann::json::value_t::string);
  if (has_writer) record.writer = json["writer"].get<std::string>();
  if (type != "run" && state->run_id.empty()) {
    return Corrupt(path, line_number, absl::StrCat("\"", type, "\" record before any run record"));
  }
  if (type == "run") {
    if (!has_writer || !has("variables", nlohmann::json::value_t::object) ||
        !has("start_time", nlohmann::json::value_t::number_float) ||
        !json["variables"].contains("name") || !json["variables"]["name"].is_string()) {
      return Corrupt(path, line_number, "\"run\" record needs writer, variables.name and start_time");
    }
    record.type = SpoolRecordType::kRun;
    record.variables = json["variables"];
    record.start_time_seconds = json["start_time"].get<double>();
    const std::string run_id = record.variables["name"].get<std::string>();
    if (state->run_id.empty()) {
      state->run_id = run_id;
      state->start_time_seconds = record.start_time_seconds;
    } else if (run_id != state->run_id) {
      return Corrupt(path, line_number,
                     absl::StrCat("run id \"", run_id, "\" after run id \"", state->run_id, "\""));
    }
    // The config travels as a JSON string of {"key": {"value": v}}.
    if (record.variables.contains("config") && record.variables["config"].is_string()) {
      const nlohmann::json config = nlohmann::json::parse(
          record.variables["config"].get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (!config.is_object()) return Corrupt(path, line_number, "config is not a JSON object");
      for (const auto& [key, entry] : config.items()) {
        if (entry.is_object() && entry.contains("value")) state->config[key] = entry["value"];
      }
    }
    if (!state->open_writers.insert(record.writer).second) {
      return Corrupt(path, line_number, absl::StrCat("writer \"", record.writer, "\" opened twice"));
    }
  } else if (type == "history") {
    if (!has("offset", nlohmann::json::value_t::number_integer) ||
        !has("step", nlohmann::json::value_t::number_integer) ||
        !has("line", nlohmann::json::value_t::string)) {
      return Corrupt(path, line_number, "\"history\" record needs offset, step and line");
    }
    record.type = SpoolRecordType::kHistory;
    record.history_offset = json["offset"].get<int64_t>();
    record.step = json["step"].get<int64_t>();
    record.line = json["line"].get<std::string>();
    if (record.history_offset != state->next_history_offset) {
      return Corrupt(path, line_number,
                     absl::StrCat("history offset ", record.history_offset, " where ",
                                  state->next_history_offset, " comes next"));
    }
    if (record.step <= state->last_step) {
      return Corrupt(path, line_number,
                     absl::StrCat("_step ", record.step, " after _step ", state->last_step));
    }
    state->next_history_offset = record.history_offset + 1;
    state->last_step = record.step;
  } else if (type == "summary") {
    if (!has("values", nlohmann::json::value_t::object) ||
        !has("line", nlohmann::json::value_t::string)) {
      return Corrupt(path, line_number, "\"summary\" record needs values and line");
    }
    record.type = SpoolRecordType::kSummary;
    record.line = json["line"].get<std::string>();
    for (const auto& [key, value] : json["values"].items()) {
      absl::StatusOr<double> number = SummaryValue(value);
      if (!number.ok()) {
        return Corrupt(path, line_number, absl::StrCat("summary value \"", key, "\" is not a number"));
      }
      record.summary_values[key] = *number;
    }
    state->summary = record.summary_values;
  } else if (type == "complete") {
    if (!has_writer || !has("exit_code", nlohmann::json::value_t::number_integer)) {
      return Corrupt(path, line_number, "\"complete\" record needs writer and exit_code");
    }
    record.type = SpoolRecordType::kComplete;
    record.exit_code = json["exit_code"].get<int>();
    if (state->open_writers.erase(record.writer) == 0) {
      return Corrupt(path, line_number,
                     absl::StrCat("\"complete\" for writer \"", record.writer, "\", which is not open"));
    }
  } else {
    return Corrupt(path, line_number, absl::StrCat("unknown record type \"", type, "\""));
  }
  return record;
}

// Parses the whole lines of `text`, which starts at byte `base_byte` and line
// `line_number` + 1 of the file. Returns the bytes of whole lines.
absl::StatusOr<int64_t> ParseLines(absl::string_view text, absl::string_view path,
                                   int64_t base_byte, int* line_number, SpoolState* state,
                                   std::vector<SpoolRecord>* records) {
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t newline = text.find('\n', begin);
    if (newline == absl::string_view::npos) break;  // a torn final line
    ++*line_number;
    ASSIGN_OR_RETURN(SpoolRecord record,
                     ParseRecord(text.substr(begin, newline - begin), path, *line_number, state));
    record.end_byte = base_byte + static_cast<int64_t>(newline + 1);
    if (records != nullptr) records->push_back(std::move(record));
    begin = newline + 1;
  }
  return static_cast<int64_t>(begin);
}

}  // namespace

nlohmann::json SummaryValuesJson(const training::MetricValues& values) {
  nlohmann::json json = nlohmann::json::object();
  for (const auto& [key, value] : values) {
    if (std::isnan(value)) {
      json[key] = "NaN";
    } else if (std::isinf(value)) {
      json[key] = value > 0 ? "Infinity" : "-Infinity";
    } else {
      json[key] = value;
    }
  }
  return json;
}

absl::StatusOr<SpoolContents> ReadSpool(const std::string& run_directory) {
  return ReadSpoolFrom(run_directory, SpoolCursor{});
}

absl::StatusOr<SpoolContents> ReadSpoolFrom(const std::string& run_directory,
                                            const SpoolCursor& from) {
  const std::string path = SpoolPath(run_directory);
  SpoolContents contents;
  contents.state = from.state;
  contents.whole_bytes = from.byte;
  contents.whole_lines = from.line;
  ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadFileFrom(path, from.byte));
  if (!text.has_value()) {
    if (from.byte == 0) return contents;
    return absl::DataLossError(absl::StrCat(path, ": missing, but ", from.byte, " bytes were read"));
  }
  // lseek past the end succeeds and reads nothing: check the size instead.
  struct stat info;
  if (stat(path.c_str(), &info) == 0 && info.st_size < from.byte) {
    return absl::DataLossError(absl::StrCat(path, ": shrank below ", from.byte, " bytes"));
  }
  ASSIGN_OR_RETURN(const int64_t whole,
                   ParseLines(*text, path, from.byte, &contents.whole_lines, &contents.state,
                              &contents.records));
  contents.whole_bytes += whole;
  return contents;
}

absl::StatusOr<std::unique_ptr<SpoolWriter>> SpoolWriter::Open(const std::string& run_directory) {
  if (mkdir(run_directory.c_str(), 0755) != 0 && errno != EEXIST) {
    return ErrnoError(run_directory, "cannot create run directory");
  }
  const std::string path = SpoolPath(run_directory);
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(path, "cannot open");
  std::unique_ptr<SpoolWriter> writer(new SpoolWriter(path, fd));
  if (flock(fd, LOCK_EX) != 0) return ErrnoError(path, "cannot lock");
  const absl::Status status = writer->CatchUp();
  flock(fd, LOCK_UN);
  RETURN_IF_ERROR(status);
  return writer;
}

SpoolWriter::~SpoolWriter() { close(fd_); }

absl::Status SpoolWriter::CatchUp() {
  struct stat info;
  if (fstat(fd_, &info) != 0) return ErrnoError(path_, "cannot stat");
  if (info.st_size > scanned_bytes_) {
    std::string tail(static_cast<size_t>(info.st_size - scanned_bytes_), '\0');
    size_t done = 0;
    while (done < tail.size()) {
      const ssize_t n = pread(fd_, tail.data() + done, tail.size() - done, scanned_bytes_ + done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoError(path_, "cannot read");
      done += static_cast<size_t>(n);
    }
    ASSIGN_OR_RETURN(const int64_t whole,
                     ParseLines(tail, path_, scanned_bytes_, &scanned_lines_, &state_, nullptr));
    scanned_bytes_ += whole;
  }
  // We hold the lock, so nobody is mid-write: a partial line is what a
  // writer left when the machine went down. Cut it so ours starts a line.
  if (info.st_size > scanned_bytes_ && ftruncate(fd_, scanned_bytes_) != 0) {
    return ErrnoError(path_, "cannot cut a torn final line");
  }
  return absl::OkStatus();
}

absl::Status SpoolWriter::Append(
    const std::function<absl::StatusOr<nlohmann::json>(const SpoolState&)>& make_record) {
  if (flock(fd_, LOCK_EX) != 0) return ErrnoError(path_, "cannot lock");
  const auto append_locked = [&]() -> absl::Status {
    RETURN_IF_ERROR(CatchUp());
    ASSIGN_OR_RETURN(const nlohmann::json record, make_record(state_));
    if (record.is_null()) return absl::OkStatus();
    const std::string line = absl::StrCat(record.dump(), "\n");
    // Parse our own line through the same code so state_ cannot drift from
    // what a reader of the file would compute.
    SpoolState next = state_;
    int line_number = scanned_lines_;
    RETURN_IF_ERROR(ParseLines(line, path_, scanned_bytes_, &line_number, &next, nullptr).status());
    size_t done = 0;
    while (done < line.size()) {
      const ssize_t n = write(fd_, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const absl::Status error = ErrnoError(path_, "cannot append");
        // Leave whole lines only; if even that fails, the next writer cuts
        // the partial line (see CatchUp).
        if (done > 0 && ftruncate(fd_, scanned_bytes_) != 0) return error;
        return error;
      }
      done += static_cast<size_t>(n);
    }
    state_ = std::move(next);
    scanned_bytes_ += static_cast<int64_t>(line.size());
    scanned_lines_ = line_number;
    return absl::OkStatus();
  };
  const absl::Status status = append_locked();
  flock(fd_, LOCK_UN);
  return status;
}

absl::Status SpoolWriter::Flush() {
  if (fdatasync(fd_) != 0) return ErrnoError(path_, "cannot flush to disk");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ReadAckedBytes(const std::string& run_directory) {
  const std::string path = absl::StrCat(run_directory, "/", kAckedFileName);
  ASSIGN_OR_RETURN(const std::optional<std::string> text, ReadFileFrom(path, 0));
  if (!text.has_value()) return 0;
  const nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object() || !json.contains("acked_bytes") || !json["acked_bytes"].is_number_integer() ||
      json["acked_bytes"].get<int64_t>() < 0) {
    return absl::DataLossError(absl::StrCat(path, ": expected {\"acked_bytes\": N} with N >= 0"));
  }
  return json["acked_bytes"].get<int64_t>();
}

absl::Status WriteAckedBytes(const std::string& run_directory, int64_t acked_bytes) {
  return tools::WriteFileAtomically(absl::StrCat(run_directory, "/", kAckedFileName),
                                    absl::StrCat("{\"acked_bytes\": ", acked_bytes, "}\n"));
}

}  // namespace edgecompress::metrics
