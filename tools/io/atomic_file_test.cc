#include "tools/io/atomic_file.h"

#include <dirent.h>

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

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int FilesIn(const std::string& dir) {
  int count = 0;
  DIR* handle = opendir(dir.c_str());
  while (dirent* entry = readdir(handle)) count += entry->d_name[0] != '.';
  closedir(handle);
  return count;
}

TEST(WriteFileAtomicallyTest, WritesReplacesAndLeavesNoTemporary) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/atomic");
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  const std::string path = dir + "/file.bin";
  ASSERT_THAT(WriteFileAtomically(path, std::string("a\0b", 3)), IsOk());
  EXPECT_EQ(Read(path), std::string("a\0b", 3));
  ASSERT_THAT(WriteFileAtomically(path, "second"), IsOk());
  EXPECT_EQ(Read(path), "second");
  ASSERT_THAT(WriteFileAtomically(path, ""), IsOk());
  EXPECT_EQ(Read(path), "");
  EXPECT_EQ(FilesIn(dir), 1);
}

TEST(WriteFileAtomicallyTest, MissingFolderIsNotFoundNamingThePath) {
  EXPECT_THAT(WriteFileAtomically("/nonexistent-dir/x.json", "{}"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent-dir/x.json: cannot create")));
}

}  // namespace
}  // namespace edgecompress::tools
