#include "quantization/affine.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace quantization {
namespace {

// Levels are converted to float and back; within +-2^24 every int is exact.
constexpr int32_t kMaxAbsLevel = int32_t{1} << 24;

absl::Status CheckParams(const QuantParams& params, const std::string& name) {
  if (!std::isfinite(params.scale) || !(params.scale > 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ".scale is ", params.scale, "; must be finite and > 0"));
  }
  if (params.qmin >= params.qmax || params.qmin < -kMaxAbsLevel || params.qmax > kMaxAbsLevel) {
    return absl::InvalidArgumentError(absl::StrCat(name, " has [qmin, qmax] = [", params.qmin, ", ",
                                                   params.qmax,
                                                   "]; need qmin < qmax within +-2^24"));
  }
  if (params.zero_point < params.qmin || params.zero_point > params.qmax) {
    return absl::InvalidArgumentError(absl::StrCat(name, ".zero_point ", params.zero_point,
                                                   " is outside [qmin, qmax] = [", params.qmin,
                                                   ", ", params.qmax, "]"));
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status CheckFits(const QuantParams& params, const std::string& name) {
  constexpr int32_t kLow = std::numeric_limits<T>::min();
  constexpr int32_t kHigh = std::numeric_limits<T>::max();
  if (params.qmin < kLow || params.qmax > kHigh) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " has [qmin, qmax] = [", params.qmin, ", ", params.qmax,
                     "], which does not fit the output type's [", kLow, ", ", kHigh, "]"));
  }
  return absl::OkStatus();
}

absl::Status CheckSameSize(size_t input_size, size_t output_size) {
  if (input_size != output_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("output has ", output_size, " elements but input has ", input_size));
  }
  return absl::OkStatus();
}

absl::Status CheckNoNaN(absl::Span<const float> input) {
  for (size_t i = 0; i < input.size(); ++i) {
    if (std::isnan(input[i])) {
      return absl::InvalidArgumentError(absl::StrCat("input[", i, "] is NaN"));
    }
  }
  return absl::OkStatus();
}

// How errors name params[c]: per-tensor calls pass one QuantParams, "params".
std::string ParamsName(size_t c, bool per_channel) {
  return per_channel ? absl::StrCat("params[", c, "]") : std::string("params");
}

// The row length of a row-major [params.size(), per_channel] input.
absl::StatusOr<size_t> PerChannelRowSize(size_t input_size, size_t num_channels) {
  if (num_channels == 0) return absl::InvalidArgumentError("params is empty");
  if (input_size % num_channels != 0) {
    return absl::InvalidArgumentError(absl::StrCat("input has ", input_size,
                                                   " elements, not a multiple of the ",
                                                   num_channels, " channels in params"));
  }
  return input_size / num_channels;
}

// The level for x, with params already checked and x not NaN. Clamping happens
// in float before the conversion because x / scale may exceed int32 or be inf.
int32_t QuantizeValue(float x, const QuantParams& params) {
  const float low = static_cast<float>(params.qmin - params.zero_point);
  const float high = static_cast<float>(params.qmax - params.zero_point);
  const float rounded = std::nearbyint(x / params.scale);
  return static_cast<int32_t>(std::min(std::max(rounded, low), high)) + params.zero_point;
}

float DequantizeValue(int32_t q, const QuantParams& params) {
  // q - zero_point is an exact small int, so the product rounds once.
  return params.scale * static_cast<float>(q - params.zero_point);
}

template <typename T>
absl::Status QuantizeRows(absl::Span<const float> input, absl::Span<const QuantParams> params,
                          bool per_channel, absl::Span<T> output) {
  ASSIGN_OR_RETURN(const size_t row_size, PerChannelRowSize(input.size(), params.size()));
  RETURN_IF_ERROR(CheckSameSize(input.size(), output.size()));
  for (size_t c = 0; c < params.size(); ++c) {
    const std::string name = ParamsName(c, per_channel);
    RETURN_IF_ERROR(CheckParams(params[c], name));
    RETURN_IF_ERROR(CheckFits<T>(params[c], name));
  }
  // Checked before writing anything, so that on error output is untouched.
  RETURN_IF_ERROR(CheckNoNaN(input));
  for (size_t c = 0; c < params.size(); ++c) {
    for (size_t i = c * row_size; i < (c + 1) * row_size; ++i) {
      output[i] = static_cast<T>(QuantizeValue(input[i], params[c]));
    }
  }
  return absl::OkStatus();
}

