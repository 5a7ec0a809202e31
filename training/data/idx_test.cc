#include "training/data/idx.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

IdxArray SmallImages() {
  IdxArray array{{2, 3, 2}, {}};
  for (int i = 0; i < 12; ++i) array.data.push_back(static_cast<uint8_t>(i * 20));
  return array;
}

TEST(IdxTest, RoundTripsRawAndGzip) {
  for (bool gzip : {false, true}) {
    SCOPED_TRACE(gzip ? "gzip" : "raw");
    const std::string path = TempPath(gzip ? "images.gz" : "images");
    ASSERT_THAT(WriteIdxFile(path, SmallImages(), gzip), IsOk());
    absl::StatusOr<IdxArray> read = ReadIdxFile(path);
    ASSERT_THAT(read, IsOk());
    EXPECT_THAT(read->dims, ElementsAre(2, 3, 2));
    EXPECT_EQ(read->data, SmallImages().data);
  }
}

// A hand-written labels file: magic 00 00 08 01, one dimension of 3, data.
TEST(IdxTest, ReadsHandWrittenBigEndianHeader) {
  const std::string path = TempPath("labels");
  WriteBytes(path, std::string("\x00\x00\x08\x01\x00\x00\x00\x03\x07\x02\x09", 11));
  absl::StatusOr<IdxArray> read = ReadIdxFile(path);
  ASSERT_THAT(read, IsOk());
  EXPECT_THAT(read->dims, ElementsAre(3));
  EXPECT_THAT(read->data, ElementsAre(7, 2, 9));
}

TEST(IdxTest, CorruptFilesAreErrorsNamingTheFile) {
  const struct {
    const char* name;
    std::string bytes;
    absl::StatusCode code;
    const char* message;
  } kCases[] = {
      {"empty", "", absl::StatusCode::kDataLoss, "not an IDX file"},
      {"bad_magic", std::string("\x01\x02\x08\x01\x00\x00\x00\x01\x05", 9),
       absl::StatusCode::kDataLoss, "not an IDX file"},
      {"float_type", std::string("\x00\x00\x0d\x01\x00\x00\x00\x01\x05", 9),
       absl::StatusCode::kUnimplemented, "0x0d"},
      {"short_header", std::string("\x00\x00\x08\x03\x00\x00\x00\x02", 8),
       absl::StatusCode::kDataLoss, "truncated header"},
      {"truncated", std::string("\x00\x00\x08\x01\x00\x00\x00\x04\x01\x02", 10),
       absl::StatusCode::kDataLoss, "promises 4 bytes of data, the file has 2"},
      {"trailing", std::string("\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", 10),
       absl::StatusCode::kDataLoss, "trailing bytes"},
      {"zero_dim", std::string("\x00\x00\x08\x01\x00\x00\x00\x00", 8),
       absl::StatusCode::kInvalidArgument, "dimension 0 of size 0"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string path = TempPath(c.name);
    WriteBytes(path, c.bytes);
    EXPECT_THAT(ReadIdxFile(path), StatusIs(c.code, AllOf(HasSubstr(path), HasSubstr(c.message))));
  }
}

TEST(IdxTest, TruncatedGzipIsDataLoss) {
  const std::string path = TempPath("full.gz");
  IdxArray big{{64, 64}, std::vector<uint8_t>(64 * 64)};
  for (size_t i = 0; i < big.data.size(); ++i) big.data[i] = static_cast<uint8_t>(i * 7919 >> 3);
  ASSERT_THAT(WriteIdxFile(path, big, /*gzip=*/true), IsOk());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string cut = TempPath("cut.gz");
  WriteBytes(cut, bytes.substr(0, bytes.size() / 2));
  EXPECT_THAT(ReadIdxFile(cut), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(cut)));
}

TEST(IdxTest, MissingFileIsNotFound) {
  EXPECT_THAT(ReadIdxFile(TempPath("does_not_exist")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("does_not_exist")));
}

}  // namespace
}  // namespace edgecompress::training
