#include "training/data/mnist.h"

#include <cstdlib>
#include <string>
#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/data/idx.h"

namespace edgecompress::training {
namespace {

using ::testing::HasSubstr;

// Debian's dataset-fashion-mnist files, brought in as @fashion_mnist.
std::string FashionMnistRunfilesDir() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/fashion_mnist");
}

std::string MakeTempDir(const std::string& name) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  mkdir(dir.c_str(), 0755);
  return dir;
}

// The real files: 60,000 + 10,000 images of 28x28 (Xiao et al. 2017). The
// first image of both splits is an ankle boot, class 9.
TEST(MnistTest, LoadsDebianFashionMnist) {
  absl::StatusOr<ImageDataset> train = LoadMnist(FashionMnistRunfilesDir(), MnistSplit::kTrain);
  ASSERT_THAT(train, IsOk());
  EXPECT_EQ(train->size, 60000);
  EXPECT_EQ(train->height, 28);
  EXPECT_EQ(train->width, 28);
  EXPECT_EQ(train->pixels.size(), 60000u * 28 * 28);
  EXPECT_EQ(train->labels[0], 9);
  // Fashion-MNIST is balanced: 6,000 training images per class.
  int counts[10] = {};
  for (uint8_t label : train->labels) ++counts[label];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[c], 6000) << "class " << c;

  absl::StatusOr<ImageDataset> test = LoadMnist(FashionMnistRunfilesDir(), MnistSplit::kTest);
  ASSERT_THAT(test, IsOk());
  EXPECT_EQ(test->size, 10000);
  EXPECT_EQ(test->labels[0], 9);
}

TEST(MnistTest, PrefersRawFilesAndFallsBackToGzip) {
  const std::string dir = MakeTempDir("mixed");
  ASSERT_THAT(WriteIdxFile(dir + "/t10k-images-idx3-ubyte", {{2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8}},
                           /*gzip=*/false),
              IsOk());
  ASSERT_THAT(WriteIdxFile(dir + "/t10k-labels-idx1-ubyte.gz", {{2}, {3, 4}}, /*gzip=*/true),
              IsOk());
  absl::StatusOr<ImageDataset> test = LoadMnist(dir, MnistSplit::kTest);
  ASSERT_THAT(test, IsOk());
  EXPECT_EQ(test->size, 2);
  EXPECT_EQ(test->labels[1], 4);
}

TEST(MnistTest, MismatchedPairsAreErrorsNamingTheFiles) {
  const std::string dir = MakeTempDir("mismatch");
  const std::string images = dir + "/images", labels = dir + "/labels", bad = dir + "/bad";
  ASSERT_THAT(WriteIdxFile(images, {{3, 1, 1}, {0, 1, 2}}, false), IsOk());
  ASSERT_THAT(WriteIdxFile(labels, {{2}, {0, 1}}, false), IsOk());
  ASSERT_THAT(WriteIdxFile(bad, {{3}, {0, 10, 1}}, false), IsOk());
  EXPECT_THAT(LoadMnistFiles(images, labels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("has 3 images but")));
  EXPECT_THAT(LoadMnistFiles(images, bad),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label 10 at index 1")));
  EXPECT_THAT(LoadMnistFiles(labels, labels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 dimensions")));
  EXPECT_THAT(LoadMnist(dir + "/nowhere", MnistSplit::kTrain),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("train-images-idx3-ubyte.gz")));
}

}  // namespace
}  // namespace edgecompress::training
