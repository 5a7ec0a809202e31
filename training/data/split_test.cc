#include "training/data/split.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// `size` 1x1x2 images; image i has pixels (i, 255 - i) mod 256 and label
// label_of(i).
template <typename LabelOf>
ImageDataset Indexed(int64_t size, int num_classes, LabelOf label_of) {
  ImageDataset data{
      .size = size, .channels = 1, .height = 1, .width = 2, .num_classes = num_classes};
  for (int64_t i = 0; i < size; ++i) {
    data.pixels.push_back(static_cast<uint8_t>(i));
    data.pixels.push_back(static_cast<uint8_t>(255 - i));
    data.labels.push_back(static_cast<uint8_t>(label_of(i)));
  }
  return data;
}

ImageDataset Cyclic(int64_t size, int num_classes) {
  return Indexed(size, num_classes, [num_classes](int64_t i) { return i % num_classes; });
}

// Goldens from an independent Python implementation of split.h's algorithm.
// Labels 0,1,2,0,1,2,0,1,2,0 (class sizes 4, 3, 3):
//   fraction 0.5: n_val 5, quotas floor(20/10, 15/10, 15/10) = 2, 1, 1 with
//     remainders 0, 5, 5: the extra image goes to class 1 -> 2, 2, 1.
//   fraction 0.3: n_val 3, quotas 1, 0, 0, remainders 2, 9, 9 -> 1, 1, 1.
TEST(SplitTest, GoldenSplitsMatchPython) {
  const ImageDataset data = Cyclic(10, 3);
  absl::StatusOr<DatasetSplit> half = SplitDataset(data, 0.5, 0);
  ASSERT_THAT(half, IsOk());
  EXPECT_THAT(half->validation_indices, ElementsAre(1, 2, 3, 7, 9));
  EXPECT_THAT(half->train_indices, ElementsAre(0, 4, 5, 6, 8));
  EXPECT_THAT(half->validation.labels, ElementsAre(1, 2, 0, 1, 0));
  EXPECT_THAT(half->train.pixels, ElementsAre(0, 255, 4, 251, 5, 250, 6, 249, 8, 247));
  EXPECT_EQ(half->validation.num_classes, 3);
  EXPECT_EQ(half->validation.width, 2);

  EXPECT_THAT(SplitDataset(data, 0.5, 1),
              IsOkAndHolds(
                  ::testing::Field(&DatasetSplit::validation_indices, ElementsAre(2, 3, 4, 7, 9))));
  EXPECT_THAT(
      SplitDataset(data, 0.3, 42),
      IsOkAndHolds(::testing::Field(&DatasetSplit::validation_indices, ElementsAre(7, 8, 9))));
  EXPECT_THAT(SplitDataset(data, 0.5, 0, /*stratified=*/false),
              IsOkAndHolds(
                  ::testing::Field(&DatasetSplit::validation_indices, ElementsAre(3, 4, 5, 8, 9))));
}

