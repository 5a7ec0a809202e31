#include "training/data/augment.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/data/portable_random.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

constexpr int64_t kC = 3, kH = 8, kW = 6;  // non-square so that y and x cannot be swapped

std::vector<uint8_t> RandomImage(uint64_t seed, int64_t size = kC * kH * kW) {
  SplitMix64 rng(seed);
  std::vector<uint8_t> image(size);
  for (uint8_t& v : image) v = static_cast<uint8_t>(UniformInt(rng, 256));
  return image;
}

// The reference: pad into a (H + 2p) x (W + 2p) buffer of zeros, take the
// H x W window at the offsets, mirror it, normalise each value in double.
std::vector<float> Reference(const std::vector<uint8_t>& image, int64_t pad,
                             const AugmentParams& params, const std::vector<float>& mean,
                             const std::vector<float>& stddev) {
  const int64_t padded_h = kH + 2 * pad, padded_w = kW + 2 * pad;
  std::vector<uint8_t> padded(kC * padded_h * padded_w, 0);
  for (int64_t c = 0; c < kC; ++c) {
    for (int64_t y = 0; y < kH; ++y) {
      for (int64_t x = 0; x < kW; ++x) {
        padded[(c * padded_h + y + pad) * padded_w + x + pad] = image[(c * kH + y) * kW + x];
      }
    }
  }
  std::vector<float> out(kC * kH * kW);
  for (int64_t c = 0; c < kC; ++c) {
    for (int64_t y = 0; y < kH; ++y) {
      for (int64_t x = 0; x < kW; ++x) {
        const int64_t crop_x = params.flip ? kW - 1 - x : x;
        const uint8_t v =
            padded[(c * padded_h + y + params.offset_y) * padded_w + crop_x + params.offset_x];
        out[(c * kH + y) * kW + x] = static_cast<float>((v / 255.0 - mean[c]) / stddev[c]);
      }
    }
  }
  return out;
}

// Golden numbers: (v / 255 - mean) / std with the published CIFAR-10
// constants, e.g. R at 0: -0.4914 / 0.2470 = -1.989474; B at 255:
// (1 - 0.4465) / 0.2616 = 2.115826; G at 128: (0.501961 - 0.4822) / 0.2435 = 0.081153.
TEST(AugmentTest, NormalizeMatchesCifar10Goldens) {
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(3, 1, 3, {.crop_padding = 0});
  ASSERT_THAT(augmenter, IsOk());
  const std::vector<uint8_t> image = {0, 128, 255, 0, 128, 255, 0, 128, 255};  // R, G, B rows
  std::vector<float> out(9);
  augmenter->Normalize(image, absl::MakeSpan(out));
  EXPECT_THAT(out, Pointwise(FloatNear(1e-5), std::vector<float>{
                                                  -1.989474f, 0.042756f, 2.059109f,  // R
                                                  -1.980287f, 0.081153f, 2.126489f,  // G
                                                  -1.706804f, 0.212006f, 2.115826f,  // B
                                              }));
}

TEST(AugmentTest, OneMeanAndStddevServeEveryChannel) {
  // Fashion-MNIST's 0.2860 / 0.3530 (training/batch_source.h): 255 -> 2.022663.
  absl::StatusOr<ImageAugmenter> augmenter =
      ImageAugmenter::Create(1, 2, 2, {.crop_padding = 0, .mean = {0.2860f}, .stddev = {0.3530f}});
  ASSERT_THAT(augmenter, IsOk());
  std::vector<float> out(4);
  augmenter->Normalize(std::vector<uint8_t>{255, 0, 0, 0}, absl::MakeSpan(out));
  EXPECT_NEAR(out[0], 2.022663f, 1e-5);
  EXPECT_NEAR(out[1], -0.810198f, 1e-5);
}

TEST(AugmentTest, EvaluationPathIsDeterministicAndTheIdentityCrop) {
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(kC, kH, kW);
  ASSERT_THAT(augmenter, IsOk());
  const std::vector<uint8_t> image = RandomImage(1);
  std::vector<float> first(image.size()), second(image.size()), identity(image.size());
  augmenter->Normalize(image, absl::MakeSpan(first));
  augmenter->Normalize(image, absl::MakeSpan(second));
  augmenter->Apply(image, {4, 4, false}, absl::MakeSpan(identity));
  EXPECT_EQ(first, second);
  EXPECT_EQ(first, identity);
  EXPECT_EQ(first, Reference(image, 4, augmenter->Identity(), augmenter->options().mean,
                             augmenter->options().stddev));
}

