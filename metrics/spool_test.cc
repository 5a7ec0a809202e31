#include "metrics/spool.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::metrics {
namespace {

using ::testing::HasSubstr;

std::string FreshDirectory(absl::string_view name) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name);
  std::filesystem::remove_all(path);
  return path;
}

nlohmann::json RunRecord(const std::string& writer, const std::string& run_id,
                         const nlohmann::json& config) {
  return {{"type", "run"},
          {"writer", writer},
          {"start_time", 100.0},
          {"variables", {{"name", run_id}, {"config", config.dump()}}}};
}

nlohmann::json HistoryRecord(const SpoolState& state, const std::string& line) {
  return {{"type", "history"}, {"offset", state.next_history_offset},
          {"step", state.last_step + 1}, {"line", line}};
}

void AppendFixed(SpoolWriter& writer, const nlohmann::json& record) {
  ASSERT_THAT(writer.Append([&](const SpoolState&) -> absl::StatusOr<nlohmann::json> { return record; }),
              IsOk());
}

void AppendHistory(SpoolWriter& writer, const std::string& line) {
  ASSERT_THAT(writer.Append([&](const SpoolState& state) -> absl::StatusOr<nlohmann::json> {
    return HistoryRecord(state, line);
  }),
              IsOk());
}

void WriteText(const std::string& path, const std::string& text, bool append) {
  std::ofstream file(path, append ? std::ios::app : std::ios::trunc);
  file << text;
}

TEST(SpoolTest, ReadsBackWhatWasAppendedWithTheStateItImplies) {
  const std::string dir = FreshDirectory("spool_roundtrip");
  auto writer = SpoolWriter::Open(dir);
  ASSERT_THAT(writer, IsOk());
  AppendFixed(**writer, RunRecord("w1", "abc", {{"lr", {{"value", 0.1}}}}));
  AppendHistory(**writer, "row0");
  AppendHistory(**writer, "row1");
  AppendFixed(**writer, {{"type", "summary"},
                         {"values", SummaryValuesJson({{"top1", 0.9}, {"bad", std::nan("")}})},
                         {"line", "summary"}});
  AppendFixed(**writer, {{"type", "complete"}, {"writer", "w1"}, {"exit_code", 0}});

  const absl::StatusOr<SpoolContents> spool = ReadSpool(dir);
  ASSERT_THAT(spool, IsOk());
  ASSERT_EQ(spool->records.size(), 5u);
  EXPECT_EQ(spool->records[2].line, "row1");
  EXPECT_EQ(spool->records[2].history_offset, 1);
  EXPECT_EQ(spool->state.run_id, "abc");
  EXPECT_EQ(spool->state.config["lr"], 0.1);
  EXPECT_EQ(spool->state.next_history_offset, 2);
  EXPECT_EQ(spool->state.last_step, 1);
  EXPECT_EQ(spool->state.summary.at("top1"), 0.9);
  EXPECT_TRUE(std::isnan(spool->state.summary.at("bad")));
  EXPECT_TRUE(spool->state.open_writers.empty());
  EXPECT_EQ(spool->records.back().end_byte, spool->whole_bytes);
  EXPECT_EQ((*writer)->state().next_history_offset, 2);
}

