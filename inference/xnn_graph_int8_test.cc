// Int8 (QS8/QC8) ops of GraphBuilder against a reference that computes the
// same quantized arithmetic in double: integer accumulation of
// (q_x - zp_x) * q_w plus the int32 bias, scaled by s_x * s_w[o], divided by
// s_y, rounded and saturated. XNNPACK requantizes in fp32 with its own
// rounding, so outputs may differ by one output step (s_y), never more.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/xnn_graph.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace inference {
namespace {

using ::testing::HasSubstr;

unsigned TestSeed() { return testing::UnitTest::GetInstance()->random_seed(); }

int32_t Saturate(double q) { return static_cast<int32_t>(std::clamp(q, -128.0, 127.0)); }

// Input values exactly on the input grid, so quantizing them is exact.
std::vector<float> GridValues(size_t n, const Int8Quantization& q, std::mt19937& rng) {
  std::uniform_int_distribution<int> code(-128, 127);
  std::vector<float> values(n);
  for (float& v : values) v = q.scale * static_cast<float>(code(rng) - q.zero_point);
  return values;
}

struct QuantizedConvCase {
  size_t batch, height, width;
  Conv2DParams params;
};

// NHWC input, OHWI filter; the dequantized int8 output of the reference.
std::vector<float> ReferenceQuantizedConv(const std::vector<float>& input, const Int8Quantization& qx,
                                          const QuantizedConvCase& c,
                                          const std::vector<int8_t>& filter,
                                          const std::vector<float>& scales,
                                          const std::vector<float>& bias,
                                          const Int8Quantization& qy, size_t* out_h,
                                          size_t* out_w) {
  const Conv2DParams& p = c.params;
  const size_t gin = p.input_channels / p.groups, gout = p.output_channels / p.groups;
  *out_h = (c.height + p.padding_top + p.padding_bottom - p.kernel_height) / p.stride_height + 1;
  *out_w = (c.width + p.padding_left + p.padding_right - p.kernel_width) / p.stride_width + 1;
  std::vector<float> out(c.batch * *out_h * *out_w * p.output_channels);
  for (size_t b = 0; b < c.batch; ++b) {
    for (size_t oy = 0; oy < *out_h; ++oy) {
      for (size_t ox = 0; ox < *out_w; ++ox) {
        for (size_t o = 0; o < p.output_channels; ++o) {
          const double bias_scale = double{qx.scale} * scales[o];
          int64_t acc = static_cast<int64_t>(std::nearbyint(bias[o] / bias_scale));
          for (size_t ky = 0; ky < p.kernel_height; ++ky) {
            const int64_t iy = static_cast<int64_t>(oy * p.stride_height + ky) - p.padding_top;
            if (iy < 0 || iy >= static_cast<int64_t>(c.height)) continue;
            for (size_t kx = 0; kx < p.kernel_width; ++kx) {
              const int64_t ix = static_cast<int64_t>(ox * p.stride_width + kx) - p.padding_left;
              if (ix < 0 || ix >= static_cast<int64_t>(c.width)) continue;
              for (size_t i = 0; i < gin; ++i) {
                const size_t channel = (o / gout) * gin + i;
                const float x = input[((b * c.height + iy) * c.width + ix) * p.input_channels +
                                      channel];
                const int64_t qxv = std::lround(x / qx.scale) + qx.zero_point;
                acc += (qxv - qx.zero_point) *
                       filter[((o * p.kernel_height + ky) * p.kernel_width + kx) * gin + i];
              }
            }
          }
          const int32_t q =
              Saturate(std::nearbyint(acc * bias_scale / qy.scale) + qy.zero_point);
          out[((b * *out_h + oy) * *out_w + ox) * p.output_channels + o] =
              qy.scale * static_cast<float>(q - qy.zero_point);
        }
      }
    }
  }
  return out;
}

TEST(GraphBuilderInt8Test, QuantizedConvWithinOneOutputStepOfReference) {
  const QuantizedConvCase cases[] = {
      {1, 8, 8, {.input_channels = 3, .output_channels = 5, .kernel_height = 3, .kernel_width = 3,
                 .padding_top = 1, .padding_right = 1, .padding_bottom = 1, .padding_left = 1}},
      {2, 7, 6, {.input_channels = 4, .output_channels = 8, .kernel_height = 2, .kernel_width = 3,
                 .stride_height = 2, .stride_width = 1}},
      {1, 5, 5, {.input_channels = 6, .output_channels = 6, .kernel_height = 3, .kernel_width = 3,
                 .padding_top = 1, .padding_right = 1, .padding_bottom = 1, .padding_left = 1,
                 .groups = 6}},  // depthwise
      {1, 1, 1, {.input_channels = 16, .output_channels = 10, .kernel_height = 1,
                 .kernel_width = 1}},  // a fully connected layer
  };
  std::mt19937 rng(TestSeed());
  for (const QuantizedConvCase& c : cases) {
    const Conv2DParams& p = c.params;
    SCOPED_TRACE(testing::Message() << "conv " << p.input_channels << "->" << p.output_channels
                                    << " k" << p.kernel_height << "x" << p.kernel_width
                                    << " groups " << p.groups << " seed " << TestSeed());
    const Int8Quantization qx{0.05f, -3}, qy{0.2f, 7};
    const size_t gin = p.input_channels / p.groups;
    std::vector<float> input =
        GridValues(c.batch * c.height * c.width * p.input_channels, qx, rng);
    std::uniform_int_distribution<int> weight(-127, 127);
    std::uniform_real_distribution<float> unit(0.5f, 1.5f), signed_unit(-1.0f, 1.0f);
    std::vector<int8_t> filter(p.output_channels * p.kernel_height * p.kernel_width * gin);
    for (int8_t& w : filter) w = static_cast<int8_t>(weight(rng));
    std::vector<float> scales(p.output_channels), bias(p.output_channels);
    for (float& s : scales) s = 0.01f * unit(rng);
    for (float& b : bias) b = signed_unit(rng);

    absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
    ASSERT_THAT(builder.status(), IsOk());
    absl::StatusOr<ValueId> x = builder->AddInput({c.batch, c.height, c.width, p.input_channels});
    ASSERT_THAT(x.status(), IsOk());
    absl::StatusOr<ValueId> q = builder->AddQuantize(*x, qx);
    ASSERT_THAT(q.status(), IsOk());
    absl::StatusOr<ValueId> y = builder->AddQuantizedConv2D(*q, p, filter, scales, bias, qy);
    ASSERT_THAT(y.status(), IsOk());
    ASSERT_NE(builder->quantization(*y), nullptr);
    EXPECT_EQ(builder->quantization(*y)->zero_point, qy.zero_point);
    absl::StatusOr<ValueId> out = builder->AddDequantize(*y);
    ASSERT_THAT(out.status(), IsOk());
    ASSERT_THAT(builder->MarkOutput(*out), IsOk());
    absl::StatusOr<Runtime> runtime = builder->Build(1);
    ASSERT_THAT(runtime.status(), IsOk());
    std::vector<float> got(runtime->output_size());
    ASSERT_THAT(runtime->Run(input, absl::MakeSpan(got)), IsOk());

    size_t out_h = 0, out_w = 0;
    const std::vector<float> want =
        ReferenceQuantizedConv(input, qx, c, filter, scales, bias, qy, &out_h, &out_w);
    ASSERT_EQ(got.size(), want.size());
    size_t exact = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_LE(std::fabs(got[i] - want[i]), qy.scale * 1.0001f) << "at " << i;
      if (got[i] == want[i]) ++exact;
    }
    // Off-by-one steps are rounding ties, not the rule.
    EXPECT_GE(exact * 10, got.size() * 9);
  }
}

