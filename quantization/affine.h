// Affine (uniform) quantization of float tensors to 2..8-bit integers.
//
// A quantized value q stands for the real value
//
//   real = scale * (q - zero_point),        q in [qmin, qmax]
//
// the convention of gemmlowp, TFLite and PyTorch (Jacob et al., "Quantization
// and Training of Neural Networks for Efficient Integer-Arithmetic-Only
// Inference", CVPR 2018, Eq. 1). This file chooses (scale, zero_point) for a
// range, maps floats to integers and back, and does both per channel.
//
// Choosing parameters (ChooseQuantParams), for b bits:
//   1. Integer range. Unsigned: [0, 2^b - 1]. Signed: [-2^(b-1), 2^(b-1) - 1].
//      Symmetric narrows the signed range to [-(2^(b-1) - 1), 2^(b-1) - 1]
//      (int8: [-127, 127], 2 bits: the ternary {-1, 0, 1}).
//   2. Asymmetric: widen [min, max] to include 0, so that 0 (padding, ReLU
//      output, pruned weights) is exactly representable:
//        min' = min(min, 0), max' = max(max, 0)
//        scale = (max' - min') / (qmax - qmin)
//        zero_point = round_half_even(qmin - min' * (qmax - qmin) / (max' - min'))
//      Symmetric: a = max(|min|, |max|), scale = a / (2^(b-1) - 1), and
//      zero_point = 0 (signed) or 2^(b-1) (unsigned).
//   3. The scale is computed in double, stored as float, and floored at
//      kMinQuantScale, so an all-zero range (a fully pruned channel) still gets
//      a usable scale; its zero_point is qmin (asymmetric), as PyTorch's.
//
// Conventions where the field disagrees, and why we chose ours:
//   - Symmetric uses the narrow range [-127, 127], as the TFLite int8 spec
//     requires for weights: q and -q are both representable, and kernels may
//     assume zero_point == 0. PyTorch's qint8 symmetric observers keep -128 and
//     use scale = a / 127.5 instead. Unsigned symmetric is the signed range
//     shifted by 2^(b-1): [1, 255] with zero_point 128 for 8 bits.
//   - The zero point is rounded from the exact real-valued ratio, not from
//     the rounded float scale, so exact ties resolve the same on every
//     machine: [-1, 1] unsigned gives 127.5 -> 128 (PyTorch's C++
//     ChooseQuantizationParams in double agrees; torch.ao MinMaxObserver
//     works in float32 and its scale rounds up, giving 127.49999 -> 127).
//   - Rounding of values is round-half-to-even (std::nearbyint under the
//     default FE_TONEAREST mode), as PyTorch; TFLite's reference kernels round
//     half away from zero. We divide x / scale (one rounding); PyTorch
//     multiplies by a precomputed 1 / scale, which can differ from us for x
//     within one float ulp of a tie.
//   - Inputs outside the representable range saturate to qmin / qmax
//     (+-inf too). NaN is rejected with kInvalidArgument.
//   - Dequantize does not clamp: q outside [qmin, qmax] maps to
//     scale * (q - zero_point) as well.
//
// Guarantees: 0.0f quantizes to zero_point and dequantizes to exactly 0.0f.
// For x in the (widened) [min, max] that ChooseQuantParams saw,
// |Dequantize(Quantize(x)) - x| <= scale / 2, plus float rounding of order
// (qmax - qmin) * FLT_EPSILON * scale. Quantize is monotone non-decreasing in x.
//
// Per channel: weights are a row-major [channels, per_channel] matrix (PyTorch
// axis 0 of a conv / linear weight); each row gets its own QuantParams, exactly
// what ChooseQuantParams gives for that row's min and max.
//
// Cost: O(n) time, no allocation except the per-channel parameter vector.
// Nothing keeps pointers to the caller's spans after returning. On error no
// output element is written.
#ifndef EDGECOMPRESS_QUANTIZATION_AFFINE_H_
#define EDGECOMPRESS_QUANTIZATION_AFFINE_H_

#include <cstdint>
#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace quantization {

// real = scale * (q - zero_point), q in [qmin, qmax].
struct QuantParams {
  float scale = 1.0f;          // > 0 and finite
  int32_t zero_point = 0;      // in [qmin, qmax]; the integer that stands for 0.0
  int32_t qmin = 0, qmax = 0;  // qmin < qmax, both within +-2^24
};

// The smallest scale ChooseQuantParams returns: FLT_EPSILON, the floor
// torch.ao.quantization observers use (torch.finfo(torch.float32).eps).
inline constexpr float kMinQuantScale = std::numeric_limits<float>::epsilon();

// Parameters for the range [min, max] at `bits` bits (see the file comment).
// kInvalidArgument if bits is outside [2, 8], min or max is not finite, or
// min > max. min == max (including 0, 0) is fine.
absl::StatusOr<QuantParams> ChooseQuantParams(float min, float max, int bits, bool is_signed,
                                              bool symmetric);

// One QuantParams per row of the row-major [num_channels, per_channel] matrix
// `weights`, each equal to ChooseQuantParams(row min, row max, ...).
// kInvalidArgument if num_channels < 1, weights is empty or not a multiple of
// num_channels, any weight is not finite, or bits is bad.
absl::StatusOr<std::vector<QuantParams>> ChoosePerChannelQuantParams(
    absl::Span<const float> weights, int64_t num_channels, int bits, bool is_signed,
    bool symmetric);

// output[i] = clamp(round_half_even(input[i] / scale) + zero_point, qmin, qmax).
// kInvalidArgument if the sizes differ, params are invalid or [qmin, qmax]
// does not fit the output type, or an input is NaN.
absl::Status Quantize(absl::Span<const float> input, const QuantParams& params,
                      absl::Span<int8_t> output);
absl::Status Quantize(absl::Span<const float> input, const QuantParams& params,
                      absl::Span<uint8_t> output);

// output[i] = scale * (input[i] - zero_point), computed in float.
// kInvalidArgument if the sizes differ or params are invalid.
absl::Status Dequantize(absl::Span<const int8_t> input, const QuantParams& params,
                        absl::Span<float> output);
absl::Status Dequantize(absl::Span<const uint8_t> input, const QuantParams& params,
                        absl::Span<float> output);

// Dequantize(Quantize(input)) without the integer buffer, as in quantization-
// aware training. [qmin, qmax] may be any valid range (not only 8-bit).
// `output` may be `input` (in place); other overlaps are not allowed.
absl::Status FakeQuantize(absl::Span<const float> input, const QuantParams& params,
                          absl::Span<float> output);

// Per-channel versions: `input` is row-major [params.size(), per_channel] and
// row c uses params[c]. Same errors as above, plus kInvalidArgument if params
// is empty or input.size() is not a multiple of params.size().
absl::Status QuantizePerChannel(absl::Span<const float> input, absl::Span<const QuantParams> params,
                                absl::Span<int8_t> output);
absl::Status QuantizePerChannel(absl::Span<const float> input, absl::Span<const QuantParams> params,
                                absl::Span<uint8_t> output);
absl::Status DequantizePerChannel(absl::Span<const int8_t> input,
                                  absl::Span<const QuantParams> params, absl::Span<float> output);
absl::Status DequantizePerChannel(absl::Span<const uint8_t> input,
                                  absl::Span<const QuantParams> params, absl::Span<float> output);
absl::Status FakeQuantizePerChannel(absl::Span<const float> input,
                                    absl::Span<const QuantParams> params, absl::Span<float> output);

}  // namespace quantization
}  // namespace edgecompress

#endif  // EDGECOMPRESS_QUANTIZATION_AFFINE_H_
