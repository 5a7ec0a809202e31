#include "inference/xnn_graph.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_macros.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace inference {
namespace {

using ::testing::ElementsAre;
using ::testing::FloatEq;
using ::testing::HasSubstr;
using ::testing::Pointwise;

// XNNPACK accumulates in fp32 in its own order; the reference in double.
constexpr float kRelativeTolerance = 1e-4f;

// ---------------------------------------------------------------------------
// Reference implementations: plain loops over NHWC / OHWI (filters with
// input_channels / groups inputs), double accumulators.

size_t NumElements(const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t dim : shape) n *= dim;
  return n;
}

std::vector<float> ReferenceConv2D(const std::vector<float>& input,
                                   const std::vector<size_t>& input_shape, const Conv2DParams& p,
                                   const std::vector<float>& filter,
                                   const std::vector<float>& bias,
                                   std::vector<size_t>* output_shape) {
  const size_t batch = input_shape[0], in_h = input_shape[1], in_w = input_shape[2];
  const size_t in_c = p.input_channels, out_c = p.output_channels;
  const size_t group_in_c = in_c / p.groups;
  const size_t kh = p.kernel_height, kw = p.kernel_width;
  const size_t out_h =
      (in_h + p.padding_top + p.padding_bottom - p.dilation_height * (kh - 1) - 1) /
          p.stride_height + 1;
  const size_t out_w =
      (in_w + p.padding_left + p.padding_right - p.dilation_width * (kw - 1) - 1) /
          p.stride_width + 1;
  *output_shape = {batch, out_h, out_w, out_c};
  std::vector<float> output(batch * out_h * out_w * out_c);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        for (size_t o = 0; o < out_c; ++o) {
          const size_t group = o / (out_c / p.groups);
          double sum = bias.empty() ? 0.0 : bias[o];
          for (size_t ky = 0; ky < kh; ++ky) {
            const int64_t iy = static_cast<int64_t>(oy * p.stride_height + ky * p.dilation_height) -
                               static_cast<int64_t>(p.padding_top);
            if (iy < 0 || iy >= static_cast<int64_t>(in_h)) continue;
            for (size_t kx = 0; kx < kw; ++kx) {
              const int64_t ix = static_cast<int64_t>(ox * p.stride_width + kx * p.dilation_width) -
                                 static_cast<int64_t>(p.padding_left);
              if (ix < 0 || ix >= static_cast<int64_t>(in_w)) continue;
              for (size_t c = 0; c < group_in_c; ++c) {
                sum += static_cast<double>(
                           input[((b * in_h + iy) * in_w + ix) * in_c + group * group_in_c + c]) *
                       filter[((o * kh + ky) * kw + kx) * group_in_c + c];
              }
            }
          }
          output[((b * out_h + oy) * out_w + ox) * out_c + o] = static_cast<float>(sum);
        }
      }
    }
  }
  return output;
}

// Max or average over each window; padding is skipped (max ignores it,
// average divides by the number of non-padding elements), as XNNPACK does.
std::vector<float> ReferencePool2D(bool max, const std::vector<float>& input,
                                   const std::vector<size_t>& input_shape, const Pool2DParams& p,
                                   std::vector<size_t>* output_shape) {
  const size_t batch = input_shape[0], in_h = input_shape[1], in_w = input_shape[2];
  const size_t channels = input_shape[3];
  const size_t kh = p.pooling_height, kw = p.pooling_width;
  const size_t out_h =
      (in_h + p.padding_top + p.padding_bottom - p.dilation_height * (kh - 1) - 1) /
          p.stride_height + 1;
  const size_t out_w =
      (in_w + p.padding_left + p.padding_right - p.dilation_width * (kw - 1) - 1) /
          p.stride_width + 1;
  *output_shape = {batch, out_h, out_w, channels};
  std::vector<float> output(batch * out_h * out_w * channels);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t oy = 0; oy < out_h; ++oy) {
      for (size_t ox = 0; ox < out_w; ++ox) {
        for (size_t c = 0; c < channels; ++c) {
          double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
          size_t count = 0;
          for (size_t ky = 0; ky < kh; ++ky) {
            const int64_t iy = static_cast<int64_t>(oy * p.stride_height + ky * p.dilation_height) -
                               static_cast<int64_t>(p.padding_top);
            if (iy < 0 || iy >= static_cast<int64_t>(in_h)) continue;
            for (size_t kx = 0; kx < kw; ++kx) {
              const int64_t ix = static_cast<int64_t>(ox * p.stride_width + kx * p.dilation_width) -
                                 static_cast<int64_t>(p.padding_left);
              if (ix < 0 || ix >= static_cast<int64_t>(in_w)) continue;
              const double v = input[((b * in_h + iy) * in_w + ix) * channels + c];
              acc = max ? std::max(acc, v) : acc + v;
              ++count;
            }
          }
          output[((b * out_h + oy) * out_w + ox) * channels + c] =
              static_cast<float>(max ? acc : acc / count);
        }
      }
    }
  }
  return output;
}

// Numpy broadcasting of a op b; shapes aligned from the last dimension.
template <typename Op>
std::vector<float> ReferenceBroadcast(const std::vector<float>& a, const std::vector<size_t>& sa,
                                      const std::vector<float>& b, const std::vector<size_t>& sb,
                                      Op op, std::vector<size_t>* output_shape) {
  const size_t rank = std::max(sa.size(), sb.size());
  std::vector<size_t> pa(rank, 1), pb(rank, 1), out(rank);
  std::copy(sa.begin(), sa.end(), pa.begin() + (rank - sa.size()));
  std::copy(sb.begin(), sb.end(), pb.begin() + (rank - sb.size()));
  for (size_t d = 0; d < rank; ++d) out[d] = std::max(pa[d], pb[d]);
  *output_shape = out;
  std::vector<float> result(NumElements(out));
  std::vector<size_t> index(rank, 0);
  for (size_t i = 0; i < result.size(); ++i) {
    size_t ia = 0, ib = 0;
    for (size_t d = 0; d < rank; ++d) {
      ia = ia * pa[d] + (pa[d] == 1 ? 0 : index[d]);
      ib = ib * pb[d] + (pb[d] == 1 ? 0 : index[d]);
    }
    result[i] = op(a[ia], b[ib]);
    for (size_t d = rank; d-- > 0;) {  // row-major increment
      if (++index[d] < out[d]) break;
      index[d] = 0;
    }
  }
  return result;
}

float ReferenceHardSwish(float x) {
  return static_cast<float>(x * std::min(std::max(x + 3.0, 0.0), 6.0) / 6.0);
}

float ReferenceSigmoid(float x) { return static_cast<float>(1.0 / (1.0 + std::exp(-double{x}))); }