// Optimized vs reference over every offset and both flips, on a random image
// whose seed gtest chooses (--gtest_random_seed=N replays a failure).
TEST(AugmentTest, ApplyMatchesThePadCropFlipReferenceEverywhere) {
  const uint64_t seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE(seed);
  const std::vector<uint8_t> image = RandomImage(seed);
  for (int64_t pad : {0, 1, 4, 6}) {
    absl::StatusOr<ImageAugmenter> augmenter =
        ImageAugmenter::Create(kC, kH, kW, {.crop_padding = pad});
    ASSERT_THAT(augmenter, IsOk());
    for (int64_t oy = 0; oy <= 2 * pad; ++oy) {
      for (int64_t ox = 0; ox <= 2 * pad; ++ox) {
        for (bool flip : {false, true}) {
          SCOPED_TRACE(::testing::Message()
                       << "pad " << pad << " offsets " << oy << "," << ox << " flip " << flip);
          std::vector<float> out(image.size());
          augmenter->Apply(image, {oy, ox, flip}, absl::MakeSpan(out));
          ASSERT_EQ(out, Reference(image, pad, {oy, ox, flip}, augmenter->options().mean,
                                   augmenter->options().stddev));
        }
      }
    }
  }
}

TEST(AugmentTest, OffsetZeroShiftsDownRightAndPadsWithNormalisedBlack) {
  absl::StatusOr<ImageAugmenter> augmenter =
      ImageAugmenter::Create(1, 3, 3, {.crop_padding = 1, .mean = {0.0f}, .stddev = {1.0f}});
  ASSERT_THAT(augmenter, IsOk());
  // Levels 51 * k are k / 5 after normalisation with mean 0, std 1.
  const std::vector<uint8_t> image = {51, 102, 153, 204, 255, 51, 102, 153, 204};
  std::vector<float> out(9);
  augmenter->Apply(image, {0, 0, false}, absl::MakeSpan(out));
  EXPECT_THAT(
      out, Pointwise(FloatNear(1e-6), std::vector<float>{0, 0, 0, 0, 0.2f, 0.4f, 0, 0.8f, 1.0f}));
  augmenter->Apply(image, {2, 1, true}, absl::MakeSpan(out));  // up one, mirrored
  EXPECT_THAT(out, Pointwise(FloatNear(1e-6),
                             std::vector<float>{0.2f, 1.0f, 0.8f, 0.8f, 0.6f, 0.4f, 0, 0, 0}));
}

TEST(AugmentTest, FlipIsAMirror) {
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(kC, kH, kW);
  ASSERT_THAT(augmenter, IsOk());
  const std::vector<uint8_t> image = RandomImage(2);
  for (int64_t offset : {0, 3, 8}) {
    std::vector<float> plain(image.size()), mirrored(image.size()), twice(image.size());
    augmenter->Apply(image, {offset, 4, false}, absl::MakeSpan(plain));
    augmenter->Apply(image, {offset, 4, true}, absl::MakeSpan(mirrored));
    for (int64_t c = 0; c < kC; ++c) {
      for (int64_t y = 0; y < kH; ++y) {
        for (int64_t x = 0; x < kW; ++x) {
          ASSERT_EQ(mirrored[(c * kH + y) * kW + x], plain[(c * kH + y) * kW + kW - 1 - x]);
        }
      }
    }
  }
}

// 4000 draws with p = 4: all 9 x 9 offset pairs appear (each has probability
// 1/81, so missing one has probability < 81 * (80/81)^4000 ~ 3e-20) and the
// flip rate is 0.5 within 5 sigma (sigma = 0.0079).
TEST(AugmentTest, DrawCoversEveryOffsetAndFlipsHalfTheTime) {
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(kC, 32, 32);
  ASSERT_THAT(augmenter, IsOk());
  SplitMix64 rng(3);
  std::set<std::pair<int64_t, int64_t>> offsets;
  int flips = 0;
  for (int i = 0; i < 4000; ++i) {
    const AugmentParams params = augmenter->Draw(rng);
    ASSERT_GE(params.offset_y, 0);
    ASSERT_LE(params.offset_y, 8);
    ASSERT_GE(params.offset_x, 0);
    ASSERT_LE(params.offset_x, 8);
    offsets.insert({params.offset_y, params.offset_x});
    flips += params.flip;
  }
  EXPECT_EQ(offsets.size(), 81u);
  EXPECT_NEAR(flips / 4000.0, 0.5, 5 * 0.0079);

  absl::StatusOr<ImageAugmenter> never =
      ImageAugmenter::Create(kC, 32, 32, {.crop_padding = 0, .flip_probability = 0.0});
  ASSERT_THAT(never, IsOk());
  for (int i = 0; i < 100; ++i) {
    const AugmentParams params = never->Draw(rng);
    ASSERT_EQ(params.offset_y, 0);
    ASSERT_EQ(params.offset_x, 0);
    ASSERT_FALSE(params.flip);
  }
}

