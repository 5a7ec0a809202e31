// The thesis's 1- and 2-bit weights (seeds/004, Sec. 3.3.1, after XNOR-Net,
// Rastegari et al. 2016): per layer,
//
//   c = W - mean(W)                      mean-centred
//   w = clip(c, -1, 1)
//   B = sign(w)                          b = 1 (sign(0) = +1)
//   B = 2 q / (2^b - 1) - 1,             b >= 2: full-range symmetric uniform
//       q = round((w + 1) / 2 (2^b - 1))   levels in [-1, 1] (2 bits: -1, -1/3, 1/3, 1)
//   alpha = ||w||_1 / n                  the thesis's scale (XNOR-Net's optimum for b = 1)
//   W~ = alpha B
//
// W~ is what the layer computes with; training keeps W in full precision and
// updates it with the gradient taken at W~ (a straight-through estimator),
// cancelled where |c| > 1 because the clip has no slope there (the thesis's
// custom STE; see quantization/low_bit_callback.h for the training side).
// Rounding is half away from zero (std::round). The mean is not added back:
// the layer's bias absorbs a constant shift of its inputs' weights only
// approximately, as in the thesis.
//
// Cost: two passes over the weights; nothing kept.
#ifndef EDGECOMPRESS_QUANTIZATION_LOW_BIT_H_
#define EDGECOMPRESS_QUANTIZATION_LOW_BIT_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::quantization {

struct LowBitWeights {
  double mean = 0.0;   // of W
  double alpha = 0.0;  // ||clip(W - mean)||_1 / n
};

// Writes W~ into `out` (same size as `weights`; may alias it) and, when
// `straight_through` is not empty (same size), 1 where the gradient passes
// (|W - mean| <= 1) and 0 where it is cancelled. kInvalidArgument for bits
// outside [1, 8], empty weights, a size mismatch or a non-finite weight.
absl::StatusOr<LowBitWeights> QuantizeLowBit(absl::Span<const float> weights, int bits,
                                             absl::Span<float> out,
                                             absl::Span<float> straight_through = {});

}  // namespace edgecompress::quantization

#endif  // EDGECOMPRESS_QUANTIZATION_LOW_BIT_H_
