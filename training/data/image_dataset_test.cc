#include "training/data/image_dataset.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::HasSubstr;

// Two 1x2x2 images of classes 0 and 2 out of 3.
ImageDataset Tiny() {
  return {.size = 2,
          .channels = 1,
          .height = 2,
          .width = 2,
          .num_classes = 3,
          .pixels = {0, 1, 2, 3, 4, 5, 6, 7},
          .labels = {0, 2}};
}

TEST(ImageDatasetTest, ImageBytesIsChannelsTimesHeightTimesWidth) {
  ImageDataset cifar{.channels = 3, .height = 32, .width = 32};
  EXPECT_EQ(cifar.image_bytes(), 3072);
}

TEST(ImageDatasetTest, ConsistentDatasetsAreValid) {
  EXPECT_THAT(ValidateImageDataset(Tiny()), IsOk());
  ImageDataset empty = Tiny();
  empty.size = 0;
  empty.pixels.clear();
  empty.labels.clear();
  EXPECT_THAT(ValidateImageDataset(empty), IsOk());
}

TEST(ImageDatasetTest, EachBrokenInvariantIsNamed) {
  ImageDataset bad_shape = Tiny();
  bad_shape.width = 0;
  ImageDataset bad_classes = Tiny();
  bad_classes.num_classes = 257;
  ImageDataset bad_pixels = Tiny();
  bad_pixels.pixels.pop_back();
  ImageDataset bad_labels = Tiny();
  bad_labels.labels.push_back(0);
  ImageDataset bad_label = Tiny();
  bad_label.labels[1] = 3;
  EXPECT_THAT(ValidateImageDataset(bad_shape),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1x2x0")));
  EXPECT_THAT(ValidateImageDataset(bad_classes),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_classes 257")));
  EXPECT_THAT(ValidateImageDataset(bad_pixels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("7 pixel bytes")));
  EXPECT_THAT(ValidateImageDataset(bad_labels),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 labels for 2 images")));
  EXPECT_THAT(ValidateImageDataset(bad_label),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label 3 of image 1")));
}

}  // namespace
}  // namespace edgecompress::training
