#include "quantization/affine.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace quantization {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr float kInf = std::numeric_limits<float>::infinity();

// Goldens derived by hand from the formulas in affine.h:
//   asymmetric: scale = (max' - min') / (qmax - qmin),
//               zero_point = round_half_even(qmin - min' (qmax - qmin) / (max' - min'))
//   symmetric:  scale = max|x| / (2^(b-1) - 1), zero_point = 0 or 2^(b-1).
struct ChooseCase {
  const char* name;
  float min, max;
  int bits;
  bool is_signed, symmetric;
  float scale;
  int32_t zero_point, qmin, qmax;
};

constexpr ChooseCase kChooseCases[] = {
    // 255 * 1 / 2 = 127.5 -> 128 (half to even). PyTorch's C++ (fbgemm)
    // ChooseQuantizationParams agrees: 0 - (-1) / (2 / 255) = 127.5 in double.
    // torch.ao MinMaxObserver works in float32: 2/255 rounds up to
    // 0.0078431377, -1 / that = -127.4999924 -> zero point 127 (computed by
    // hand, not run).
    {"tanh_uint8", -1.0f, 1.0f, 8, false, false, 2.0f / 255.0f, 128, 0, 255},
    // -128 + 127.5 = -0.5 -> -0 -> 0 (half to even).
    {"tanh_int8", -1.0f, 1.0f, 8, true, false, 2.0f / 255.0f, 0, -128, 127},
    // ReLU6 output: 6 / 255, zero at the bottom.
    {"relu6_uint8", 0.0f, 6.0f, 8, false, false, 6.0f / 255.0f, 0, 0, 255},
    // [2, 6] is widened to [0, 6]: same as ReLU6.
    {"widened_up", 2.0f, 6.0f, 8, false, false, 6.0f / 255.0f, 0, 0, 255},
    // [-6, -2] is widened to [-6, 0]: zero at the top.
    {"widened_down", -6.0f, -2.0f, 8, false, false, 6.0f / 255.0f, 255, 0, 255},
    // 0.5 * 255 / 2 = 63.75 -> 64.
    {"skewed_uint8", -0.5f, 1.5f, 8, false, false, 2.0f / 255.0f, 64, 0, 255},
    // 4 bits, [0, 15]: scale 3 / 15 = 0.2, zero point 1 * 15 / 3 = 5 exactly.
    {"uint4", -1.0f, 2.0f, 4, false, false, 0.2f, 5, 0, 15},
    // 2 bits signed, [-2, 1]: scale 6 / 3 = 2, zero point -2 + 3 * 3 / 6 = -0.5 -> 0.
    {"int2", -3.0f, 3.0f, 2, true, false, 2.0f, 0, -2, 1},
    // Symmetric int8 (TFLite weights): max|x| = 1.27, scale 1.27 / 127 = 0.01.
    {"symmetric_int8", -0.5f, 1.27f, 8, true, true, 0.01f, 0, -127, 127},
    // Symmetric uint8 is int8 shifted by 128: max|x| = 2.54 -> 0.02, [1, 255].
    {"symmetric_uint8", -2.54f, 1.0f, 8, false, true, 0.02f, 128, 1, 255},
    // Symmetric 4 bits: [-7, 7], max|x| = 7 -> 1.
    {"symmetric_int4", -7.0f, 3.0f, 4, true, true, 1.0f, 0, -7, 7},
    // Symmetric 2 bits is ternary {-1, 0, 1}.
    {"ternary", -0.25f, 0.5f, 2, true, true, 0.5f, 0, -1, 1},
    // All zero (a fully pruned channel): the scale floor, zero point qmin.
    {"all_zero_uint8", 0.0f, 0.0f, 8, false, false, kMinQuantScale, 0, 0, 255},
    {"all_zero_int8", 0.0f, 0.0f, 8, true, false, kMinQuantScale, -128, -128, 127},
    {"all_zero_symmetric", 0.0f, 0.0f, 8, true, true, kMinQuantScale, 0, -127, 127},
};