// Softmax over the last dimension of rows of `row_size`.
std::vector<float> ReferenceSoftmax(const std::vector<float>& input, size_t row_size) {
  std::vector<float> output(input.size());
  for (size_t start = 0; start < input.size(); start += row_size) {
    double max = -std::numeric_limits<double>::infinity(), sum = 0.0;
    for (size_t i = 0; i < row_size; ++i) max = std::max<double>(max, input[start + i]);
    for (size_t i = 0; i < row_size; ++i) sum += std::exp(input[start + i] - max);
    for (size_t i = 0; i < row_size; ++i) {
      output[start + i] = static_cast<float>(std::exp(input[start + i] - max) / sum);
    }
  }
  return output;
}

std::vector<float> ReferenceClamp(std::vector<float> values, float lo, float hi) {
  for (float& v : values) v = std::min(std::max(v, lo), hi);
  return values;
}

// [N, H, W, C] -> [N, 1, 1, C].
std::vector<float> ReferenceGlobalAveragePool(const std::vector<float>& input,
                                              const std::vector<size_t>& shape) {
  const size_t batch = shape[0], pixels = shape[1] * shape[2], channels = shape[3];
  std::vector<float> output(batch * channels);
  for (size_t b = 0; b < batch; ++b) {
    for (size_t c = 0; c < channels; ++c) {
      double sum = 0.0;
      for (size_t i = 0; i < pixels; ++i) sum += input[(b * pixels + i) * channels + c];
      output[b * channels + c] = static_cast<float>(sum / pixels);
    }
  }
  return output;
}

// Rows of `input_channels` floats times weights [output_channels, input_channels].
std::vector<float> ReferenceFullyConnected(const std::vector<float>& input,
                                           const FullyConnectedParams& p,
                                           const std::vector<float>& weights,
                                           const std::vector<float>& bias) {
  const size_t rows = input.size() / p.input_channels;
  std::vector<float> output(rows * p.output_channels);
  for (size_t r = 0; r < rows; ++r) {
    for (size_t o = 0; o < p.output_channels; ++o) {
      double sum = bias.empty() ? 0.0 : bias[o];
      for (size_t i = 0; i < p.input_channels; ++i) {
        sum += static_cast<double>(input[r * p.input_channels + i]) *
               weights[o * p.input_channels + i];
      }
      output[r * p.output_channels + o] = static_cast<float>(sum);
    }
  }
  return output;
}

// Reports the first mismatch and how many there are, not every one.
void ExpectClose(absl::Span<const float> actual, absl::Span<const float> expected) {
  ASSERT_EQ(actual.size(), expected.size());
  size_t mismatches = 0, first = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    if (!(std::abs(actual[i] - expected[i]) <=
          kRelativeTolerance * std::max(1.0f, std::abs(expected[i])))) {
      if (mismatches++ == 0) first = i;
    }
  }
  EXPECT_EQ(mismatches, 0u) << "first at index " << first << ": " << actual[first] << " vs "
                            << expected[first] << " expected, of " << actual.size();
}

// ---------------------------------------------------------------------------
// The graph under test: conv -> clamp (ReLU6) -> global average pool -> FC.

struct ChainModel {
  std::vector<size_t> input_shape;
  Conv2DParams conv;
  std::vector<float> conv_filter, conv_bias;
  FullyConnectedParams fc;
  std::vector<float> fc_weights, fc_bias;
};

absl::StatusOr<GraphBuilder> MakeChainBuilder(const ChainModel& m) {
  ASSIGN_OR_RETURN(GraphBuilder builder, GraphBuilder::Create());
  ASSIGN_OR_RETURN(ValueId x, builder.AddInput(m.input_shape));
  ASSIGN_OR_RETURN(x, builder.AddConv2D(x, m.conv, m.conv_filter, m.conv_bias));
  ASSIGN_OR_RETURN(x, builder.AddClamp(x, 0.0f, 6.0f));
  ASSIGN_OR_RETURN(x, builder.AddGlobalAveragePool(x));
  ASSIGN_OR_RETURN(x, builder.AddFullyConnected(x, m.fc, m.fc_weights, m.fc_bias));
  RETURN_IF_ERROR(builder.MarkOutput(x));
  return builder;
}

// The builder dies here: the runtime must keep the weights alive by itself.
absl::StatusOr<Runtime> BuildChain(const ChainModel& m, int num_threads) {
  ASSIGN_OR_RETURN(GraphBuilder builder, MakeChainBuilder(m));
  return builder.Build(num_threads);
}

std::vector<float> ReferenceChain(const ChainModel& m, const std::vector<float>& input) {
  std::vector<size_t> shape;
  std::vector<float> x = ReferenceConv2D(input, m.input_shape, m.conv, m.conv_filter,
                                         m.conv_bias, &shape);
  x = ReferenceClamp(std::move(x), 0.0f, 6.0f);
  x = ReferenceGlobalAveragePool(x, shape);
  return ReferenceFullyConnected(x, m.fc, m.fc_weights, m.fc_bias);
}

std::vector<float> RandomVector(size_t size, float bound, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-bound, bound);
  std::vector<float> v(size);
  for (float& x : v) x = dist(rng);
  return v;
}

size_t RandomSize(size_t lo, size_t hi, std::mt19937& rng) {
  return std::uniform_int_distribution<size_t>(lo, hi)(rng);
}

// Seed from gtest: a failure replays with --gtest_random_seed=<seed>.
unsigned TestSeed() { return testing::UnitTest::GetInstance()->random_seed(); }

// ---------------------------------------------------------------------------
// Goldens.

// 1x1 conv on a 2x2 image with two channels, then ReLU6, pool and FC:
//   input pixels (c0, c1): (1, 2) (3, 4) / (5, 6) (7, 8); filter (1, 0.5); bias -1
//   conv:  1 + 1 - 1 = 1,  3 + 2 - 1 = 4,  5 + 3 - 1 = 7,  7 + 4 - 1 = 10
//   ReLU6: 1, 4, 6, 6;  pool: (1 + 4 + 6 + 6) / 4 = 4.25
//   FC weights [[2], [-1]], bias (0.5, 0): 2 * 4.25 + 0.5 = 9,  -4.25
// Every intermediate is exact in fp32, so the comparison is exact too.
ChainModel TinyModel() {
  ChainModel m;
  m.input_shape = {1, 2, 2, 2};
  m.conv.input_channels = 2;
  m.conv.output_channels = 1;
  m.conv.kernel_height = m.conv.kernel_width = 1;
  m.conv_filter = {1.0f, 0.5f};
  m.conv_bias = {-1.0f};
  m.fc.input_channels = 1;
  m.fc.output_channels = 2;
  m.fc_weights = {2.0f, -1.0f};
  m.fc_bias = {0.5f, 0.0f};
  return m;
}
const std::vector<float> kTinyInput = {1, 2, 3, 4, 5, 6, 7, 8};

