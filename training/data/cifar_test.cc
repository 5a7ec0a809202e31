#include "training/data/cifar.h"

#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/data/cifar_writer.h"

namespace edgecompress::training {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string MakeTempDir(const std::string& name) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  mkdir(dir.c_str(), 0755);
  return dir;
}

// The pixel (c, y, x) of image i of a dataset, from its NCHW layout.
uint8_t PixelAt(const ImageDataset& data, int64_t i, int c, int y, int x) {
  return data.pixels[((i * 3 + c) * 32 + y) * 32 + x];
}

// A miniature cifar-10-batches-bin: the five training files hold 2, 3, 1, 2
// and 2 records (salts 10..14), the test file 3 records (salt 50).
std::string WriteMiniCifar10(const std::string& name) {
  const std::string root = MakeTempDir(name);
  const std::string dir = MakeTempDir(name + "/cifar-10-batches-bin");
  const int counts[5] = {2, 3, 1, 2, 2};
  for (int f = 0; f < 5; ++f) {
    EXPECT_THAT(WriteCifarFile(absl::StrCat(dir, "/data_batch_", f + 1, ".bin"),
                               CifarVariant::kCifar10, MakeCifarRecords(counts[f], 10, 10 + f)),
                IsOk());
  }
  EXPECT_THAT(
      WriteCifarFile(dir + "/test_batch.bin", CifarVariant::kCifar10, MakeCifarRecords(3, 10, 50)),
      IsOk());
  return root;
}

TEST(CifarTest, FormatConstantsFollowTheWebsite) {
  EXPECT_EQ(kCifarImageBytes, 3072);
  EXPECT_EQ(CifarRecordBytes(CifarVariant::kCifar10), 3073);
  EXPECT_EQ(CifarRecordBytes(CifarVariant::kCifar100), 3074);
  EXPECT_EQ(CifarRecordBytes(CifarVariant::kCifar100Coarse), 3074);
  EXPECT_EQ(CifarNumClasses(CifarVariant::kCifar10), 10);
  EXPECT_EQ(CifarNumClasses(CifarVariant::kCifar100), 100);
  EXPECT_EQ(CifarNumClasses(CifarVariant::kCifar100Coarse), 20);
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar10, CifarSplit::kTrain),
              ElementsAre("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                          "data_batch_4.bin", "data_batch_5.bin"));
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar10, CifarSplit::kTest),
              ElementsAre("test_batch.bin"));
  EXPECT_THAT(CifarFileNames(CifarVariant::kCifar100Coarse, CifarSplit::kTrain),
              ElementsAre("train.bin"));
}

TEST(CifarTest, Cifar10TrainConcatenatesTheBatchesInOrder) {
  const std::string root = WriteMiniCifar10("c10_order");
  absl::StatusOr<ImageDataset> train = LoadCifar(root, CifarVariant::kCifar10, CifarSplit::kTrain);
  ASSERT_THAT(train, IsOk());
  EXPECT_EQ(train->size, 10);
  EXPECT_EQ(train->channels, 3);
  EXPECT_EQ(train->height, 32);
  EXPECT_EQ(train->width, 32);
  EXPECT_EQ(train->num_classes, 10);
  EXPECT_THAT(ValidateImageDataset(*train), IsOk());
  // Labels are (salt + record) % 10 with salts 10..14 per file.
  EXPECT_THAT(train->labels, ElementsAre(0, 1, 1, 2, 3, 2, 3, 4, 4, 5));
  // Image 3 is record 1 of data_batch_2 (salt 11); check the CHW layout at
  // corners of every plane: R, G, B each row-major.
  for (int c = 0; c < 3; ++c) {
    for (auto [y, x] : {std::pair{0, 0}, {0, 31}, {31, 0}, {17, 5}}) {
      SCOPED_TRACE(absl::StrCat("c=", c, " y=", y, " x=", x));
      EXPECT_EQ(PixelAt(*train, 3, c, y, x), CifarTestPixel(11, 1, c, y, x));
    }
  }
  EXPECT_EQ(PixelAt(*train, 9, 2, 31, 31), CifarTestPixel(14, 1, 2, 31, 31));
}

TEST(CifarTest, AcceptsTheExtractedFolderOrItsParent) {
  const std::string root = WriteMiniCifar10("c10_dirs");
  absl::StatusOr<ImageDataset> from_parent =
      LoadCifar(root, CifarVariant::kCifar10, CifarSplit::kTest);
  absl::StatusOr<ImageDataset> from_folder =
      LoadCifar(root + "/cifar-10-batches-bin", CifarVariant::kCifar10, CifarSplit::kTest);
  ASSERT_THAT(from_parent, IsOk());
  ASSERT_THAT(from_folder, IsOk());
  EXPECT_EQ(from_parent->size, 3);
  EXPECT_EQ(from_parent->pixels, from_folder->pixels);
  EXPECT_THAT(from_folder->labels, ElementsAre(0, 1, 2));
}