TEST(SpoolTest, ReadingFromACursorEqualsReadingEverything) {
  const std::string dir = FreshDirectory("spool_cursor");
  auto writer = SpoolWriter::Open(dir);
  ASSERT_THAT(writer, IsOk());
  AppendFixed(**writer, RunRecord("w1", "abc", nlohmann::json::object()));
  AppendHistory(**writer, "row0");
  const absl::StatusOr<SpoolContents> first = ReadSpool(dir);
  ASSERT_THAT(first, IsOk());
  AppendHistory(**writer, "row1");
  AppendFixed(**writer, {{"type", "complete"}, {"writer", "w1"}, {"exit_code", 4}});

  const absl::StatusOr<SpoolContents> all = ReadSpool(dir);
  const absl::StatusOr<SpoolContents> rest =
      ReadSpoolFrom(dir, SpoolCursor{first->whole_bytes, first->whole_lines, first->state});
  ASSERT_THAT(all, IsOk());
  ASSERT_THAT(rest, IsOk());
  ASSERT_EQ(rest->records.size(), 2u);
  EXPECT_EQ(rest->records[0].line, "row1");
  EXPECT_EQ(rest->records[0].end_byte, all->records[2].end_byte);
  EXPECT_EQ(rest->whole_bytes, all->whole_bytes);
  EXPECT_EQ(rest->whole_lines, 4);
  EXPECT_EQ(rest->state.next_history_offset, all->state.next_history_offset);
  EXPECT_EQ(rest->state.open_writers, all->state.open_writers);

  // A cursor past the end means the file lost data under us.
  EXPECT_THAT(ReadSpoolFrom(dir, SpoolCursor{all->whole_bytes + 10, 5, all->state}),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shrank")));
}

TEST(SpoolTest, TwoWritersContinueEachOthersOffsetsAndMergeConfig) {
  const std::string dir = FreshDirectory("spool_two_writers");
  auto train = SpoolWriter::Open(dir);
  auto bench = SpoolWriter::Open(dir);
  ASSERT_THAT(train, IsOk());
  ASSERT_THAT(bench, IsOk());
  AppendFixed(**train, RunRecord("train", "abc", {{"lr", {{"value", 0.1}}}}));
  AppendHistory(**train, "t0");
  AppendFixed(**bench, RunRecord("bench", "abc", {{"engine", {{"value", "int8"}}}}));
  AppendHistory(**bench, "b1");  // sees t0 first: offset 1
  AppendHistory(**train, "t2");  // sees b1: offset 2
  EXPECT_EQ((*train)->state().next_history_offset, 3);
  EXPECT_EQ((*train)->state().open_writers.size(), 2u);
  EXPECT_EQ((*train)->state().config, (nlohmann::json{{"lr", 0.1}, {"engine", "int8"}}));
  const absl::StatusOr<SpoolContents> spool = ReadSpool(dir);
  ASSERT_THAT(spool, IsOk());
  EXPECT_EQ(spool->state.next_history_offset, 3);
  EXPECT_EQ(spool->records[3].line, "b1");
  EXPECT_EQ(spool->records[3].history_offset, 1);
}

TEST(SpoolTest, ATornFinalLineIsIgnoredAndCutByTheNextWriter) {
  const std::string dir = FreshDirectory("spool_torn");
  {
    auto writer = SpoolWriter::Open(dir);
    ASSERT_THAT(writer, IsOk());
    AppendFixed(**writer, RunRecord("w1", "abc", nlohmann::json::object()));
    AppendHistory(**writer, "row0");
  }
  const std::string path = absl::StrCat(dir, "/", kSpoolFileName);
  WriteText(path, "{\"type\":\"history\",\"off", /*append=*/true);  // a power cut mid-write
  absl::StatusOr<SpoolContents> spool = ReadSpool(dir);
  ASSERT_THAT(spool, IsOk());
  EXPECT_EQ(spool->records.size(), 2u);

  auto writer = SpoolWriter::Open(dir);
  ASSERT_THAT(writer, IsOk());
  AppendHistory(**writer, "row1");
  spool = ReadSpool(dir);
  ASSERT_THAT(spool, IsOk());
  ASSERT_EQ(spool->records.size(), 3u);
  EXPECT_EQ(spool->records[2].line, "row1");
  EXPECT_EQ(spool->records[2].history_offset, 1);
}

TEST(SpoolTest, CorruptLinesAreDataLossNamingFileAndLine) {
  struct Case {
    const char* name;
    const char* second_line;
    const char* message;
  };
  const Case kCases[] = {
      {"not_json", "{\"type\":", "not a JSON object"},
      {"unknown_type", R"({"type":"artifact"})", "unknown record type"},
      {"gap", R"({"type":"history","offset":5,"step":0,"line":"x"})", "history offset 5 where 0"},
      {"step_back", R"({"type":"history","offset":0,"step":-1,"line":"x"})", "_step -1"},
      {"other_run", R"({"type":"run","writer":"w2","start_time":1,"variables":{"name":"zzz"}})",
       "run id \"zzz\""},
      {"unknown_writer", R"({"type":"complete","writer":"w9","exit_code":0})",
       "\"complete\" for writer \"w9\", which is not open"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string dir = FreshDirectory(absl::StrCat("spool_corrupt_", c.name));
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    const std::string path = absl::StrCat(dir, "/", kSpoolFileName);
    WriteText(path,
              absl::StrCat(RunRecord("w1", "abc", nlohmann::json::object()).dump(), "\n",
                           c.second_line, "\n"),
              /*append=*/false);
    EXPECT_THAT(ReadSpool(dir), StatusIs(absl::StatusCode::kDataLoss,
                                         HasSubstr(absl::StrCat(path, ":2: ", c.message))));
    EXPECT_THAT(SpoolWriter::Open(dir), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
  }
}

TEST(SpoolTest, RecordsBeforeTheRunRecordAreDataLoss) {
  const std::string dir = FreshDirectory("spool_no_run");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  WriteText(absl::StrCat(dir, "/", kSpoolFileName), "{\"type\":\"summary\",\"values\":{},\"line\":\"{}\"}\n",
            false);
  EXPECT_THAT(ReadSpool(dir), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(":1: \"summary\" record before")));
}

TEST(AckedBytesTest, MissingIsZeroWrittenReadsBackMalformedIsDataLoss) {
  const std::string dir = FreshDirectory("spool_acked");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  EXPECT_THAT(ReadAckedBytes(dir), IsOkAndHolds(0));
  ASSERT_THAT(WriteAckedBytes(dir, 1234), IsOk());
  EXPECT_THAT(ReadAckedBytes(dir), IsOkAndHolds(1234));
  const std::string path = absl::StrCat(dir, "/", kAckedFileName);
  for (const char* text : {"garbage", "{\"acked_bytes\": -1}", "{\"acked\": 3}"}) {
    SCOPED_TRACE(text);
    WriteText(path, text, /*append=*/false);
    EXPECT_THAT(ReadAckedBytes(dir), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
  }
}

}  // namespace
}  // namespace edgecompress::metrics