TEST(GraphBuilderTest, TinyConvGolden) {
  const ChainModel m = TinyModel();
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  absl::StatusOr<ValueId> input = builder->AddInput(m.input_shape);
  ASSERT_THAT(input, IsOk());
  absl::StatusOr<ValueId> conv = builder->AddConv2D(*input, m.conv, m.conv_filter, m.conv_bias);
  ASSERT_THAT(conv, IsOk());
  EXPECT_THAT(builder->shape(*conv), ElementsAre(1, 2, 2, 1));
  ASSERT_THAT(builder->MarkOutput(*conv), IsOk());
  absl::StatusOr<Runtime> runtime = builder->Build(1);
  ASSERT_THAT(runtime, IsOk());
  EXPECT_EQ(runtime->output_size(), 4);
  std::vector<float> output(4);
  ASSERT_THAT(runtime->Run(kTinyInput, absl::MakeSpan(output)), IsOk());
  EXPECT_THAT(output, ElementsAre(1.0f, 4.0f, 7.0f, 10.0f));
}

TEST(GraphBuilderTest, TinyChainGolden) {
  absl::StatusOr<Runtime> runtime = BuildChain(TinyModel(), 1);
  ASSERT_THAT(runtime, IsOk());
  EXPECT_THAT(runtime->input_shape(), ElementsAre(1, 2, 2, 2));
  EXPECT_THAT(runtime->output_shape(), ElementsAre(1, 1, 1, 2));
  std::vector<float> output(2);
  ASSERT_THAT(runtime->Run(kTinyInput, absl::MakeSpan(output)), IsOk());
  EXPECT_THAT(output, ElementsAre(9.0f, -4.25f));
  EXPECT_THAT(ReferenceChain(TinyModel(), kTinyInput), ElementsAre(9.0f, -4.25f));
}

// 3x3 all-ones kernel, padding 1, on the 3x3 image 1..9 (row-major): each
// output is the sum of the in-bounds 3x3 neighbourhood, e.g. the corner
// 1 + 2 + 4 + 5 = 12 and the centre 1 + ... + 9 = 45. Stride 2 keeps the corners.
TEST(GraphBuilderTest, PaddedConvGolden) {
  const std::vector<float> image = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<float> ones(9, 1.0f);
  struct Case {
    uint32_t stride;
    std::vector<size_t> shape;
    std::vector<float> expected;
  };
  const Case cases[] = {
      {1, {1, 3, 3, 1}, {12, 21, 16, 27, 45, 33, 24, 39, 28}},
      {2, {1, 2, 2, 1}, {12, 16, 24, 28}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(absl::StrFormat("stride %d", c.stride));
    Conv2DParams params;
    params.input_channels = params.output_channels = 1;
    params.kernel_height = params.kernel_width = 3;
    params.stride_height = params.stride_width = c.stride;
    params.padding_top = params.padding_right = params.padding_bottom = params.padding_left = 1;
    absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
    ASSERT_THAT(builder, IsOk());
    absl::StatusOr<ValueId> input = builder->AddInput({1, 3, 3, 1});
    ASSERT_THAT(input, IsOk());
    absl::StatusOr<ValueId> conv = builder->AddConv2D(*input, params, ones, {});
    ASSERT_THAT(conv, IsOk());
    EXPECT_THAT(builder->shape(*conv), Pointwise(testing::Eq(), c.shape));
    ASSERT_THAT(builder->MarkOutput(*conv), IsOk());
    absl::StatusOr<Runtime> runtime = builder->Build(1);
    ASSERT_THAT(runtime, IsOk());
    std::vector<float> output(c.expected.size());
    ASSERT_THAT(runtime->Run(image, absl::MakeSpan(output)), IsOk());
    EXPECT_THAT(output, Pointwise(FloatEq(), c.expected));
  }
}

// ---------------------------------------------------------------------------
// Optimized versus reference on random shapes and weights.

TEST(GraphBuilderTest, ConvMatchesReference) {
  const unsigned seed = TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed %d", seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 24; ++trial) {
    Conv2DParams p;
    p.input_channels = RandomSize(1, 8, rng);
    p.output_channels = RandomSize(1, 8, rng);
    p.kernel_height = p.kernel_width = 3;
    p.stride_height = p.stride_width = static_cast<uint32_t>(RandomSize(1, 2, rng));
    p.dilation_height = static_cast<uint32_t>(RandomSize(1, 2, rng));
    p.dilation_width = static_cast<uint32_t>(RandomSize(1, 2, rng));
    p.padding_top = static_cast<uint32_t>(RandomSize(0, 2, rng));
    p.padding_right = static_cast<uint32_t>(RandomSize(0, 2, rng));
    p.padding_bottom = static_cast<uint32_t>(RandomSize(0, 2, rng));
    p.padding_left = static_cast<uint32_t>(RandomSize(0, 2, rng));
    // At least the dilated kernel (5), so every case is valid.
    const std::vector<size_t> shape = {RandomSize(1, 2, rng), RandomSize(5, 12, rng),
                                       RandomSize(5, 12, rng), p.input_channels};
    const std::vector<float> filter =
        RandomVector(p.output_channels * 9 * p.input_channels, 1.0f, rng);
    const std::vector<float> bias =
        RandomSize(0, 1, rng) ? RandomVector(p.output_channels, 1.0f, rng) : std::vector<float>();
    const std::vector<float> input = RandomVector(NumElements(shape), 1.0f, rng);
    SCOPED_TRACE(absl::StrFormat(
        "trial %d: input [%d, %d, %d, %d], %d outputs, stride %d, dilation %dx%d, "
        "padding t%d r%d b%d l%d, bias %d",
        trial, shape[0], shape[1], shape[2], shape[3], p.output_channels, p.stride_height,
        p.dilation_height, p.dilation_width, p.padding_top, p.padding_right, p.padding_bottom,
        p.padding_left, !bias.empty()));

    std::vector<size_t> expected_shape;
    const std::vector<float> expected =
        ReferenceConv2D(input, shape, p, filter, bias, &expected_shape);

    absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
    ASSERT_THAT(builder, IsOk());
    absl::StatusOr<ValueId> x = builder->AddInput(shape);
    ASSERT_THAT(x, IsOk());
    x = builder->AddConv2D(*x, p, filter, bias);
    ASSERT_THAT(x, IsOk());
    EXPECT_THAT(builder->shape(*x), Pointwise(testing::Eq(), expected_shape));
    ASSERT_THAT(builder->MarkOutput(*x), IsOk());
    absl::StatusOr<Runtime> runtime = builder->Build(1);
    ASSERT_THAT(runtime, IsOk());
    std::vector<float> output(runtime->output_size());
    ASSERT_THAT(runtime->Run(input, absl::MakeSpan(output)), IsOk());
    ExpectClose(output, expected);
  }
}