template <typename T>
absl::Status DequantizeRows(absl::Span<const T> input, absl::Span<const QuantParams> params,
                            bool per_channel, absl::Span<float> output) {
  ASSIGN_OR_RETURN(const size_t row_size, PerChannelRowSize(input.size(), params.size()));
  RETURN_IF_ERROR(CheckSameSize(input.size(), output.size()));
  for (size_t c = 0; c < params.size(); ++c) {
    RETURN_IF_ERROR(CheckParams(params[c], ParamsName(c, per_channel)));
  }
  for (size_t c = 0; c < params.size(); ++c) {
    for (size_t i = c * row_size; i < (c + 1) * row_size; ++i) {
      output[i] = DequantizeValue(input[i], params[c]);
    }
  }
  return absl::OkStatus();
}

absl::Status FakeQuantizeRows(absl::Span<const float> input, absl::Span<const QuantParams> params,
                              bool per_channel, absl::Span<float> output) {
  ASSIGN_OR_RETURN(const size_t row_size, PerChannelRowSize(input.size(), params.size()));
  RETURN_IF_ERROR(CheckSameSize(input.size(), output.size()));
  for (size_t c = 0; c < params.size(); ++c) {
    RETURN_IF_ERROR(CheckParams(params[c], ParamsName(c, per_channel)));
  }
  RETURN_IF_ERROR(CheckNoNaN(input));
  // Element i is read before it is written, so output == input is safe.
  for (size_t c = 0; c < params.size(); ++c) {
    for (size_t i = c * row_size; i < (c + 1) * row_size; ++i) {
      output[i] = DequantizeValue(QuantizeValue(input[i], params[c]), params[c]);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<QuantParams> ChooseQuantParams(float min, float max, int bits, bool is_signed,
                                              bool symmetric) {
  if (bits < 2 || bits > 8) {
    return absl::InvalidArgumentError(absl::StrCat("bits is ", bits, "; must be in [2, 8]"));
  }
  if (!std::isfinite(min) || !std::isfinite(max)) {
    return absl::InvalidArgumentError(absl::StrCat("range [", min, ", ", max, "] is not finite"));
  }
  if (min > max) {
    return absl::InvalidArgumentError(absl::StrCat("min ", min, " is greater than max ", max));
  }
  const int32_t half = int32_t{1} << (bits - 1);  // 2^(b-1)
  QuantParams params;
  double scale = 0.0;
  if (symmetric) {
    // Narrow signed range [-(2^(b-1) - 1), 2^(b-1) - 1]; unsigned is it shifted
    // up by 2^(b-1), so both spend the same levels on the same reals.
    const int32_t offset = is_signed ? 0 : half;
    params.qmin = -(half - 1) + offset;
    params.qmax = (half - 1) + offset;
    params.zero_point = offset;
    const double abs_max =
        std::max(std::fabs(static_cast<double>(min)), std::fabs(static_cast<double>(max)));
    scale = abs_max / (half - 1);
  } else {
    params.qmin = is_signed ? -half : 0;
    params.qmax = is_signed ? half - 1 : 2 * half - 1;
    // Widen to include 0: zero must be exactly representable.
    const double low = std::min(static_cast<double>(min), 0.0);
    const double high = std::max(static_cast<double>(max), 0.0);
    const double levels = params.qmax - params.qmin;
    scale = (high - low) / levels;
    if (high > low) {
      // From the exact ratio low / (high - low), not from the float scale:
      // rounding the scale can tip an exact .5 tie (see the header).
      const double zero_point = params.qmin - low * levels / (high - low);
      params.zero_point = static_cast<int32_t>(
          std::nearbyint(std::min(std::max(zero_point, static_cast<double>(params.qmin)),
                                  static_cast<double>(params.qmax))));
    } else {
      // All zero: every level decodes to 0 at any zero point; qmin is what
      // PyTorch's ChooseQuantizationParams gives.
      params.zero_point = params.qmin;
    }
  }
  // An all-zero or tiny range would give scale 0 (or a subnormal whose
  // reciprocal is inf); the floor keeps x / scale finite.
  params.scale = std::max(static_cast<float>(scale), kMinQuantScale);
  return params;
}

absl::StatusOr<std::vector<QuantParams>> ChoosePerChannelQuantParams(
    absl::Span<const float> weights, int64_t num_channels, int bits, bool is_signed,
    bool symmetric) {
  if (num_channels < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_channels is ", num_channels, "; must be >= 1"));
  }
  if (weights.empty()) return absl::InvalidArgumentError("weights is empty");
  const size_t channels = static_cast<size_t>(num_channels);
  if (weights.size() % channels != 0) {
    return absl::InvalidArgumentError(absl::StrCat("weights has ", weights.size(),
                                                   " elements, not a multiple of ", "num_channels ",
                                                   num_channels));
  }
  const size_t row_size = weights.size() / channels;
  std::vector<QuantParams> params;
  params.reserve(channels);
  for (size_t c = 0; c < channels; ++c) {
    const absl::Span<const float> row = weights.subspan(c * row_size, row_size);
    float low = row[0], high = row[0];
    for (size_t i = 0; i < row.size(); ++i) {
      if (!std::isfinite(row[i])) {
        return absl::InvalidArgumentError(
            absl::StrCat("weights[", c * row_size + i, "] (channel ", c, ") is ", row[i]));
      }
      low = std::min(low, row[i]);
      high = std::max(high, row[i]);
    }
    ASSIGN_OR_RETURN(QuantParams channel_params,
                     ChooseQuantParams(low, high, bits, is_signed, symmetric));
    params.push_back(channel_params);
  }
  return params;
}

absl::Status Quantize(absl::Span<const float> input, const QuantParams& params,
                      absl::Span<int8_t> output) {
  return QuantizeRows<int8_t>(input, absl::MakeConstSpan(&params, 1), /*per_channel=*/false,
                              output);
}

absl::Status Quantize(absl::Span<const float> input, const QuantParams& params,
                      absl::Span<uint8_t> output) {
  return QuantizeRows<uint8_t>(input, absl::MakeConstSpan(&params, 1), /*per_channel=*/false,
                               output);
}

absl::Status Dequantize(absl::Span<const int8_t> input, const QuantParams& params,
                        absl::Span<float> output) {
  return DequantizeRows<int8_t>(input, absl::MakeConstSpan(&params, 1), /*per_channel=*/false,
                                output);
}

absl::Status Dequantize(absl::Span<const uint8_t> input, const QuantParams& params,
                        absl::Span<float> output) {
  return DequantizeRows<uint8_t>(input, absl::MakeConstSpan(&params, 1), /*per_channel=*/false,
                                 output);
}

absl::Status FakeQuantize(absl::Span<const float> input, const QuantParams& params,
                          absl::Span<float> output) {
  return FakeQuantizeRows(input, absl::MakeConstSpan(&params, 1), /*per_channel=*/false, output);
}

absl::Status QuantizePerChannel(absl::Span<const float> input, absl::Span<const QuantParams> params,
                                absl::Span<int8_t> output) {
  return QuantizeRows<int8_t>(input, params, /*per_channel=*/true, output);
}

absl::Status QuantizePerChannel(absl::Span<const float> input, absl::Span<const QuantParams> params,
                                absl::Span<uint8_t> output) {
  return QuantizeRows<uint8_t>(input, params, /*per_channel=*/true, output);
}

absl::Status DequantizePerChannel(absl::Span<const int8_t> input,
                                  absl::Span<const QuantParams> params, absl::Span<float> output) {
  return DequantizeRows<int8_t>(input, params, /*per_channel=*/true, output);
}

absl::Status DequantizePerChannel(absl::Span<const uint8_t> input,
                                  absl::Span<const QuantParams> params, absl::Span<float> output) {
  return DequantizeRows<uint8_t>(input, params, /*per_channel=*/true, output);
}

absl::Status FakeQuantizePerChannel(absl::Span<const float> input,
                                    absl::Span<const QuantParams> params,
                                    absl::Span<float> output) {
  return FakeQuantizeRows(input, params, /*per_channel=*/true, output);
}

}  // namespace quantization
}  // namespace edgecompress
