#include "training/data/portable_random.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "absl/random/random.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;

// The published SplitMix64 test vector for seed 1234567 (the output of
// Vigna's splitmix64.c, reproduced by most ports of it).
TEST(PortableRandomTest, SplitMix64MatchesTheReferenceVector) {
  SplitMix64 rng(1234567);
  EXPECT_EQ(rng(), 6457827717110365317u);
  EXPECT_EQ(rng(), 3203168211198807973u);
  EXPECT_EQ(rng(), 9817491932198370423u);
  EXPECT_EQ(rng(), 4593380528125082431u);
  EXPECT_EQ(rng(), 16408922859458223821u);
}

// Goldens below: an independent Python re-implementation of the formulas in
// the header comment (arbitrary-precision integers masked to 64 bits).
TEST(PortableRandomTest, DerivedValuesMatchPython) {
  EXPECT_EQ(MixSeed(0, 0), 0x48218226ff3cd4bfu);
  EXPECT_EQ(MixSeed(42, 7), 0xb1ea561e1a819115u);

  SplitMix64 ints(7);
  std::vector<uint64_t> draws;
  for (int i = 0; i < 8; ++i) draws.push_back(UniformInt(ints, 6));
  EXPECT_THAT(draws, ElementsAre(3, 0, 0, 3, 4, 3, 4, 0));

  SplitMix64 reals(7);
  EXPECT_DOUBLE_EQ(UniformUnit(reals), 0.3898297483912715);
  EXPECT_DOUBLE_EQ(UniformUnit(reals), 0.01678829452815611);

  std::vector<int> items(10);
  std::iota(items.begin(), items.end(), 0);
  SplitMix64 shuffle(1);
  Shuffle(absl::MakeSpan(items), shuffle);
  EXPECT_THAT(items, ElementsAre(4, 2, 8, 1, 9, 3, 0, 6, 7, 5));
}

TEST(PortableRandomTest, MixSeedSeparatesNearbyInputs) {
  std::vector<uint64_t> seeds;
  for (uint64_t s = 0; s < 32; ++s) {
    for (uint64_t v = 0; v < 32; ++v) seeds.push_back(MixSeed(s, v));
  }
  std::sort(seeds.begin(), seeds.end());
  EXPECT_EQ(std::adjacent_find(seeds.begin(), seeds.end()), seeds.end());
}

// Properties over many draws: every value of [0, n) appears, none outside,
// and the counts are within 5 sigma of uniform.
TEST(PortableRandomTest, UniformIntCoversTheRangeEvenly) {
  for (uint64_t n : {1u, 2u, 3u, 9u, 10u}) {
    SCOPED_TRACE(n);
    SplitMix64 rng(n);
    std::vector<int> counts(n);
    constexpr int kDraws = 20000;
    for (int i = 0; i < kDraws; ++i) {
      const uint64_t value = UniformInt(rng, n);
      ASSERT_LT(value, n);
      ++counts[value];
    }
    const double expected = static_cast<double>(kDraws) / n;
    for (int count : counts) EXPECT_NEAR(count, expected, 5 * std::sqrt(expected) + 1);
  }
}

TEST(PortableRandomTest, UniformUnitIsInTheHalfOpenUnitInterval) {
  SplitMix64 rng(3);
  double sum = 0;
  for (int i = 0; i < 10000; ++i) {
    const double value = UniformUnit(rng);
    ASSERT_GE(value, 0.0);
    ASSERT_LT(value, 1.0);
    sum += value;
  }
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);  // sigma of the mean: 0.0029
}

TEST(PortableRandomTest, ShuffleIsAPermutationAndAcceptsOtherEngines) {
  std::vector<int> items(100);
  std::iota(items.begin(), items.end(), 0);
  std::mt19937_64 mt(5);
  Shuffle(absl::MakeSpan(items), mt);
  absl::BitGen bitgen;
  Shuffle(absl::MakeSpan(items), bitgen);
  std::vector<int> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_FALSE(std::is_sorted(items.begin(), items.end()));
  std::vector<int> empty;
  Shuffle(absl::MakeSpan(empty), mt);  // no draws, no crash
}

}  // namespace
}  // namespace edgecompress::training