// Golden draw (Python re-implementation of the header's draw order):
// SplitMix64(7) gives UniformInt(9) = 3, 6 and UniformUnit() = 0.9008 -> no flip.
TEST(AugmentTest, SameEngineStateGivesTheSameAugmentation) {
  absl::StatusOr<ImageAugmenter> augmenter = ImageAugmenter::Create(kC, kH, kW);
  ASSERT_THAT(augmenter, IsOk());
  SplitMix64 golden(7);
  const AugmentParams params = augmenter->Draw(golden);
  EXPECT_EQ(params.offset_y, 3);
  EXPECT_EQ(params.offset_x, 6);
  EXPECT_FALSE(params.flip);

  const std::vector<uint8_t> image = RandomImage(4);
  std::vector<float> a(image.size()), b(image.size());
  SplitMix64 first(99), second(99);
  augmenter->Augment(image, first, absl::MakeSpan(a));
  augmenter->Augment(image, second, absl::MakeSpan(b));
  EXPECT_EQ(a, b);
  // Other 64-bit engines work too.
  std::mt19937_64 mt(1);
  absl::BitGen bitgen;
  augmenter->Augment(image, mt, absl::MakeSpan(a));
  augmenter->Augment(image, bitgen, absl::MakeSpan(b));
}

TEST(AugmentTest, BadOptionsAreInvalidArgumentsNamingTheField) {
  EXPECT_THAT(ImageAugmenter::Create(0, 32, 32),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("0x32x32")));
  EXPECT_THAT(ImageAugmenter::Create(3, 32, 32, {.crop_padding = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("crop_padding -1")));
  EXPECT_THAT(ImageAugmenter::Create(3, 8, 32, {.crop_padding = 9}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not in [0, 8]")));
  EXPECT_THAT(ImageAugmenter::Create(3, 8, 8, {.flip_probability = 1.5}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("flip_probability 1.5")));
  EXPECT_THAT(ImageAugmenter::Create(1, 28, 28),  // CIFAR-10 defaults on MNIST
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 means and 3 stddevs")));
  EXPECT_THAT(ImageAugmenter::Create(3, 8, 8, {.stddev = {0.2f, 0.0f, 0.2f}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stddev of channel 1")));
  EXPECT_THAT(ImageAugmenter::Create(3, 8, 8, {.mean = {NAN}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("mean of channel 0")));
}

// Two 2x1x2 images. Channel 0 holds 0, 255, 51, 102 -> 0, 1, 0.2, 0.4, mean
// 0.4, variance (0.16 + 0.36 + 0.04 + 0) / 4 = 0.14, stddev 0.374166;
// channel 1 is a constant 7: mean 7 / 255, stddev 0.
TEST(AugmentTest, ComputeChannelStatsGolden) {
  const ImageDataset data{.size = 2,
                          .channels = 2,
                          .height = 1,
                          .width = 2,
                          .num_classes = 1,
                          .pixels = {0, 255, 7, 7, 51, 102, 7, 7},
                          .labels = {0, 0}};
  absl::StatusOr<ChannelStats> stats = ComputeChannelStats(data);
  ASSERT_THAT(stats, IsOk());
  EXPECT_THAT(stats->mean, ElementsAre(FloatNear(0.4f, 1e-6), FloatNear(7 / 255.0f, 1e-6)));
  EXPECT_THAT(stats->stddev, ElementsAre(FloatNear(0.374166f, 1e-6), FloatNear(0.0f, 1e-6)));
  EXPECT_THAT(
      ComputeChannelStats(ImageDataset{.channels = 1, .height = 1, .width = 1, .num_classes = 1}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
}

}  // namespace
}  // namespace edgecompress::training
