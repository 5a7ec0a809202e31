// Calibration observers: they watch batches of activation values and choose
// the real range [min, max] that ChooseQuantParams (affine.h) turns into a
// scale and zero point. Post-training quantization runs a few hundred
// calibration samples through the float model and feeds every observed tensor
// to one observer.
//
// Four methods, as in PyTorch torch.ao.quantization.observer and ONNX
// Runtime's calibrate.py:
//   kMinMax         min and max over every value seen.
//   kMovingAverage  per batch: min <- min + c * (batch_min - min), the same
//                   for max, c = averaging_constant (PyTorch
//                   MovingAverageMinMaxObserver, default 0.01); the first
//                   batch sets both. Outlier batches move the range by c only.
//   kPercentile     the range covering `percentile` percent of |x| (default
//                   99.99, ORT's default), from a histogram of |x|.
//   kEntropy        the threshold T minimising KL(P || Q) between the clipped
//                   histogram P of |x| and its quantized version Q (Migacz,
//                   "8-bit Inference with TensorRT", GTC 2017; MXNet
//                   _get_optimal_threshold): for each candidate i in
//                   [levels, num_bins], P = the first i bins with the tail
//                   summed into bin i-1, Q = those i bins merged into
//                   `levels` groups and spread back evenly over each group's
//                   non-empty bins; both are smoothed (zeros get eps = 1e-4,
//                   taken from the non-zeros) and T = i * bin_width. `levels`
//                   is 255 when no negative value was seen (an asymmetric
//                   [0, T] uses all 256 codes), else 127 (one side of the
//                   symmetric [-127, 127]).
//
// Percentile and entropy ranges. Both find a threshold T on |x|; the range is
// then [max(min, -T), min(max, T)] with min, max the extremes seen, so
// all-non-negative tensors (ReLU outputs) stay non-negative (ChooseQuantParams
// widens the range to include 0).
//
// Histogram of |x| (percentile, entropy): `num_bins` equal bins over [0, A].
// The first batch with a non-zero value sets A to its max |x|; a later batch
// beyond A doubles A until it fits and merges pairs of bins, which is exact
// (no count moves to a bin it did not belong to), unlike ORT's re-binning by
// bin centres. The price: A may be up to twice the true max, so at worst half
// the bins cover the data. Values equal to A fall in the last bin.
//
// Cost: Observe is O(batch) (plus O(num_bins) per range doubling); the
// entropy ComputeRange is O(num_bins^2) (2048 bins: ~4M operations). Memory
// O(num_bins). Observers keep no pointer to the caller's batch.
#ifndef EDGECOMPRESS_QUANTIZATION_OBSERVERS_H_
#define EDGECOMPRESS_QUANTIZATION_OBSERVERS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace quantization {

enum class CalibrationMethod { kMinMax, kMovingAverage, kPercentile, kEntropy };

// "minmax", "moving_average", "percentile", "entropy"; kInvalidArgument
// naming the valid ones otherwise.
absl::StatusOr<CalibrationMethod> ParseCalibrationMethod(absl::string_view name);
std::string CalibrationMethodName(CalibrationMethod method);

struct ObserverOptions {
  CalibrationMethod method = CalibrationMethod::kMinMax;
  double averaging_constant = 0.01;  // kMovingAverage, in (0, 1]
  double percentile = 99.99;         // kPercentile, in (0, 100]
  int num_bins = 2048;               // kPercentile, kEntropy; >= 256 (entropy needs >= levels)
};

// A real range, min <= 0 <= max not required (ChooseQuantParams widens it).
struct Range {
  float min = 0.0f, max = 0.0f;
};

class RangeObserver {
 public:
  virtual ~RangeObserver() = default;
  // One batch of values; empty batches are ignored. kInvalidArgument if a
  // value is NaN or infinite (the observer is then unchanged).
  virtual absl::Status Observe(absl::Span<const float> batch) = 0;
  // kFailedPrecondition if no value was observed.
  virtual absl::StatusOr<Range> ComputeRange() const = 0;
};

// kInvalidArgument, naming the option, if an option is out of range.
absl::StatusOr<std::unique_ptr<RangeObserver>> CreateObserver(const ObserverOptions& options);

// The threshold T on |x| that minimises the KL divergence (see the file
// comment) for a histogram `counts` of |x| with bins of `bin_width`, when
// `levels` quantized bins are available. Exposed for tests.
// kInvalidArgument if levels < 2, counts.size() < levels, or bin_width <= 0.
absl::StatusOr<double> EntropyThreshold(absl::Span<const double> counts, double bin_width,
                                        int levels);

}  // namespace quantization
}  // namespace edgecompress

#endif  // EDGECOMPRESS_QUANTIZATION_OBSERVERS_H_