// Properties over the edges of the fraction, for both modes and an
// unbalanced dataset (class c has about c + 1 shares).
TEST(SplitTest, PartsArePartitionsOfExactSizeAndStratifiedKeepsBalance) {
  const ImageDataset data = Indexed(1000, 4, [](int64_t i) {
    const int64_t r = i % 10;  // 1, 2, 3, 4 shares of 10
    return r < 1 ? 0 : r < 3 ? 1 : r < 6 ? 2 : 3;
  });
  constexpr double kFractions[] = {0.0, 0.1, 0.29, 0.4, 0.6, 0.9, 0.99, 0.999};
  for (double fraction : kFractions) {
    for (bool stratified : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "fraction " << fraction << " stratified " << stratified);
      absl::StatusOr<DatasetSplit> split = SplitDataset(data, fraction, 7, stratified);
      ASSERT_THAT(split, IsOk());
      const int64_t expected = static_cast<int64_t>(std::floor(fraction * 1000 + 1e-9));
      EXPECT_EQ(split->validation.size, expected);
      EXPECT_EQ(split->train.size, 1000 - expected);
      EXPECT_THAT(ValidateImageDataset(split->train), IsOk());
      EXPECT_THAT(ValidateImageDataset(split->validation), IsOk());
      std::vector<int64_t> all = split->train_indices;
      all.insert(all.end(), split->validation_indices.begin(), split->validation_indices.end());
      std::sort(all.begin(), all.end());
      for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(all[i], i);
      EXPECT_TRUE(std::is_sorted(split->train_indices.begin(), split->train_indices.end()));
      // Images travel with their labels.
      for (int64_t i = 0; i < split->validation.size; ++i) {
        const int64_t source = split->validation_indices[i];
        ASSERT_EQ(split->validation.pixels[2 * i], static_cast<uint8_t>(source));
        ASSERT_EQ(split->validation.labels[i], data.labels[source]);
      }
      if (stratified) {
        int counts[4] = {};
        for (uint8_t label : split->validation.labels) ++counts[label];
        for (int c = 0; c < 4; ++c) {
          const double exact = expected * (100.0 * (c + 1)) / 1000;
          EXPECT_LE(std::abs(counts[c] - exact), 1.0) << "class " << c;
        }
      }
    }
  }
}

TEST(SplitTest, FractionsThatFloatMultiplicationUndershootsStillCount) {
  // 0.29 * 100 is 28.999999999999996 in binary floating point.
  absl::StatusOr<DatasetSplit> split = SplitDataset(Cyclic(100, 10), 0.29, 0);
  ASSERT_THAT(split, IsOk());
  EXPECT_EQ(split->validation.size, 29);
}

TEST(SplitTest, DeterministicPerSeedAndDifferentAcrossSeeds) {
  const ImageDataset data = Cyclic(200, 5);
  absl::StatusOr<DatasetSplit> a = SplitDataset(data, 0.2, 11);
  absl::StatusOr<DatasetSplit> b = SplitDataset(data, 0.2, 11);
  absl::StatusOr<DatasetSplit> c = SplitDataset(data, 0.2, 12);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  EXPECT_EQ(a->validation_indices, b->validation_indices);
  EXPECT_EQ(a->validation.pixels, b->validation.pixels);
  EXPECT_NE(a->validation_indices, c->validation_indices);
}

TEST(SplitTest, EmptyDatasetAndZeroFraction) {
  absl::StatusOr<DatasetSplit> empty = SplitDataset(Cyclic(0, 3), 0.5, 0);
  ASSERT_THAT(empty, IsOk());
  EXPECT_EQ(empty->train.size, 0);
  EXPECT_EQ(empty->validation.size, 0);
  absl::StatusOr<DatasetSplit> none = SplitDataset(Cyclic(10, 3), 0.0, 0);
  ASSERT_THAT(none, IsOk());
  EXPECT_EQ(none->train.size, 10);
  EXPECT_EQ(none->train.pixels, Cyclic(10, 3).pixels);
}

TEST(SplitTest, BadArgumentsAreErrors) {
  const ImageDataset data = Cyclic(10, 3);
  for (double fraction : {-0.1, 1.0, 1.5, std::numeric_limits<double>::quiet_NaN()}) {
    SCOPED_TRACE(fraction);
    EXPECT_THAT(SplitDataset(data, fraction, 0),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("validation_fraction")));
  }
  ImageDataset broken = data;
  broken.labels[4] = 3;
  EXPECT_THAT(SplitDataset(broken, 0.5, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("label 3 of image 4")));
  EXPECT_THAT(SelectImages(data, {0, 10}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("index 10 (entry 1)")));
  EXPECT_THAT(SelectImages(data, {3, 3}),
              IsOkAndHolds(::testing::Field(&ImageDataset::pixels, ElementsAre(3, 252, 3, 252))));
}

}  // namespace
}  // namespace edgecompress::training
