#include "training/datasets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/data/cifar_writer.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;

// Fashion-MNIST's training statistics as published with the dataset's
// benchmarks (mean 0.2860, std 0.3530), recomputed from the real files.
TEST(DatasetsTest, FashionMnistStatisticsFromTheTrainingSplit) {
  absl::StatusOr<TrainTestSplits> splits =
      LoadDataset("fashion_mnist", absl::StrCat(std::getenv("TEST_SRCDIR"), "/fashion_mnist"));
  ASSERT_THAT(splits, IsOk());
  EXPECT_EQ(splits->train.size, 60000);
  EXPECT_EQ(splits->test.size, 10000);
  const ChannelStatistics stats = ComputeChannelStatistics(splits->train);
  ASSERT_EQ(stats.mean.size(), 1u);
  EXPECT_THAT(stats.mean[0], FloatNear(0.2860f, 5e-5f));
  EXPECT_THAT(stats.stddev[0], FloatNear(0.3530f, 5e-5f));
}

// Two pixel values 0 and 255 in equal numbers: mean 0.5, std 0.5.
TEST(DatasetsTest, ChannelStatisticsByHand) {
  ImageDataset data{.size = 1, .channels = 2, .height = 1, .width = 2, .num_classes = 2};
  data.pixels = {0, 255, 51, 51};
  data.labels = {0};
  const ChannelStatistics stats = ComputeChannelStatistics(data);
  EXPECT_THAT(stats.mean, ::testing::ElementsAre(0.5f, 0.2f));
  EXPECT_THAT(stats.stddev[0], FloatNear(0.5f, 1e-6f));
  EXPECT_THAT(stats.stddev[1], FloatNear(0.0f, 1e-5f));
}

TEST(DatasetsTest, SyntheticNeedsNoFiles) {
  absl::StatusOr<TrainTestSplits> splits = LoadDataset("synthetic", "");
  ASSERT_THAT(splits, IsOk());
  EXPECT_EQ(splits->train.channels, 3);
  EXPECT_EQ(splits->train.num_classes, 10);
}

TEST(DatasetsTest, UnknownNamesAndMissingFoldersAreClear) {
  EXPECT_THAT(LoadDataset("imagenet", ""),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("cifar10, cifar100, fashion_mnist")));
  EXPECT_THAT(LoadDataset("cifar10", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--data_dir")));
  EXPECT_THAT(LoadDataset("cifar10", "/nonexistent"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(DatasetsTest, ClassListKeepsThoseClassesInTheOrderGiven) {
  absl::StatusOr<TrainTestSplits> whole = LoadDataset("synthetic", "");
  absl::StatusOr<TrainTestSplits> pair = LoadDataset("synthetic:5,3", "");
  ASSERT_THAT(whole, IsOk());
  ASSERT_THAT(pair, IsOk());
  EXPECT_EQ(pair->train.num_classes, 2);
  EXPECT_EQ(pair->test.num_classes, 2);
  for (const auto& [all, kept] : {std::pair(&whole->train, &pair->train),
                                  std::pair(&whole->test, &pair->test)}) {
    int64_t threes = 0, fives = 0;
    for (uint8_t label : all->labels) threes += label == 3, fives += label == 5;
    EXPECT_EQ(kept->size, threes + fives);
    EXPECT_EQ(std::count(kept->labels.begin(), kept->labels.end(), 0), fives);
  }
}

// The thesis' Cat vs Dog by name, on a miniature cifar-10-batches-bin whose
// six files each hold one image of every class, labels 0..9 in order.
TEST(DatasetsTest, Cifar10ClassesByName) {
  const std::string root = absl::StrCat(std::getenv("TEST_TMPDIR"), "/mini_cifar10");
  const std::string dir = root + "/cifar-10-batches-bin";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  for (const char* file : {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                           "data_batch_5", "test_batch"}) {
    ASSERT_THAT(WriteCifarFile(absl::StrCat(dir, "/", file, ".bin"), CifarVariant::kCifar10,
                               MakeCifarRecords(10, 10, 0)),
                IsOk());
  }
  absl::StatusOr<TrainTestSplits> cat_dog = LoadDataset("cifar10:cat,dog", root);
  ASSERT_THAT(cat_dog, IsOk());
  EXPECT_THAT(cat_dog->test.labels, ElementsAre(0, 1));
  EXPECT_EQ(cat_dog->train.size, 10);
  EXPECT_THAT(LoadDataset("cifar10:cat,wolf", root),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("class 'wolf' is not a number or one of airplane")));
  EXPECT_THAT(LoadDataset("cifar10:3,10", root),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dataset 'cifar10:3,10': class 10 is not in")));
  EXPECT_THAT(LoadDataset("synthetic:cat,dog", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'cat' is not a number")));
  EXPECT_THAT(LoadDataset("synthetic:4", ""),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 2 classes")));
}

}  // namespace
}  // namespace edgecompress::training