TEST(ChooseQuantParamsTest, Goldens) {
  for (const ChooseCase& c : kChooseCases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<QuantParams> params =
        ChooseQuantParams(c.min, c.max, c.bits, c.is_signed, c.symmetric);
    ASSERT_THAT(params, IsOk());
    EXPECT_FLOAT_EQ(params->scale, c.scale);
    EXPECT_EQ(params->zero_point, c.zero_point);
    EXPECT_EQ(params->qmin, c.qmin);
    EXPECT_EQ(params->qmax, c.qmax);
  }
}

TEST(ChooseQuantParamsTest, RejectsBadArguments) {
  struct BadCase {
    const char* name;
    float min, max;
    int bits;
    const char* message;
  };
  const BadCase kBad[] = {
      {"one_bit", -1.0f, 1.0f, 1, "bits is 1"},
      {"nine_bits", -1.0f, 1.0f, 9, "bits is 9"},
      {"min_above_max", 1.0f, -1.0f, 8, "min 1 is greater than max -1"},
      {"nan", std::nanf(""), 1.0f, 8, "not finite"},
      {"inf", -1.0f, kInf, 8, "not finite"},
  };
  for (const BadCase& c : kBad) {
    SCOPED_TRACE(c.name);
    for (bool symmetric : {false, true}) {
      EXPECT_THAT(ChooseQuantParams(c.min, c.max, c.bits, /*is_signed=*/true, symmetric),
                  StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
    }
  }
}

// Quantized levels at exact ties: with scale 1 and zero point 0, x.5 rounds
// to the even neighbour (std::nearbyint); beyond +-7 it saturates.
TEST(QuantizeTest, RoundsHalfToEvenAndSaturates) {
  const QuantParams params{/*scale=*/1.0f, /*zero_point=*/0, /*qmin=*/-7, /*qmax=*/7};
  const std::vector<float> input = {0.5f, 1.5f, 2.5f,    -0.5f, -1.5f, -2.5f,
                                    6.5f, 7.6f, -100.0f, kInf,  -kInf, 0.49f};
  std::vector<int8_t> output(input.size());
  ASSERT_THAT(Quantize(input, params, absl::MakeSpan(output)), IsOk());
  EXPECT_THAT(output, ElementsAre(0, 2, 2, 0, -2, -2, 6, 7, -7, 7, -7, 0));
}

// The tanh golden above, quantized. The float scale 0.0078431377 is a hair
// above 2/255, so -1 / scale = -127.4999924 -> -127 -> level 1 (level 0 is
// -1.0039), 1 / scale -> 127 -> 255, 0.5 / scale = 63.749996 -> 64 -> 192.
TEST(QuantizeTest, TanhRangeGolden) {
  absl::StatusOr<QuantParams> params = ChooseQuantParams(-1.0f, 1.0f, 8, false, false);
  ASSERT_THAT(params, IsOk());
  const std::vector<float> input = {-1.0f, 0.0f, 1.0f, 0.5f};
  std::vector<uint8_t> q(input.size());
  ASSERT_THAT(Quantize(input, *params, absl::MakeSpan(q)), IsOk());
  EXPECT_THAT(q, ElementsAre(1, 128, 255, 192));
  std::vector<float> back(q.size());
  ASSERT_THAT(Dequantize(q, *params, absl::MakeSpan(back)), IsOk());
  // (1 - 128) * 2/255 = -0.99608, (255 - 128) * 2/255 = 0.99608.
  EXPECT_FLOAT_EQ(back[0], -254.0f / 255.0f);
  EXPECT_EQ(back[1], 0.0f);
  EXPECT_FLOAT_EQ(back[2], 254.0f / 255.0f);
  EXPECT_FLOAT_EQ(back[3], 128.0f / 255.0f);
}

// Properties over every bit width and mode, on random ranges: levels stay in
// [qmin, qmax], 0.0 is exact, the round trip is within scale / 2 inside the
// range, values outside saturate, and quantization is monotone.
TEST(QuantizeTest, PropertiesOverBitsAndModes) {
  const int seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE(absl::StrCat("--gtest_random_seed=", seed));
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> endpoint(-10.0f, 10.0f);
  for (int bits = 2; bits <= 8; ++bits) {
    for (bool is_signed : {false, true}) {
      for (bool symmetric : {false, true}) {
        for (int trial = 0; trial < 20; ++trial) {
          float min = endpoint(rng), max = endpoint(rng);
          if (min > max) std::swap(min, max);
          if (trial == 0) min = 0.0f, max = std::fabs(max);  // one-sided ranges too
          if (trial == 1) min = -std::fabs(min), max = 0.0f;
          SCOPED_TRACE(absl::StrCat("bits=", bits, " signed=", is_signed, " symmetric=", symmetric,
                                    " range=[", min, ", ", max, "]"));
          absl::StatusOr<QuantParams> params =
              ChooseQuantParams(min, max, bits, is_signed, symmetric);
          ASSERT_THAT(params, IsOk());
          ASSERT_GE(params->zero_point, params->qmin);
          ASSERT_LE(params->zero_point, params->qmax);
          ASSERT_EQ(params->qmax - params->qmin + 1, (1 << bits) - (symmetric ? 1 : 0));

          // A grid over [min', max'] plus both ends, 0, and points outside.
          const float abs_max = std::max(std::fabs(min), std::fabs(max));
          const float low = symmetric ? -abs_max : std::min(min, 0.0f);
          const float high = symmetric ? abs_max : std::max(max, 0.0f);
          std::vector<float> input;
          for (int i = 0; i <= 1000; ++i) input.push_back(low + (high - low) * i / 1000.0f);
          input.push_back(0.0f);
          const size_t num_inside = input.size();
          input.push_back(low - 1.0f);
          input.push_back(high + 1.0f);

          std::vector<float> output(input.size());
          ASSERT_THAT(FakeQuantize(input, *params, absl::MakeSpan(output)), IsOk());
          std::vector<int8_t> q8(input.size());
          std::vector<uint8_t> qu8(input.size());
          std::vector<int32_t> levels(input.size());
          if (is_signed) {
            ASSERT_THAT(Quantize(input, *params, absl::MakeSpan(q8)), IsOk());
            levels.assign(q8.begin(), q8.end());
          } else {
            ASSERT_THAT(Quantize(input, *params, absl::MakeSpan(qu8)), IsOk());
            levels.assign(qu8.begin(), qu8.end());
          }
          // scale / 2, plus float rounding of the scale and of x / scale.
          constexpr float kEps = std::numeric_limits<float>::epsilon();
          const float slack = 2.0f * (params->qmax - params->qmin) * kEps;
          for (size_t i = 0; i < input.size(); ++i) {
            ASSERT_GE(levels[i], params->qmin) << "x=" << input[i];
            ASSERT_LE(levels[i], params->qmax) << "x=" << input[i];
            if (i < num_inside) {
              ASSERT_LE(std::fabs(output[i] - input[i]),
                        params->scale * (0.5f + slack) + kEps * std::fabs(input[i]))
                  << "x=" << input[i];
            }
            if (i > 0 && i < num_inside - 1) {
              ASSERT_GE(levels[i], levels[i - 1]) << "not monotone at x=" << input[i];
            }
          }
          EXPECT_EQ(levels[num_inside - 1], params->zero_point);
          EXPECT_EQ(output[num_inside - 1], 0.0f);
          EXPECT_EQ(levels[num_inside], params->qmin);
          EXPECT_EQ(levels[num_inside + 1], params->qmax);
        }
      }
    }
  }
}

TEST(QuantizeTest, FakeQuantizeInPlaceMatchesOutOfPlace) {
  absl::StatusOr<QuantParams> params = ChooseQuantParams(-0.3f, 0.9f, 5, true, false);
  ASSERT_THAT(params, IsOk());
  std::vector<float> data = {-0.3f, -0.1f, 0.0f, 0.123f, 0.5f, 0.9f, 2.0f};
  std::vector<float> expected(data.size());
  ASSERT_THAT(FakeQuantize(data, *params, absl::MakeSpan(expected)), IsOk());
  ASSERT_THAT(FakeQuantize(data, *params, absl::MakeSpan(data)), IsOk());
  EXPECT_EQ(data, expected);
}

TEST(QuantizeTest, RejectsBadInputsAndLeavesOutputAlone) {
  const QuantParams uint8_params{0.1f, 128, 0, 255};
  const QuantParams int8_params{0.1f, 0, -128, 127};
  const std::vector<float> input = {1.0f, std::nanf(""), 2.0f};
  std::vector<int8_t> q8(3, 42);
  std::vector<uint8_t> qu8(3, 42);

  EXPECT_THAT(Quantize(input, int8_params, absl::MakeSpan(q8)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input[1] is NaN")));
  EXPECT_THAT(q8, ElementsAre(42, 42, 42));
  EXPECT_THAT(Quantize(std::vector<float>{1.0f}, uint8_params, absl::MakeSpan(q8)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output has 3 elements but input has 1")));
  EXPECT_THAT(Quantize(std::vector<float>(3, 0.0f), uint8_params, absl::MakeSpan(q8)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not fit")));
  EXPECT_THAT(Quantize(std::vector<float>(3, 0.0f), int8_params, absl::MakeSpan(qu8)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not fit")));
  EXPECT_THAT(qu8, ElementsAre(42, 42, 42));

  std::vector<float> out(3);
  const QuantParams kBadParams[] = {
      {0.0f, 0, -1, 1}, {-1.0f, 0, -1, 1}, {kInf, 0, -1, 1},         {std::nanf(""), 0, -1, 1},
      {1.0f, 0, 1, 1},  {1.0f, 5, -1, 1},  {1.0f, 0, -(1 << 25), 1},
  };
  for (const QuantParams& bad : kBadParams) {
    SCOPED_TRACE(absl::StrCat("scale=", bad.scale, " zero_point=", bad.zero_point,
                              " qmin=", bad.qmin, " qmax=", bad.qmax));
    EXPECT_THAT(FakeQuantize(std::vector<float>(3, 0.0f), bad, absl::MakeSpan(out)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("params")));
    EXPECT_THAT(Dequantize(std::vector<int8_t>(3, 0), bad, absl::MakeSpan(out)),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("params")));
  }
}

// Per-channel: each row's params equal the per-tensor params of that row, and
// per-channel quantization equals per-tensor quantization row by row.
TEST(PerChannelTest, EqualsPerTensorOnEachRow) {
  const int seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE(absl::StrCat("--gtest_random_seed=", seed));
  std::mt19937 rng(seed);
  constexpr int kChannels = 6, kPerChannel = 50;
  std::vector<float> weights(kChannels * kPerChannel);
  for (int c = 0; c < kChannels; ++c) {
    std::normal_distribution<float> normal(0.1f * c, 0.05f * (c + 1));
    for (int i = 0; i < kPerChannel; ++i) weights[c * kPerChannel + i] = normal(rng);
  }
  // Channel 3 is fully pruned.
  std::fill(weights.begin() + 3 * kPerChannel, weights.begin() + 4 * kPerChannel, 0.0f);

  for (bool is_signed : {false, true}) {
    for (bool symmetric : {false, true}) {
      SCOPED_TRACE(absl::StrCat("signed=", is_signed, " symmetric=", symmetric));
      absl::StatusOr<std::vector<QuantParams>> params =
          ChoosePerChannelQuantParams(weights, kChannels, 8, is_signed, symmetric);
      ASSERT_THAT(params, IsOk());
      ASSERT_EQ(params->size(), kChannels);

      std::vector<float> fake(weights.size());
      ASSERT_THAT(FakeQuantizePerChannel(weights, *params, absl::MakeSpan(fake)), IsOk());
      std::vector<int8_t> q8(weights.size());
      std::vector<uint8_t> qu8(weights.size());
      std::vector<float> back(weights.size());
      if (is_signed) {
        ASSERT_THAT(QuantizePerChannel(weights, *params, absl::MakeSpan(q8)), IsOk());
        ASSERT_THAT(DequantizePerChannel(q8, *params, absl::MakeSpan(back)), IsOk());
      } else {
        ASSERT_THAT(QuantizePerChannel(weights, *params, absl::MakeSpan(qu8)), IsOk());
        ASSERT_THAT(DequantizePerChannel(qu8, *params, absl::MakeSpan(back)), IsOk());
      }
      EXPECT_EQ(back, fake);

      for (int c = 0; c < kChannels; ++c) {
        SCOPED_TRACE(absl::StrCat("channel ", c));
        const absl::Span<const float> row =
            absl::MakeConstSpan(weights).subspan(c * kPerChannel, kPerChannel);
        const float low = *std::min_element(row.begin(), row.end());
        const float high = *std::max_element(row.begin(), row.end());
        absl::StatusOr<QuantParams> expected =
            ChooseQuantParams(low, high, 8, is_signed, symmetric);
        ASSERT_THAT(expected, IsOk());
        EXPECT_EQ((*params)[c].scale, expected->scale);
        EXPECT_EQ((*params)[c].zero_point, expected->zero_point);
        EXPECT_EQ((*params)[c].qmin, expected->qmin);
        EXPECT_EQ((*params)[c].qmax, expected->qmax);
        std::vector<float> row_fake(kPerChannel);
        ASSERT_THAT(FakeQuantize(row, *expected, absl::MakeSpan(row_fake)), IsOk());
        EXPECT_TRUE(std::equal(row_fake.begin(), row_fake.end(), fake.begin() + c * kPerChannel));
      }
      // The pruned channel stays exactly zero.
      for (int i = 3 * kPerChannel; i < 4 * kPerChannel; ++i) ASSERT_EQ(fake[i], 0.0f);
    }
  }
}

TEST(PerChannelTest, RejectsBadShapes) {
  const std::vector<float> weights(12, 1.0f);
  EXPECT_THAT(ChoosePerChannelQuantParams(weights, 0, 8, true, true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_channels is 0")));
  EXPECT_THAT(ChoosePerChannelQuantParams(weights, 5, 8, true, true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a multiple")));
  EXPECT_THAT(ChoosePerChannelQuantParams({}, 1, 8, true, true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weights is empty")));
  EXPECT_THAT(ChoosePerChannelQuantParams(weights, 3, 9, true, true),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bits is 9")));
  std::vector<float> with_inf = weights;
  with_inf[7] = kInf;
  EXPECT_THAT(
      ChoosePerChannelQuantParams(with_inf, 3, 8, true, true),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weights[7] (channel 1) is inf")));

  const std::vector<QuantParams> params(5, QuantParams{0.1f, 0, -127, 127});
  std::vector<int8_t> q(12);
  EXPECT_THAT(QuantizePerChannel(weights, params, absl::MakeSpan(q)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a multiple")));
  EXPECT_THAT(QuantizePerChannel(weights, {}, absl::MakeSpan(q)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("params is empty")));
  std::vector<QuantParams> bad(3, QuantParams{0.1f, 0, -127, 127});
  bad[2].scale = 0.0f;
  std::vector<float> out(12);
  EXPECT_THAT(FakeQuantizePerChannel(weights, bad, absl::MakeSpan(out)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("params[2].scale")));
}

}  // namespace
}  // namespace quantization
}  // namespace edgecompress