TEST(GraphBuilderInt8Test, FullyConnectedMaxPoolClampAddAndPoolKeepInt8) {
  std::mt19937 rng(TestSeed());
  const Int8Quantization qx{0.1f, 0}, qy{0.5f, -10};
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder.status(), IsOk());
  absl::StatusOr<ValueId> x = builder->AddInput({1, 4, 4, 2});
  ASSERT_THAT(x.status(), IsOk());
  absl::StatusOr<ValueId> q = builder->AddQuantize(*x, qx);
  ASSERT_THAT(q.status(), IsOk());
  absl::StatusOr<ValueId> pooled = builder->AddMaxPool2D(
      *q, {.pooling_height = 2, .pooling_width = 2, .stride_height = 2, .stride_width = 2});
  ASSERT_THAT(pooled.status(), IsOk());
  absl::StatusOr<ValueId> relu = builder->AddClamp(*pooled, 0.0f, INFINITY);
  ASSERT_THAT(relu.status(), IsOk());
  absl::StatusOr<ValueId> sum = builder->AddQuantizedAdd(*relu, *pooled, qx);
  ASSERT_THAT(sum.status(), IsOk());
  absl::StatusOr<ValueId> gap = builder->AddQuantizedGlobalAveragePool(*sum, qx);
  ASSERT_THAT(gap.status(), IsOk());
  absl::StatusOr<ValueId> flat = builder->AddReshape(*gap, {1, 2});
  ASSERT_THAT(flat.status(), IsOk());
  ASSERT_NE(builder->quantization(*flat), nullptr);
  const std::vector<int8_t> weights = {10, -20, 30, 40, -50, 60};
  absl::StatusOr<ValueId> fc = builder->AddQuantizedFullyConnected(
      *flat, {.input_channels = 2, .output_channels = 3}, weights, {0.01f, 0.02f, 0.03f},
      {0.5f, -0.5f, 0.0f}, qy);
  ASSERT_THAT(fc.status(), IsOk());
  absl::StatusOr<ValueId> out = builder->AddDequantize(*fc);
  ASSERT_THAT(out.status(), IsOk());
  ASSERT_THAT(builder->MarkOutput(*out), IsOk());
  absl::StatusOr<Runtime> runtime = builder->Build(1);
  ASSERT_THAT(runtime.status(), IsOk());

  const std::vector<float> input = GridValues(32, qx, rng);
  std::vector<float> got(3);
  ASSERT_THAT(runtime->Run(input, absl::MakeSpan(got)), IsOk());
  // Reference in real numbers on the grid: max over 2x2, relu(m) + m, mean,
  // each requantized to qx, then the FC requantized to qy.
  auto requantize = [](double v, const Int8Quantization& q) {
    return q.scale * (Saturate(std::nearbyint(v / q.scale) + q.zero_point) - q.zero_point);
  };
  double mean[2] = {0.0, 0.0};
  for (size_t oy = 0; oy < 2; ++oy) {
    for (size_t ox = 0; ox < 2; ++ox) {
      for (size_t ch = 0; ch < 2; ++ch) {
        float m = -INFINITY;
        for (size_t ky = 0; ky < 2; ++ky) {
          for (size_t kx = 0; kx < 2; ++kx) {
            m = std::max(m, input[((oy * 2 + ky) * 4 + ox * 2 + kx) * 2 + ch]);
          }
        }
        mean[ch] += requantize(std::max(m, 0.0f) + m, qx) / 4.0;
      }
    }
  }
  for (double& m : mean) m = requantize(m, qx);
  const float scales[3] = {0.01f, 0.02f, 0.03f}, bias[3] = {0.5f, -0.5f, 0.0f};
  for (size_t o = 0; o < 3; ++o) {
    const double v = bias[o] + scales[o] * (weights[o * 2] * mean[0] + weights[o * 2 + 1] * mean[1]);
    // Two requantizations upstream (add, pool) may each move one qx step.
    EXPECT_NEAR(got[o], requantize(v, qy), qy.scale + 2 * qx.scale * 60 * 0.03) << "output " << o;
  }
}