TEST(CifarTest, Cifar100KeepsTheFineLabelOrTheCoarseOne) {
  const std::string dir = MakeTempDir("cifar-100-binary");
  std::vector<CifarRecord> records = MakeCifarRecords(4, 100, 97);
  // Fine labels 97, 98, 99, 0; coarse (97 + i) % 20 = 17, 18, 19, 0.
  ASSERT_THAT(WriteCifarFile(dir + "/test.bin", CifarVariant::kCifar100, records), IsOk());
  absl::StatusOr<ImageDataset> fine = LoadCifar(dir, CifarVariant::kCifar100, CifarSplit::kTest);
  absl::StatusOr<ImageDataset> coarse =
      LoadCifar(dir, CifarVariant::kCifar100Coarse, CifarSplit::kTest);
  ASSERT_THAT(fine, IsOk());
  ASSERT_THAT(coarse, IsOk());
  EXPECT_EQ(fine->num_classes, 100);
  EXPECT_EQ(coarse->num_classes, 20);
  EXPECT_THAT(fine->labels, ElementsAre(97, 98, 99, 0));
  EXPECT_THAT(coarse->labels, ElementsAre(17, 18, 19, 0));
  EXPECT_EQ(fine->pixels, coarse->pixels);
  EXPECT_EQ(PixelAt(*fine, 2, 1, 4, 30), CifarTestPixel(97, 2, 1, 4, 30));
}

TEST(CifarTest, SizesThatAreNotWholeRecordsAreDataLossNamingFileAndSizes) {
  const std::string dir = MakeTempDir("sizes");
  const std::string truncated = dir + "/truncated.bin", empty = dir + "/empty.bin",
                    cifar100 = dir + "/c100.bin";
  ASSERT_THAT(WriteCifarFile(truncated, CifarVariant::kCifar10, MakeCifarRecords(2, 10, 0), 5),
              IsOk());
  ASSERT_THAT(WriteCifarFile(empty, CifarVariant::kCifar10, {}), IsOk());
  ASSERT_THAT(WriteCifarFile(cifar100, CifarVariant::kCifar100, MakeCifarRecords(2, 100, 0)),
              IsOk());
  // 2 * 3073 + 5 = 6151 bytes.
  EXPECT_THAT(
      LoadCifarFiles({truncated}, CifarVariant::kCifar10),
      StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(truncated), HasSubstr("6151 bytes"),
                                                  HasSubstr("3073-byte CIFAR-10 record"),
                                                  HasSubstr("2 whole records + 5 bytes"))));
  EXPECT_THAT(LoadCifarFiles({empty}, CifarVariant::kCifar10),
              StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(empty), HasSubstr("0 bytes"))));
  // CIFAR-100 records read as CIFAR-10: 6148 = 2 * 3073 + 2.
  EXPECT_THAT(
      LoadCifarFiles({cifar100}, CifarVariant::kCifar10),
      StatusIs(absl::StatusCode::kDataLoss, AllOf(HasSubstr(cifar100), HasSubstr("6148 bytes"))));
  // A good file then a bad one fails on the bad one.
  EXPECT_THAT(LoadCifarFiles({cifar100, truncated}, CifarVariant::kCifar100),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(truncated)));
}

TEST(CifarTest, LabelsOutOfRangeAreDataLossNamingFileAndRecord) {
  const std::string dir = MakeTempDir("labels");
  std::vector<CifarRecord> records = MakeCifarRecords(4, 10, 0);
  records[2].label = 10;
  const std::string c10 = dir + "/c10.bin";
  ASSERT_THAT(WriteCifarFile(c10, CifarVariant::kCifar10, records), IsOk());
  EXPECT_THAT(LoadCifarFiles({c10}, CifarVariant::kCifar10),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr(c10), HasSubstr("record 2 has label 10"))));

  std::vector<CifarRecord> fine_bad = MakeCifarRecords(3, 100, 0);
  fine_bad[1].label = 100;
  std::vector<CifarRecord> coarse_bad = MakeCifarRecords(3, 100, 0);
  coarse_bad[0].coarse_label = 20;
  const std::string fine_path = dir + "/fine.bin", coarse_path = dir + "/coarse.bin";
  ASSERT_THAT(WriteCifarFile(fine_path, CifarVariant::kCifar100, fine_bad), IsOk());
  ASSERT_THAT(WriteCifarFile(coarse_path, CifarVariant::kCifar100, coarse_bad), IsOk());
  // Both labels are checked whichever one is kept.
  for (CifarVariant variant : {CifarVariant::kCifar100, CifarVariant::kCifar100Coarse}) {
    EXPECT_THAT(LoadCifarFiles({fine_path}, variant),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr(fine_path), HasSubstr("record 1 has label 100"))));
    EXPECT_THAT(LoadCifarFiles({coarse_path}, variant),
                StatusIs(absl::StatusCode::kDataLoss,
                         AllOf(HasSubstr(coarse_path), HasSubstr("record 0 has coarse label 20"))));
  }
}

TEST(CifarTest, MissingFilesAreNotFoundNamingThem) {
  const std::string root = WriteMiniCifar10("c10_missing");
  const std::string third = root + "/cifar-10-batches-bin/data_batch_3.bin";
  ASSERT_EQ(std::remove(third.c_str()), 0);
  EXPECT_THAT(LoadCifar(root, CifarVariant::kCifar10, CifarSplit::kTrain),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr(third)));
  const std::string nowhere = root + "/nowhere";
  EXPECT_THAT(LoadCifar(nowhere, CifarVariant::kCifar100, CifarSplit::kTrain),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(nowhere + "/train.bin"),
                             HasSubstr("no directory " + nowhere + "/cifar-100-binary"))));
  EXPECT_THAT(LoadCifarFiles({root}, CifarVariant::kCifar10),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("not a regular file")));
  EXPECT_THAT(LoadCifarFiles({}, CifarVariant::kCifar10),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::training
