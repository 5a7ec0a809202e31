#include "quantization/low_bit.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::quantization {
namespace {

using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

// W = {0.5, -0.25, 0.125, 1.625} (exact in binary): mean 0.5; centred
// {0, -0.75, -0.375, 1.125}; clipped {0, -0.75, -0.375, 1};
// alpha = (0 + 0.75 + 0.375 + 1) / 4 = 0.53125.
// 1 bit: signs {+1, -1, -1, +1} (sign(0) = +1).
// 2 bits: q = round((w + 1) * 1.5) = {2 (1.5 rounds up), 0 (0.375),
//   1 (0.9375), 3} -> levels {1/3, -1, -1/3, 1}. The last weight's gradient
//   is cancelled (|c| = 1.125 > 1).
TEST(LowBitTest, ThesisQuantizerByHand) {
  const std::vector<float> w = {0.5f, -0.25f, 0.125f, 1.625f};
  constexpr float a = 0.53125f;
  std::vector<float> out(4), ste(4);
  absl::StatusOr<LowBitWeights> one = QuantizeLowBit(w, 1, absl::MakeSpan(out), absl::MakeSpan(ste));
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->mean, 0.5);
  EXPECT_EQ(one->alpha, 0.53125);
  EXPECT_EQ(out, (std::vector<float>{a, -a, -a, a}));
  EXPECT_EQ(ste, (std::vector<float>{1, 1, 1, 0}));

  ASSERT_THAT(QuantizeLowBit(w, 2, absl::MakeSpan(out)), IsOk());
  EXPECT_THAT(out, Pointwise(FloatNear(1e-7), std::vector<float>{a / 3, -a, -a / 3, a}));
}

// In place, and 2^b distinct levels at most.
TEST(LowBitTest, InPlaceAndLevelCount) {
  std::vector<float> w;
  for (int i = 0; i < 200; ++i) w.push_back(0.01f * (i % 37) - 0.2f);
  for (int bits : {1, 2, 3}) {
    std::vector<float> q = w;
    ASSERT_THAT(QuantizeLowBit(q, bits, absl::MakeSpan(q)), IsOk());
    std::sort(q.begin(), q.end());
    EXPECT_LE(std::unique(q.begin(), q.end()) - q.begin(), 1 << bits) << bits;
  }
}

TEST(LowBitTest, RejectsBadInput) {
  std::vector<float> out(2);
  EXPECT_THAT(QuantizeLowBit(std::vector<float>{1, 2}, 0, absl::MakeSpan(out)).status().message(),
              HasSubstr("bits is 0"));
  EXPECT_EQ(QuantizeLowBit(std::vector<float>{1}, 1, absl::MakeSpan(out)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(QuantizeLowBit(std::vector<float>{1, NAN}, 1, absl::MakeSpan(out)).status().message(),
              HasSubstr("weights[1]"));
}

}  // namespace
}  // namespace edgecompress::quantization
