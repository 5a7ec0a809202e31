#include "tools/result/result_json.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::tools {
namespace {

using ::testing::HasSubstr;

TEST(ResultJsonTest, NewResultCarriesSchemaAndContext) {
  const nlohmann::json result = NewResult("bench", 42, {{"batch", "1"}});
  EXPECT_EQ(result["schema_version"], kResultSchemaVersion);
  EXPECT_EQ(result["context"]["tool"], "bench");
  EXPECT_EQ(result["context"]["seed"], 42);
  EXPECT_EQ(result["context"]["flags"]["batch"], "1");
  EXPECT_FALSE(result["context"]["host"].get<std::string>().empty());
#if defined(__x86_64__)
  EXPECT_EQ(result["context"]["machine"], "x86_64");
#elif defined(__aarch64__)
  EXPECT_EQ(result["context"]["machine"], "aarch64");  // also under qemu-aarch64
#endif
}

TEST(ResultJsonTest, WritesAndReplacesAtomically) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/result.json");
  ASSERT_THAT(WriteJsonFile(path, {{"top1", 1.5}}), IsOk());
  ASSERT_THAT(WriteJsonFile(path, {{"top1", 2.5}}), IsOk());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(nlohmann::json::parse(text.str())["top1"], 2.5);
  EXPECT_EQ(text.str().back(), '\n');
}

TEST(ResultJsonTest, ResultGoesToStdoutWithoutAPath) {
  ::testing::internal::CaptureStdout();
  ASSERT_THAT(WriteResult("", {{"top1", 1.5}}), IsOk());
  const std::string text = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(nlohmann::json::parse(text)["top1"], 1.5);
  EXPECT_EQ(text.back(), '\n');

  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/out.json");
  ASSERT_THAT(WriteResult(path, {{"top1", 2.5}}), IsOk());
  std::ifstream in(path);
  EXPECT_EQ(nlohmann::json::parse(in)["top1"], 2.5);
}

TEST(ResultJsonTest, UnwritablePathIsAnErrorNamingIt) {
  EXPECT_THAT(WriteJsonFile("/nonexistent-dir/result.json", {}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent-dir/result.json")));
}

}  // namespace
}  // namespace edgecompress::tools