ChainModel RandomChainModel(std::mt19937& rng) {
  ChainModel m;
  m.conv.input_channels = RandomSize(1, 8, rng);
  m.conv.output_channels = RandomSize(1, 16, rng);
  m.conv.kernel_height = m.conv.kernel_width = 3;
  m.conv.stride_height = m.conv.stride_width = static_cast<uint32_t>(RandomSize(1, 2, rng));
  m.conv.padding_top = m.conv.padding_right = m.conv.padding_bottom = m.conv.padding_left =
      static_cast<uint32_t>(RandomSize(0, 1, rng));
  m.input_shape = {RandomSize(1, 3, rng), RandomSize(3, 16, rng), RandomSize(3, 16, rng),
                   m.conv.input_channels};
  m.conv_filter = RandomVector(m.conv.output_channels * 9 * m.conv.input_channels, 1.0f, rng);
  m.conv_bias = RandomVector(m.conv.output_channels, 1.0f, rng);
  m.fc.input_channels = m.conv.output_channels;
  m.fc.output_channels = RandomSize(1, 10, rng);
  m.fc_weights = RandomVector(m.fc.output_channels * m.fc.input_channels, 1.0f, rng);
  m.fc_bias = RandomVector(m.fc.output_channels, 1.0f, rng);
  return m;
}

TEST(GraphBuilderTest, ChainMatchesReferenceOnOneAndTwoThreads) {
  const unsigned seed = TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed %d", seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 16; ++trial) {
    const ChainModel m = RandomChainModel(rng);
    // Inputs in [-3, 3] so that both ends of ReLU6 are reached.
    const std::vector<float> input = RandomVector(NumElements(m.input_shape), 3.0f, rng);
    SCOPED_TRACE(absl::StrFormat("trial %d: input [%d, %d, %d, %d], conv to %d stride %d pad %d, "
                                 "fc to %d",
                                 trial, m.input_shape[0], m.input_shape[1], m.input_shape[2],
                                 m.input_shape[3], m.conv.output_channels, m.conv.stride_height,
                                 m.conv.padding_top, m.fc.output_channels));
    const std::vector<float> expected = ReferenceChain(m, input);

    // One builder, two runtimes: Build leaves the builder reusable.
    absl::StatusOr<GraphBuilder> builder = MakeChainBuilder(m);
    ASSERT_THAT(builder, IsOk());
    absl::StatusOr<Runtime> single = builder->Build(1);
    ASSERT_THAT(single, IsOk());
    absl::StatusOr<Runtime> multi = builder->Build(2);
    ASSERT_THAT(multi, IsOk());
    EXPECT_EQ(multi->num_threads(), 2);
    ASSERT_EQ(single->output_size(), m.input_shape[0] * m.fc.output_channels);

    std::vector<float> single_output(single->output_size());
    std::vector<float> multi_output(multi->output_size());
    ASSERT_THAT(single->Run(input, absl::MakeSpan(single_output)), IsOk());
    ASSERT_THAT(multi->Run(input, absl::MakeSpan(multi_output)), IsOk());
    ExpectClose(single_output, expected);
    ExpectClose(multi_output, single_output);
  }
}

TEST(RuntimeTest, RerunsWithNewInputsAndOutputBuffers) {
  std::mt19937 rng(TestSeed());
  const ChainModel m = RandomChainModel(rng);
  absl::StatusOr<Runtime> runtime = BuildChain(m, 2);
  ASSERT_THAT(runtime, IsOk());
  for (int run = 0; run < 3; ++run) {
    SCOPED_TRACE(absl::StrFormat("run %d", run));
    const std::vector<float> input = RandomVector(runtime->input_size(), 3.0f, rng);
    // A fresh buffer each run: the runtime re-binds its output.
    std::vector<float> output(runtime->output_size() + run);
    ASSERT_THAT(runtime->Run(input, absl::MakeSpan(output).subspan(run)), IsOk());
    ExpectClose(absl::MakeSpan(output).subspan(run), ReferenceChain(m, input));
  }
}

TEST(RuntimeTest, MovedRuntimeRunsAndMovedFromFails) {
  absl::StatusOr<Runtime> built = BuildChain(TinyModel(), 1);
  ASSERT_THAT(built, IsOk());
  Runtime runtime = *std::move(built);
  Runtime moved = std::move(runtime);
  std::vector<float> output(2);
  ASSERT_THAT(moved.Run(kTinyInput, absl::MakeSpan(output)), IsOk());
  EXPECT_THAT(output, ElementsAre(9.0f, -4.25f));
  EXPECT_THAT(runtime.Run(kTinyInput, absl::MakeSpan(output)),  // NOLINT(bugprone-use-after-move)
              StatusIs(absl::StatusCode::kFailedPrecondition));
  // Assigning over a live runtime releases the old one first.
  absl::StatusOr<Runtime> other = BuildChain(TinyModel(), 2);
  ASSERT_THAT(other, IsOk());
  moved = *std::move(other);
  ASSERT_THAT(moved.Run(kTinyInput, absl::MakeSpan(output)), IsOk());
  EXPECT_THAT(output, ElementsAre(9.0f, -4.25f));
}

// Ops the output does not depend on are not lowered, and do not disturb it.
TEST(GraphBuilderTest, DropsOpsOffTheOutputPath) {
  const ChainModel m = TinyModel();
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  absl::StatusOr<ValueId> input = builder->AddInput(m.input_shape);
  ASSERT_THAT(input, IsOk());
  ASSERT_THAT(builder->AddClamp(*input, -1.0f, 1.0f), IsOk());  // a dead branch
  absl::StatusOr<ValueId> conv = builder->AddConv2D(*input, m.conv, m.conv_filter, m.conv_bias);
  ASSERT_THAT(conv, IsOk());
  ASSERT_THAT(builder->AddGlobalAveragePool(*conv), IsOk());  // a dead consumer of the output
  ASSERT_THAT(builder->MarkOutput(*conv), IsOk());
  absl::StatusOr<Runtime> runtime = builder->Build(1);
  ASSERT_THAT(runtime, IsOk());
  std::vector<float> output(4);
  ASSERT_THAT(runtime->Run(kTinyInput, absl::MakeSpan(output)), IsOk());
  EXPECT_THAT(output, ElementsAre(1.0f, 4.0f, 7.0f, 10.0f));
}

// ---------------------------------------------------------------------------
// Errors: each names its culprit.

