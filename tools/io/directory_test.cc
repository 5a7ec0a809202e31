#include "tools/io/directory.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::tools {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

TEST(MakeDirectoryTest, CreatesOnceAndAcceptsAnExistingFolder) {
  const std::string path = TempPath("made");
  ASSERT_THAT(MakeDirectory(path), IsOk());
  struct stat info;
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_TRUE(S_ISDIR(info.st_mode));
  EXPECT_THAT(MakeDirectory(path), IsOk());
}

TEST(MakeDirectoryTest, ErrorsNameThePath) {
  const std::string orphan = TempPath("no/such/parent");
  EXPECT_THAT(MakeDirectory(orphan),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(orphan)));
  const std::string file = TempPath("a_file");
  std::ofstream(file) << "x";
  EXPECT_THAT(MakeDirectory(file), StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr(file)));
}

}  // namespace
}  // namespace edgecompress::tools