TEST(GraphBuilderInt8Test, RejectsMixedTypes) {
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder.status(), IsOk());
  absl::StatusOr<ValueId> x = builder->AddInput({1, 4, 4, 2});
  ASSERT_THAT(x.status(), IsOk());
  EXPECT_THAT(builder->AddDequantize(*x).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is fp32")));
  EXPECT_THAT(builder->AddQuantize(*x, {0.0f, 0}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("scale 0")));
  EXPECT_THAT(builder->AddQuantize(*x, {1.0f, 200}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("zero point 200")));
  absl::StatusOr<ValueId> q = builder->AddQuantize(*x, {0.1f, 0});
  ASSERT_THAT(q.status(), IsOk());
  EXPECT_THAT(builder->AddSigmoid(*q).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is int8")));
  EXPECT_THAT(builder->AddAdd(*q, *q).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is int8")));
  EXPECT_THAT(builder->AddAveragePool2D(*q, {.pooling_height = 2, .pooling_width = 2}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is int8")));
  const std::vector<int8_t> filter(2 * 2, 1);
  EXPECT_THAT(builder
                  ->AddQuantizedConv2D(*q,
                                       {.input_channels = 2, .output_channels = 2,
                                        .kernel_height = 1, .kernel_width = 1},
                                       filter, {0.1f}, {}, {1.0f, 0})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1 filter scales")));
  EXPECT_THAT(builder->MarkOutput(*q),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dequantize")));
}

}  // namespace
}  // namespace inference
}  // namespace edgecompress
