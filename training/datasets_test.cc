#include "training/datasets.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

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

}  // namespace
}  // namespace edgecompress::training
