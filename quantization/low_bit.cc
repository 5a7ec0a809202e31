#include "quantization/low_bit.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace edgecompress::quantization {

absl::StatusOr<LowBitWeights> QuantizeLowBit(absl::Span<const float> weights, int bits,
                                             absl::Span<float> out,
                                             absl::Span<float> straight_through) {
  if (bits < 1 || bits > 8) {
    return absl::InvalidArgumentError(absl::StrCat("bits is ", bits, "; must be in [1, 8]"));
  }
  if (weights.empty()) return absl::InvalidArgumentError("weights is empty");
  if (out.size() != weights.size() ||
      (!straight_through.empty() && straight_through.size() != weights.size())) {
    return absl::InvalidArgumentError(absl::StrCat("output sizes ", out.size(), " and ",
                                                   straight_through.size(), " do not match ",
                                                   weights.size(), " weights"));
  }
  LowBitWeights result;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i])) {
      return absl::InvalidArgumentError(absl::StrCat("weights[", i, "] is ", weights[i]));
    }
    result.mean += weights[i];
  }
  result.mean /= static_cast<double>(weights.size());
  for (size_t i = 0; i < weights.size(); ++i) {
    result.alpha += std::min(std::fabs(weights[i] - result.mean), 1.0);
  }
  result.alpha /= static_cast<double>(weights.size());

  const double steps = static_cast<double>((1 << bits) - 1);
  // Read everything that depends on weights[i] before writing out[i]: the
  // two may be the same memory.
  for (size_t i = 0; i < weights.size(); ++i) {
    const double centred = weights[i] - result.mean;
    const double w = std::clamp(centred, -1.0, 1.0);
    const double level =
        bits == 1 ? (w >= 0.0 ? 1.0 : -1.0) : 2.0 * std::round((w + 1.0) / 2.0 * steps) / steps - 1.0;
    if (!straight_through.empty()) straight_through[i] = std::fabs(centred) <= 1.0 ? 1.0f : 0.0f;
    out[i] = static_cast<float>(result.alpha * level);
  }
  return result;
}

}  // namespace edgecompress::quantization
