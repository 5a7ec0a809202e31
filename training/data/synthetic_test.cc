#include "training/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;

uint8_t PixelAt(const ImageDataset& data, int64_t i, int64_t c, int64_t y, int64_t x) {
  return data.pixels[((i * data.channels + c) * data.height + y) * data.width + x];
}

TEST(SyntheticTest, ClassFrequenciesEnumerateTheDocumentedPairs) {
  std::vector<std::pair<int, int>> pairs;
  for (int k = 0; k < 16; ++k) {
    const GratingFrequency f = SyntheticClassFrequency(k);
    pairs.push_back({f.vertical, f.horizontal});
  }
  EXPECT_THAT(pairs,
              ElementsAre(std::pair{0, 1}, std::pair{1, 0}, std::pair{1, 1}, std::pair{0, 2},
                          std::pair{1, 2}, std::pair{2, 0}, std::pair{2, 1}, std::pair{2, 2},
                          std::pair{0, 3}, std::pair{1, 3}, std::pair{2, 3}, std::pair{3, 0},
                          std::pair{3, 1}, std::pair{3, 2}, std::pair{3, 3}, std::pair{0, 4}));
  // All 256 classes distinct.
  std::vector<std::pair<int, int>> all;
  for (int k = 0; k < 256; ++k) {
    all.push_back({SyntheticClassFrequency(k).vertical, SyntheticClassFrequency(k).horizontal});
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}

// Noiseless, fixed phase: pixels straight from the header's formula, K = 10, C = 3, 8x8.
//   class 1, (a, b) = (1, 0), tint_0 = 0.5 + 0.15 cos(2 pi 0.1) = 0.621353:
//     y = 0: + 0.3 cos 0 -> 0.921353 * 255 = 234.95 -> 235
//     y = 2: + 0.3 cos(pi / 2) = 0 -> 158.45 -> 158
//   class 1, c = 1: tint = 0.5 + 0.15 cos(2 pi (0.1 + 1/3)) = 0.362968,
//     y = 1: + 0.3 cos(pi / 4) = 0.212132 -> 0.575100 * 255 = 146.65 -> 147
//   class 2, (1, 1), c = 2: tint = 0.5 + 0.15 cos(2 pi (0.2 + 2/3)) = 0.600370,
//     y = x = 1: + 0.3 cos(pi / 4)^2 = 0.15 -> 0.750370 * 255 = 191.34 -> 191
TEST(SyntheticTest, NoiselessPixelsFollowTheFormula) {
  absl::StatusOr<ImageDataset> data = MakeSyntheticDataset(
      {.size = 4, .channels = 3, .height = 8, .width = 8, .num_classes = 10, .noise = 0.0});
  ASSERT_THAT(data, IsOk());
  EXPECT_THAT(ValidateImageDataset(*data), IsOk());
  EXPECT_THAT(data->labels, ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(PixelAt(*data, 1, 0, 0, 5), 235);
  EXPECT_EQ(PixelAt(*data, 1, 0, 2, 3), 158);
  EXPECT_EQ(PixelAt(*data, 1, 1, 1, 0), 147);
  EXPECT_EQ(PixelAt(*data, 2, 2, 1, 1), 191);
}

// Goldens from an independent Python implementation of the header's formula
// and draw order (SplitMix64 per image, phases first, then noise in CHW order).
TEST(SyntheticTest, NoisyRandomPhasePixelsMatchPython) {
  absl::StatusOr<ImageDataset> data = MakeSyntheticDataset({.size = 3,
                                                            .channels = 3,
                                                            .height = 8,
                                                            .width = 8,
                                                            .num_classes = 10,
                                                            .noise = 0.1,
                                                            .random_phase = true,
                                                            .seed = 7});
  ASSERT_THAT(data, IsOk());
  const int64_t bytes = data->image_bytes();
  EXPECT_THAT(
      std::vector<uint8_t>(data->pixels.begin() + 2 * bytes, data->pixels.begin() + 2 * bytes + 6),
      ElementsAre(58, 43, 118, 169, 189, 230));
  EXPECT_EQ(data->pixels[bytes - 1], 98);
}

TEST(SyntheticTest, DeterministicPerSeedAndPrefixStable) {
  const SyntheticOptions options{.size = 50,
                                 .channels = 1,
                                 .height = 12,
                                 .width = 12,
                                 .num_classes = 5,
                                 .random_phase = true,
                                 .seed = 3};
  absl::StatusOr<ImageDataset> a = MakeSyntheticDataset(options);
  absl::StatusOr<ImageDataset> b = MakeSyntheticDataset(options);
  SyntheticOptions longer = options;
  longer.size = 80;
  SyntheticOptions reseeded = options;
  reseeded.seed = 4;
  absl::StatusOr<ImageDataset> c = MakeSyntheticDataset(longer);
  absl::StatusOr<ImageDataset> d = MakeSyntheticDataset(reseeded);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  ASSERT_THAT(c, IsOk());
  ASSERT_THAT(d, IsOk());
  EXPECT_EQ(a->pixels, b->pixels);
  EXPECT_TRUE(std::equal(a->pixels.begin(), a->pixels.end(), c->pixels.begin()));
  EXPECT_NE(a->pixels, d->pixels);
  EXPECT_EQ(a->labels, d->labels);  // labels are i % K whatever the seed
}

TEST(SyntheticTest, ClassesAreBalanced) {
  absl::StatusOr<ImageDataset> data =
      MakeSyntheticDataset({.size = 103, .height = 8, .width = 8, .num_classes = 10});
  ASSERT_THAT(data, IsOk());
  std::vector<int> counts(10);
  for (uint8_t label : data->labels) ++counts[label];
  EXPECT_THAT(counts, ElementsAre(11, 11, 11, 10, 10, 10, 10, 10, 10, 10));
}

// Learnable with fixed phase: class means estimated on seed 1 classify an
// independent seed-2 set by nearest mean (a linear classifier) almost perfectly.
TEST(SyntheticTest, FixedPhaseIsSeparableByNearestClassMean) {
  SyntheticOptions options{.size = 500,
                           .channels = 3,
                           .height = 16,
                           .width = 16,
                           .num_classes = 10,
                           .noise = 0.2,
                           .seed = 1};
  absl::StatusOr<ImageDataset> train = MakeSyntheticDataset(options);
  options.seed = 2;
  absl::StatusOr<ImageDataset> test = MakeSyntheticDataset(options);
  ASSERT_THAT(train, IsOk());
  ASSERT_THAT(test, IsOk());
  const int64_t bytes = train->image_bytes();
  std::vector<std::vector<double>> means(10, std::vector<double>(bytes));
  for (int64_t i = 0; i < train->size; ++i) {
    for (int64_t p = 0; p < bytes; ++p) means[train->labels[i]][p] += train->pixels[i * bytes + p];
  }
  int correct = 0;
  for (int64_t i = 0; i < test->size; ++i) {
    int best = -1;
    double best_distance = 0;
    for (int k = 0; k < 10; ++k) {
      double distance = 0;
      for (int64_t p = 0; p < bytes; ++p) {
        const double diff = test->pixels[i * bytes + p] - means[k][p] / 50.0;
        distance += diff * diff;
      }
      if (best < 0 || distance < best_distance) best = k, best_distance = distance;
    }
    correct += best == test->labels[i];
  }
  EXPECT_GE(correct, 495);
}

// Learnable with random phase: the class is recoverable without knowing the
// position, from the Fourier power at the class's frequencies (what a
// convolution followed by global pooling can compute).
TEST(SyntheticTest, RandomPhaseClassIsInTheFourierPower) {
  const SyntheticOptions options{.size = 300,
                                 .channels = 3,
                                 .height = 16,
                                 .width = 16,
                                 .num_classes = 10,
                                 .noise = 0.2,
                                 .random_phase = true,
                                 .seed = 5};
  absl::StatusOr<ImageDataset> data = MakeSyntheticDataset(options);
  ASSERT_THAT(data, IsOk());
  const int64_t h = 16, w = 16, plane = h * w;
  int correct = 0;
  for (int64_t i = 0; i < data->size; ++i) {
    std::vector<double> grey(plane);  // channel sum, which keeps the grating
    for (int64_t c = 0; c < 3; ++c) {
      for (int64_t p = 0; p < plane; ++p) grey[p] += data->pixels[(i * 3 + c) * plane + p];
    }
    int best = -1;
    double best_power = -1;
    for (int k = 0; k < 10; ++k) {
      const GratingFrequency f = SyntheticClassFrequency(k);
      double power = 0;
      for (int sign : {1, -1}) {  // cos(ay)cos(bx) lives at (a, b) and (a, -b)
        std::complex<double> sum = 0;
        for (int64_t y = 0; y < h; ++y) {
          for (int64_t x = 0; x < w; ++x) {
            const double angle =
                -2 * kPi * (f.vertical * y / 16.0 + sign * f.horizontal * x / 16.0);
            sum += grey[y * w + x] * std::polar(1.0, angle);
          }
        }
        power += std::norm(sum);
      }
      if (power > best_power) best = k, best_power = power;
    }
    correct += best == data->labels[i];
  }
  EXPECT_GE(correct, 297);
}

TEST(SyntheticTest, BadOptionsAreInvalidArgumentsNamingTheField) {
  EXPECT_THAT(MakeSyntheticDataset({.size = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("size -1")));
  EXPECT_THAT(MakeSyntheticDataset({.channels = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0x32x32")));
  EXPECT_THAT(MakeSyntheticDataset({.num_classes = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_classes 0")));
  EXPECT_THAT(MakeSyntheticDataset({.noise = 1.5}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("noise 1.5")));
  EXPECT_THAT(MakeSyntheticDataset({.height = 6, .width = 6, .num_classes = 10}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 7")));
  EXPECT_THAT(MakeSyntheticDataset({.height = 7, .width = 7, .num_classes = 10}), IsOk());
  EXPECT_THAT(MakeSyntheticDataset({.height = 20, .width = 32, .num_classes = 100}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 21")));
}

}  // namespace
}  // namespace edgecompress::training