TEST(GraphBuilderTest, RejectsBadInputs) {
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  EXPECT_THAT(builder->AddInput({1, 0, 4, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dimension 1 is zero")));
  EXPECT_THAT(builder->AddInput({}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank 0")));
  EXPECT_THAT(builder->AddInput({1, 1, 1, 1, 1, 1, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("rank 7")));
  const size_t huge = std::numeric_limits<size_t>::max() / 2;
  EXPECT_THAT(builder->AddInput({huge, huge}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too many elements")));
  ASSERT_THAT(builder->AddInput({1, 4, 4, 3}), IsOk());
  EXPECT_THAT(builder->AddInput({1, 4, 4, 3}),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already has an input")));
}

TEST(GraphBuilderTest, RejectsBadConv) {
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  absl::StatusOr<ValueId> input = builder->AddInput({1, 4, 4, 3});
  ASSERT_THAT(input, IsOk());
  Conv2DParams good;
  good.input_channels = 3;
  good.output_channels = 2;
  good.kernel_height = good.kernel_width = 3;
  const std::vector<float> filter(2 * 3 * 3 * 3, 0.5f);
  ASSERT_THAT(builder->AddConv2D(*input, good, filter, {}), IsOk());

  Conv2DParams wrong_channels = good;
  wrong_channels.input_channels = 4;
  EXPECT_THAT(builder->AddConv2D(*input, wrong_channels, std::vector<float>(2 * 9 * 4), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 3 channels (shape [1, 4, 4, 3]) but input_channels is 4")));
  EXPECT_THAT(builder->AddConv2D(*input, good, std::vector<float>(10), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("filter has 10 floats, expected OHWI [2, 3, 3, 3]")));
  EXPECT_THAT(builder->AddConv2D(*input, good, filter, std::vector<float>(3)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bias has 3 floats")));
  Conv2DParams zero_stride = good;
  zero_stride.stride_width = 0;
  EXPECT_THAT(builder->AddConv2D(*input, zero_stride, filter, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("stride 1x0")));
  Conv2DParams zero_channels = good;
  zero_channels.output_channels = 0;
  EXPECT_THAT(builder->AddConv2D(*input, zero_channels, {}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must be positive")));
  Conv2DParams too_dilated = good;
  too_dilated.dilation_height = 3;  // a 7-row kernel over 4 rows
  EXPECT_THAT(builder->AddConv2D(*input, too_dilated, filter, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger than the padded")));

  absl::StatusOr<ValueId> pooled = builder->AddGlobalAveragePool(*input);
  ASSERT_THAT(pooled, IsOk());
  FullyConnectedParams flatten;
  flatten.input_channels = 3;
  flatten.output_channels = 1;
  absl::StatusOr<ValueId> flat = builder->AddFullyConnected(*pooled, flatten,
                                                            std::vector<float>(3), {});
  ASSERT_THAT(flat, IsOk());
  EXPECT_THAT(builder->shape(*flat), ElementsAre(1, 1, 1, 1));
  EXPECT_THAT(builder->AddConv2D(99, good, filter, {}),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr("conv2d: no value 99")));
}

TEST(GraphBuilderTest, RejectsBadFullyConnectedClampAndPool) {
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  absl::StatusOr<ValueId> input = builder->AddInput({2, 8});
  ASSERT_THAT(input, IsOk());
  FullyConnectedParams fc;
  fc.input_channels = 16;
  fc.output_channels = 4;
  EXPECT_THAT(builder->AddFullyConnected(*input, fc, std::vector<float>(64), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("has 8 channels in its last dimension (shape [2, 8]) but "
                                 "input_channels is 16")));
  fc.input_channels = 8;
  EXPECT_THAT(builder->AddFullyConnected(*input, fc, std::vector<float>(64), {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weights have 64 floats")));
  EXPECT_THAT(builder->AddFullyConnected(*input, fc, std::vector<float>(32), std::vector<float>(8)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("bias has 8 floats")));
  absl::StatusOr<ValueId> fc_out = builder->AddFullyConnected(*input, fc, std::vector<float>(32),
                                                              std::vector<float>(4));
  ASSERT_THAT(fc_out, IsOk());
  EXPECT_THAT(builder->shape(*fc_out), ElementsAre(2, 4));

  EXPECT_THAT(builder->AddClamp(*input, 6.0f, 0.0f),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range [6, 0]")));
  EXPECT_THAT(builder->AddClamp(*input, 1.0f, 1.0f),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(builder->AddClamp(*input, std::nanf(""), 1.0f),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(builder->AddClamp(*input, 0.0f, std::numeric_limits<float>::infinity()), IsOk());
  EXPECT_THAT(builder->AddGlobalAveragePool(*input),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected 4D NHWC")));
}

TEST(GraphBuilderTest, RejectsBadOutputsAndBuilds) {
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  EXPECT_THAT(builder->Build(1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no input")));
  absl::StatusOr<ValueId> input = builder->AddInput({1, 4});
  ASSERT_THAT(input, IsOk());
  EXPECT_THAT(builder->Build(1),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("no output")));
  EXPECT_THAT(builder->MarkOutput(*input),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is the graph input")));
  EXPECT_THAT(builder->MarkOutput(7), StatusIs(absl::StatusCode::kOutOfRange));
  absl::StatusOr<ValueId> relu = builder->AddClamp(*input, 0.0f, 6.0f);
  ASSERT_THAT(relu, IsOk());
  ASSERT_THAT(builder->MarkOutput(*relu), IsOk());
  EXPECT_THAT(builder->MarkOutput(*relu),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("already has an output")));
  EXPECT_THAT(builder->Build(0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_threads is 0")));
  EXPECT_THAT(builder->Build(1), IsOk());
}

TEST(RuntimeTest, RejectsWrongSizes) {
  absl::StatusOr<Runtime> runtime = BuildChain(TinyModel(), 1);
  ASSERT_THAT(runtime, IsOk());
  std::vector<float> output(2);
  EXPECT_THAT(runtime->Run(std::vector<float>(7), absl::MakeSpan(output)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input has 7 floats, the graph input [1, 2, 2, 2] needs 8")));
  std::vector<float> long_output(3);
  EXPECT_THAT(runtime->Run(kTinyInput, absl::MakeSpan(long_output)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output has 3 floats, the graph output [1, 1, 1, 2] needs 2")));
}

// ---------------------------------------------------------------------------
// Grouped and depthwise convolution, pooling, elementwise ops, reshape, pad.

// Builds input -> op -> output, runs it on `input` and returns the output.
template <typename AddOp>
absl::StatusOr<std::vector<float>> RunOneOp(const std::vector<size_t>& input_shape,
                                            const std::vector<float>& input, AddOp add_op,
                                            std::vector<size_t>* output_shape = nullptr,
                                            int num_threads = 1) {
  ASSIGN_OR_RETURN(GraphBuilder builder, GraphBuilder::Create());
  ASSIGN_OR_RETURN(ValueId x, builder.AddInput(input_shape));
  ASSIGN_OR_RETURN(ValueId y, add_op(builder, x));
  RETURN_IF_ERROR(builder.MarkOutput(y));
  if (output_shape != nullptr) {
    output_shape->assign(builder.shape(y).begin(), builder.shape(y).end());
  }
  ASSIGN_OR_RETURN(Runtime runtime, builder.Build(num_threads));
  std::vector<float> output(runtime.output_size());
  RETURN_IF_ERROR(runtime.Run(input, absl::MakeSpan(output)));
  return output;
}

// Groups 1 (dense), 2 and 4 (grouped) and C (depthwise, multiplier 1 or 2):
// each against the grouped reference, on 1 and 2 threads.
TEST(GraphBuilderTest, GroupedAndDepthwiseConvMatchReference) {
  const unsigned seed = TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed %d", seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 32; ++trial) {
    Conv2DParams p;
    const size_t kind = RandomSize(0, 3, rng);
    const size_t channels = 4 * RandomSize(1, 3, rng);
    p.input_channels = channels;
    switch (kind) {
      case 0: p.groups = 1; p.output_channels = RandomSize(1, 8, rng); break;
      case 1: p.groups = 2; p.output_channels = 2 * RandomSize(1, 4, rng); break;
      case 2: p.groups = 4; p.output_channels = 4 * RandomSize(1, 2, rng); break;
      default:
        p.groups = static_cast<uint32_t>(channels);
        p.output_channels = channels * RandomSize(1, 2, rng);
        break;
    }
    p.kernel_height = static_cast<uint32_t>(RandomSize(1, 3, rng));
    p.kernel_width = static_cast<uint32_t>(RandomSize(1, 3, rng));
    p.stride_height = p.stride_width = static_cast<uint32_t>(RandomSize(1, 2, rng));
    p.dilation_height = p.dilation_width = static_cast<uint32_t>(RandomSize(1, 2, rng));
    p.padding_top = p.padding_left = static_cast<uint32_t>(RandomSize(0, 2, rng));
    p.padding_bottom = p.padding_right = static_cast<uint32_t>(RandomSize(0, 2, rng));
    const std::vector<size_t> shape = {RandomSize(1, 2, rng), RandomSize(5, 10, rng),
                                       RandomSize(5, 10, rng), channels};
    const std::vector<float> filter = RandomVector(
        p.output_channels * p.kernel_height * p.kernel_width * (channels / p.groups), 1.0f, rng);
    const std::vector<float> bias =
        RandomSize(0, 1, rng) ? RandomVector(p.output_channels, 1.0f, rng) : std::vector<float>();
    const std::vector<float> input = RandomVector(NumElements(shape), 1.0f, rng);
    const int threads = static_cast<int>(RandomSize(1, 2, rng));
    SCOPED_TRACE(absl::StrFormat(
        "trial %d: input [%d, %d, %d, %d], groups %d, %d outputs, kernel %dx%d, stride %d, "
        "dilation %d, padding t%d l%d b%d r%d, bias %d, %d threads",
        trial, shape[0], shape[1], shape[2], shape[3], p.groups, p.output_channels,
        p.kernel_height, p.kernel_width, p.stride_height, p.dilation_height, p.padding_top,
        p.padding_left, p.padding_bottom, p.padding_right, !bias.empty(), threads));
    std::vector<size_t> expected_shape, actual_shape;
    const std::vector<float> expected =
        ReferenceConv2D(input, shape, p, filter, bias, &expected_shape);
    absl::StatusOr<std::vector<float>> actual = RunOneOp(
        shape, input,
        [&](GraphBuilder& b, ValueId x) { return b.AddConv2D(x, p, filter, bias); },
        &actual_shape, threads);
    ASSERT_THAT(actual, IsOk());
    EXPECT_EQ(actual_shape, expected_shape);
    ExpectClose(*actual, expected);
  }
}

// 3x3 windows, padding 1, stride 1, on the 3x3 image 1..9 (row-major):
// max is the largest in-bounds neighbour, e.g. 5 at the top-left corner and 9
// in the centre; average divides by the in-bounds count, e.g. the corner
// (1 + 2 + 4 + 5) / 4 = 3, the top edge (1 + 2 + 3 + 4 + 5 + 6) / 6 = 3.5 and
// the centre 45 / 9 = 5 (ONNX count_include_pad = 0).
TEST(GraphBuilderTest, PoolingGoldens) {
  const std::vector<float> image = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  Pool2DParams p;
  p.pooling_height = p.pooling_width = 3;
  p.padding_top = p.padding_right = p.padding_bottom = p.padding_left = 1;
  EXPECT_THAT(RunOneOp({1, 3, 3, 1}, image,
                       [&](GraphBuilder& b, ValueId x) { return b.AddMaxPool2D(x, p); }),
              IsOkAndHolds(ElementsAre(5, 6, 6, 8, 9, 9, 8, 9, 9)));
  EXPECT_THAT(RunOneOp({1, 3, 3, 1}, image,
                       [&](GraphBuilder& b, ValueId x) { return b.AddAveragePool2D(x, p); }),
              IsOkAndHolds(Pointwise(FloatEq(), {3.0f, 3.5f, 4.0f, 4.5f, 5.0f, 5.5f, 6.0f, 6.5f,
                                                 7.0f})));
  // 1x1 windows with stride 2 keep every other pixel: the four corners.
  Pool2DParams subsample;
  subsample.pooling_height = subsample.pooling_width = 1;
  subsample.stride_height = subsample.stride_width = 2;
  EXPECT_THAT(RunOneOp({1, 3, 3, 1}, image,
                       [&](GraphBuilder& b, ValueId x) { return b.AddMaxPool2D(x, subsample); }),
              IsOkAndHolds(ElementsAre(1, 3, 7, 9)));
  EXPECT_THAT(
      RunOneOp({1, 3, 3, 1}, image,
               [&](GraphBuilder& b, ValueId x) { return b.AddAveragePool2D(x, subsample); }),
      IsOkAndHolds(ElementsAre(1, 3, 7, 9)));
}

TEST(GraphBuilderTest, PoolingMatchesReference) {
  const unsigned seed = TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed %d", seed));
  std::mt19937 rng(seed);
  for (int trial = 0; trial < 40; ++trial) {
    const bool max = trial % 2 == 0;
    Pool2DParams p;
    p.pooling_height = static_cast<uint32_t>(RandomSize(1, 3, rng));
    p.pooling_width = static_cast<uint32_t>(RandomSize(p.pooling_height == 1 ? 2 : 1, 3, rng));
    p.stride_height = static_cast<uint32_t>(RandomSize(1, 3, rng));
    p.stride_width = static_cast<uint32_t>(RandomSize(1, 3, rng));
    if (max) {
      p.dilation_height = static_cast<uint32_t>(RandomSize(1, 2, rng));
      p.dilation_width = static_cast<uint32_t>(RandomSize(1, 2, rng));
    }
    p.padding_top = static_cast<uint32_t>(RandomSize(0, p.pooling_height - 1, rng));
    p.padding_bottom = static_cast<uint32_t>(RandomSize(0, p.pooling_height - 1, rng));
    p.padding_left = static_cast<uint32_t>(RandomSize(0, p.pooling_width - 1, rng));
    p.padding_right = static_cast<uint32_t>(RandomSize(0, p.pooling_width - 1, rng));
    const std::vector<size_t> shape = {RandomSize(1, 2, rng), RandomSize(6, 11, rng),
                                       RandomSize(6, 11, rng), RandomSize(1, 9, rng)};
    const std::vector<float> input = RandomVector(NumElements(shape), 2.0f, rng);
    SCOPED_TRACE(absl::StrFormat(
        "trial %d: %s pool, input [%d, %d, %d, %d], window %dx%d, stride %dx%d, dilation %dx%d, "
        "padding t%d r%d b%d l%d",
        trial, max ? "max" : "average", shape[0], shape[1], shape[2], shape[3], p.pooling_height,
        p.pooling_width, p.stride_height, p.stride_width, p.dilation_height, p.dilation_width,
        p.padding_top, p.padding_right, p.padding_bottom, p.padding_left));
    std::vector<size_t> expected_shape, actual_shape;
    const std::vector<float> expected = ReferencePool2D(max, input, shape, p, &expected_shape);
    absl::StatusOr<std::vector<float>> actual = RunOneOp(
        shape, input,
        [&](GraphBuilder& b, ValueId x) {
          return max ? b.AddMaxPool2D(x, p) : b.AddAveragePool2D(x, p);
        },
        &actual_shape);
    ASSERT_THAT(actual, IsOk());
    EXPECT_EQ(actual_shape, expected_shape);
    ExpectClose(*actual, expected);
  }
}

// a op b for many broadcast patterns, with either operand a constant.
TEST(GraphBuilderTest, AddAndMultiplyBroadcastLikeNumpy) {
  const unsigned seed = TestSeed();
  SCOPED_TRACE(absl::StrFormat("seed %d", seed));
  std::mt19937 rng(seed);
  struct Case {
    std::vector<size_t> a, b;
  };
  const Case cases[] = {
      {{2, 3, 4, 5}, {2, 3, 4, 5}}, {{2, 3, 4, 5}, {5}},       {{2, 3, 4, 5}, {1, 1, 1, 5}},
      {{2, 3, 4, 5}, {3, 1, 5}},    {{2, 1, 4, 1}, {1, 3, 1, 5}}, {{1}, {2, 3}},
      {{4, 1}, {1, 6}},             {{2, 1, 1, 8}, {2, 8}},
  };
  for (size_t i = 0; i < 2 * std::size(cases); ++i) {
    const Case& c = cases[i / 2];
    const bool multiply = i % 2 == 1;
    for (bool constant_b : {false, true}) {
      SCOPED_TRACE(absl::StrFormat("%s of [%s] and [%s], b constant %d",
                                   multiply ? "multiply" : "add", absl::StrJoin(c.a, ","),
                                   absl::StrJoin(c.b, ","), constant_b));
      const std::vector<float> a = RandomVector(NumElements(c.a), 2.0f, rng);
      const std::vector<float> b = RandomVector(NumElements(c.b), 2.0f, rng);
      std::vector<size_t> expected_shape;
      const std::vector<float> expected =
          multiply ? ReferenceBroadcast(a, c.a, b, c.b, std::multiplies<float>(), &expected_shape)
                   : ReferenceBroadcast(a, c.a, b, c.b, std::plus<float>(), &expected_shape);
      // The graph has one input, so one operand is the input and the other a
      // constant: b constant, then a constant (operand order kept).
      std::vector<size_t> actual_shape;
      absl::StatusOr<std::vector<float>> actual = RunOneOp(
          constant_b ? c.a : c.b, constant_b ? a : b,
          [&](GraphBuilder& builder, ValueId x) -> absl::StatusOr<ValueId> {
            ASSIGN_OR_RETURN(ValueId k, constant_b ? builder.AddConstant(c.b, b)
                                                   : builder.AddConstant(c.a, a));
            const ValueId lhs = constant_b ? x : k, rhs = constant_b ? k : x;
            return multiply ? builder.AddMultiply(lhs, rhs) : builder.AddAdd(lhs, rhs);
          },
          &actual_shape);
      ASSERT_THAT(actual, IsOk());
      EXPECT_EQ(actual_shape, expected_shape);
      ExpectClose(*actual, expected);
    }
  }
}

// Both operands computed from the input: x + relu(x) and x * x broadcast
// against a global average pool of itself (a squeeze-excite shape).
TEST(GraphBuilderTest, BinaryOpsOnTwoActivations) {
  std::mt19937 rng(TestSeed());
  const std::vector<size_t> shape = {2, 3, 4, 5};
  const std::vector<float> input = RandomVector(NumElements(shape), 2.0f, rng);
  absl::StatusOr<std::vector<float>> actual =
      RunOneOp(shape, input, [&](GraphBuilder& b, ValueId x) -> absl::StatusOr<ValueId> {
        ASSIGN_OR_RETURN(ValueId pooled, b.AddGlobalAveragePool(x));  // [2, 1, 1, 5]
        ASSIGN_OR_RETURN(ValueId scaled, b.AddMultiply(x, pooled));
        ASSIGN_OR_RETURN(ValueId relu, b.AddClamp(x, 0.0f, std::numeric_limits<float>::infinity()));
        return b.AddAdd(scaled, relu);
      });
  ASSERT_THAT(actual, IsOk());
  const std::vector<float> pooled = ReferenceGlobalAveragePool(input, shape);
  std::vector<size_t> unused;
  std::vector<float> expected = ReferenceBroadcast(input, shape, pooled, {2, 1, 1, 5},
                                                   std::multiplies<float>(), &unused);
  for (size_t i = 0; i < expected.size(); ++i) expected[i] += std::max(input[i], 0.0f);
  ExpectClose(*actual, expected);
}

// hardswish(x) = x * relu6(x + 3) / 6: 0 at -4 and -3, -1/3 at -1, 0 at 0,
// 2/3 at 1, 3 at 3 and 4 at 4 (linear above 3). sigmoid(0) = 0.5,
// sigmoid(+-2) = 0.880797 / 0.119203. softmax(1, 2, 3) = (0.0900306,
// 0.2447285, 0.6652410) = e^k / (e + e^2 + e^3), the same for (11, 12, 13).
TEST(GraphBuilderTest, ElementwiseGoldens) {
  const std::vector<float> x = {-4, -3, -1, 0, 1, 3, 4};
  EXPECT_THAT(RunOneOp({7}, x, [](GraphBuilder& b, ValueId v) { return b.AddHardSwish(v); }),
              IsOkAndHolds(Pointwise(testing::FloatNear(1e-6f),
                                     {0.0f, 0.0f, -1.0f / 3, 0.0f, 2.0f / 3, 3.0f, 4.0f})));
  EXPECT_THAT(RunOneOp({3}, {-2, 0, 2}, [](GraphBuilder& b, ValueId v) { return b.AddSigmoid(v); }),
              IsOkAndHolds(Pointwise(testing::FloatNear(1e-6f), {0.119203f, 0.5f, 0.880797f})));
  EXPECT_THAT(RunOneOp({2, 3}, {1, 2, 3, 11, 12, 13},
                       [](GraphBuilder& b, ValueId v) { return b.AddSoftmax(v); }),
              IsOkAndHolds(Pointwise(testing::FloatNear(1e-6f),
                                     {0.0900306f, 0.2447285f, 0.6652410f, 0.0900306f, 0.2447285f,
                                      0.6652410f})));
}

TEST(GraphBuilderTest, ElementwiseMatchesReference) {
  std::mt19937 rng(TestSeed());
  const std::vector<size_t> shape = {2, 5, 3, 7};
  const std::vector<float> input = RandomVector(NumElements(shape), 6.0f, rng);
  std::vector<float> hardswish(input.size()), sigmoid(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    hardswish[i] = ReferenceHardSwish(input[i]);
    sigmoid[i] = ReferenceSigmoid(input[i]);
  }
  absl::StatusOr<std::vector<float>> actual =
      RunOneOp(shape, input, [](GraphBuilder& b, ValueId v) { return b.AddHardSwish(v); });
  ASSERT_THAT(actual, IsOk());
  ExpectClose(*actual, hardswish);
  actual = RunOneOp(shape, input, [](GraphBuilder& b, ValueId v) { return b.AddSigmoid(v); });
  ASSERT_THAT(actual, IsOk());
  ExpectClose(*actual, sigmoid);
  actual = RunOneOp(shape, input, [](GraphBuilder& b, ValueId v) { return b.AddSoftmax(v); });
  ASSERT_THAT(actual, IsOk());
  ExpectClose(*actual, ReferenceSoftmax(input, shape.back()));
}

// Reshape keeps the row-major order; padding [1, 2, 2, 1] by (0, 1, 0, 0)
// before and (0, 0, 1, 1) after puts 7s around it.
TEST(GraphBuilderTest, ReshapeAndConstantPadGolden) {
  absl::StatusOr<std::vector<float>> actual = RunOneOp(
      {1, 4}, {1, 2, 3, 4}, [](GraphBuilder& b, ValueId x) -> absl::StatusOr<ValueId> {
        ASSIGN_OR_RETURN(ValueId image, b.AddReshape(x, {1, 2, 2, 1}));
        // Reshape alone would be the output; pad it to [1, 3, 3, 2].
        const size_t pre[] = {0, 1, 0, 0}, post[] = {0, 0, 1, 1};
        return b.AddConstantPad(image, pre, post, 7.0f);
      });
  EXPECT_THAT(actual, IsOkAndHolds(ElementsAre(7, 7, 7, 7, 7, 7,    // padded row
                                               1, 7, 2, 7, 7, 7,    // (pixel, pad channel)
                                               3, 7, 4, 7, 7, 7)));
  std::vector<size_t> shape;
  EXPECT_THAT(RunOneOp({2, 3, 1, 1}, {1, 2, 3, 4, 5, 6},
                       [](GraphBuilder& b, ValueId x) { return b.AddReshape(x, {3, 2}); }, &shape),
              IsOkAndHolds(ElementsAre(1, 2, 3, 4, 5, 6)));
  EXPECT_THAT(shape, ElementsAre(3, 2));
}

TEST(GraphBuilderTest, RejectsBadNewOps) {
  absl::StatusOr<GraphBuilder> builder = GraphBuilder::Create();
  ASSERT_THAT(builder, IsOk());
  absl::StatusOr<ValueId> x = builder->AddInput({1, 6, 6, 4});
  ASSERT_THAT(x, IsOk());

  Conv2DParams conv;
  conv.input_channels = 4;
  conv.output_channels = 6;
  conv.kernel_height = conv.kernel_width = 1;
  conv.groups = 4;
  EXPECT_THAT(builder->AddConv2D(*x, conv, std::vector<float>(6), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("groups (4) must be positive and divide")));
  conv.output_channels = 8;
  EXPECT_THAT(builder->AddConv2D(*x, conv, std::vector<float>(32), {}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("filter has 32 floats, expected OHWI [8, 1, 1, 1]")));
  EXPECT_THAT(builder->AddConv2D(*x, conv, std::vector<float>(8), {}), IsOk());

  Pool2DParams pool;
  pool.pooling_height = pool.pooling_width = 2;
  pool.padding_left = 2;
  EXPECT_THAT(builder->AddMaxPool2D(*x, pool),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("must be smaller than the 2x2 window")));
  pool.padding_left = 0;
  pool.dilation_height = 2;
  EXPECT_THAT(builder->AddAveragePool2D(*x, pool),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("no dilation")));
  pool.pooling_height = 7;
  pool.dilation_height = 1;
  EXPECT_THAT(builder->AddMaxPool2D(*x, pool),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger than the padded")));

  absl::StatusOr<ValueId> k = builder->AddConstant({3}, {1, 2, 3});
  ASSERT_THAT(k, IsOk());
  EXPECT_TRUE(builder->is_constant(*k));
  EXPECT_FALSE(builder->is_constant(*x));
  EXPECT_THAT(builder->AddConstant({2, 2}, {1, 2, 3}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("3 floats for shape [2, 2]")));
  EXPECT_THAT(builder->AddAdd(*x, *k),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("shapes [1, 6, 6, 4] (value 0) and [3] (value")));
  EXPECT_THAT(builder->AddMultiply(*k, *k),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("both operands")));
  EXPECT_THAT(builder->AddSigmoid(*k),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a constant")));
  EXPECT_THAT(builder->MarkOutput(*k),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a constant")));
  EXPECT_THAT(builder->AddReshape(*x, {1, 100}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("new shape [1, 100] has 100 elements, input value 0")));
  EXPECT_THAT(builder->AddReshape(*x, {1, 0, 144}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("dimension 1 is zero")));
  const size_t two[] = {0, 1};
  EXPECT_THAT(builder->AddConstantPad(*x, two, two, 0.0f),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("of rank 4")));
  EXPECT_THAT(builder->AddSoftmax(1000), StatusIs(absl::StatusCode::kOutOfRange));
}

}  // namespace
}  // namespace inference
}  // namespace edgecompress
