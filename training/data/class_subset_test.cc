#include "training/data/class_subset.h"

#include <cstdint>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Ten 1x1x2 images; image i has pixels (i, 100 + i) and label i % 5.
ImageDataset TenImages() {
  ImageDataset data{.size = 10, .channels = 1, .height = 1, .width = 2, .num_classes = 5};
  for (uint8_t i = 0; i < 10; ++i) {
    data.pixels.insert(data.pixels.end(), {i, static_cast<uint8_t>(100 + i)});
    data.labels.push_back(i % 5);
  }
  return data;
}

TEST(SelectClassesTest, KeepsTheClassesInSourceOrderRelabelledAsGiven) {
  // As Horse vs Frog = {7, 6}: the first class given becomes label 0.
  const absl::StatusOr<ImageDataset> selected = SelectClasses(TenImages(), {3, 1});
  ASSERT_THAT(selected, IsOk());
  const ImageDataset& subset = *selected;
  EXPECT_EQ(subset.size, 4);
  EXPECT_EQ(subset.num_classes, 2);
  EXPECT_EQ(subset.image_bytes(), 2);
  EXPECT_THAT(subset.labels, ElementsAre(1, 0, 1, 0));  // images 1, 3, 6, 8
  EXPECT_THAT(subset.pixels, ElementsAre(1, 101, 3, 103, 6, 106, 8, 108));
  EXPECT_THAT(ValidateImageDataset(subset), IsOk());
}

TEST(SelectClassesTest, RejectsBadClassLists) {
  const auto invalid = [](const char* message) {
    return StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(message));
  };
  EXPECT_THAT(SelectClasses(TenImages(), {2}), invalid("at least 2"));
  EXPECT_THAT(SelectClasses(TenImages(), {1, 5}), invalid("class 5 is not in the dataset's 0..4"));
  EXPECT_THAT(SelectClasses(TenImages(), {-1, 2}), invalid("class -1"));
  EXPECT_THAT(SelectClasses(TenImages(), {2, 2}), invalid("given twice"));
}

}  // namespace
}  // namespace edgecompress::training
