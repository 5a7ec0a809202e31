#include "quantization/observers.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace quantization {
namespace {

// Batch extremes; kInvalidArgument on a non-finite value.
absl::Status BatchExtremes(absl::Span<const float> batch, float* min, float* max) {
  *min = std::numeric_limits<float>::infinity();
  *max = -std::numeric_limits<float>::infinity();
  for (size_t i = 0; i < batch.size(); ++i) {
    if (!std::isfinite(batch[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("observed value [", i, "] is ", batch[i], "; must be finite"));
    }
    *min = std::min(*min, batch[i]);
    *max = std::max(*max, batch[i]);
  }
  return absl::OkStatus();
}

absl::Status NothingObserved() {
  return absl::FailedPreconditionError("the observer has seen no values; calibrate first");
}

class MinMaxObserver : public RangeObserver {
 public:
  absl::Status Observe(absl::Span<const float> batch) override {
    if (batch.empty()) return absl::OkStatus();
    float lo, hi;
    if (absl::Status s = BatchExtremes(batch, &lo, &hi); !s.ok()) return s;
    range_.min = seen_ ? std::min(range_.min, lo) : lo;
    range_.max = seen_ ? std::max(range_.max, hi) : hi;
    seen_ = true;
    return absl::OkStatus();
  }
  absl::StatusOr<Range> ComputeRange() const override {
    if (!seen_) return NothingObserved();
    return range_;
  }

 private:
  bool seen_ = false;
  Range range_;
};

class MovingAverageObserver : public RangeObserver {
 public:
  explicit MovingAverageObserver(double c) : c_(c) {}
  absl::Status Observe(absl::Span<const float> batch) override {
    if (batch.empty()) return absl::OkStatus();
    float lo, hi;
    if (absl::Status s = BatchExtremes(batch, &lo, &hi); !s.ok()) return s;
    if (!seen_) {
      min_ = lo;
      max_ = hi;
    } else {
      min_ += c_ * (lo - min_);
      max_ += c_ * (hi - max_);
    }
    seen_ = true;
    return absl::OkStatus();
  }
  absl::StatusOr<Range> ComputeRange() const override {
    if (!seen_) return NothingObserved();
    return Range{static_cast<float>(min_), static_cast<float>(max_)};
  }

 private:
  double c_;
  bool seen_ = false;
  double min_ = 0.0, max_ = 0.0;  // in double so that many small steps do not drift
};

// Histogram of |x| over [0, limit_] with range doubling (see the header).
class HistogramObserver : public RangeObserver {
 public:
  HistogramObserver(const ObserverOptions& options)
      : options_(options), counts_(static_cast<size_t>(options.num_bins), 0.0) {}

  absl::Status Observe(absl::Span<const float> batch) override {
    if (batch.empty()) return absl::OkStatus();
    float lo, hi;
    if (absl::Status s = BatchExtremes(batch, &lo, &hi); !s.ok()) return s;
    min_ = seen_ ? std::min(min_, lo) : lo;
    max_ = seen_ ? std::max(max_, hi) : hi;
    seen_ = true;
    const double batch_abs = std::max(std::fabs(double{lo}), std::fabs(double{hi}));
    if (batch_abs == 0.0 && limit_ == 0.0) {
      zeros_ += static_cast<double>(batch.size());  // binned once a range exists
      return absl::OkStatus();
    }
    if (limit_ == 0.0) {
      limit_ = batch_abs;
      counts_[0] += zeros_;
      zeros_ = 0.0;
    }
    while (batch_abs > limit_) Double();
    const double bins = static_cast<double>(counts_.size());
    for (float v : batch) {
      const size_t bin = std::min(static_cast<size_t>(std::fabs(double{v}) / limit_ * bins),
                                  counts_.size() - 1);
      counts_[bin] += 1.0;
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Range> ComputeRange() const override {
    if (!seen_) return NothingObserved();
    if (limit_ == 0.0) return Range{0.0f, 0.0f};  // only zeros
    const double bin_width = limit_ / static_cast<double>(counts_.size());
    double threshold = limit_;
    if (options_.method == CalibrationMethod::kPercentile) {
      double total = 0.0;
      for (double c : counts_) total += c;
      const double wanted = total * options_.percentile / 100.0;
      double cumulative = 0.0;
      for (size_t i = 0; i < counts_.size(); ++i) {
        cumulative += counts_[i];
        if (cumulative >= wanted) {
          threshold = static_cast<double>(i + 1) * bin_width;
          break;
        }
      }
    } else {
      const int levels = min_ >= 0.0f ? 255 : 127;
      absl::StatusOr<double> t = EntropyThreshold(counts_, bin_width, levels);
      if (!t.ok()) return t.status();
      threshold = *t;
    }
    const float t = static_cast<float>(threshold);
    return Range{std::max(min_, -t), std::min(max_, t)};
  }

 private:
  void Double() {
    const size_t n = counts_.size();
    for (size_t i = 0; i < n / 2; ++i) counts_[i] = counts_[2 * i] + counts_[2 * i + 1];
    if (n % 2 == 1) {
      counts_[n / 2] = counts_[n - 1];  // odd bin counts: the last old bin alone
      std::fill(counts_.begin() + n / 2 + 1, counts_.end(), 0.0);
    } else {
      std::fill(counts_.begin() + n / 2, counts_.end(), 0.0);
    }
    limit_ *= 2.0;
  }

  ObserverOptions options_;
  std::vector<double> counts_;
  double limit_ = 0.0;  // A; 0 until a non-zero value is seen
  double zeros_ = 0.0;  // zeros seen before A was set
  bool seen_ = false;
  float min_ = 0.0f, max_ = 0.0f;
};

// MXNet's _smooth_distribution: zeros get eps, taken evenly from the non-zeros.
// Returns false if every entry is zero.
bool Smooth(std::vector<double>* p) {
  constexpr double kEps = 1e-4;
  size_t zeros = 0;
  double total = 0.0;
  for (double v : *p) {
    if (v == 0.0) ++zeros;
    total += v;
  }
  const size_t nonzeros = p->size() - zeros;
  if (nonzeros == 0 || total <= 0.0) return false;
  const double take = kEps * static_cast<double>(zeros) / static_cast<double>(nonzeros);
  for (double& v : *p) {
    v /= total;
    v = v == 0.0 ? kEps : v - take;
  }
  // A non-zero smaller than `take` would go negative: no valid distribution.
  return std::all_of(p->begin(), p->end(), [](double v) { return v > 0.0; });
}

}  // namespace

absl::StatusOr<CalibrationMethod> ParseCalibrationMethod(absl::string_view name) {
  if (name == "minmax") return CalibrationMethod::kMinMax;
  if (name == "moving_average") return CalibrationMethod::kMovingAverage;
  if (name == "percentile") return CalibrationMethod::kPercentile;
  if (name == "entropy") return CalibrationMethod::kEntropy;
  return absl::InvalidArgumentError(absl::StrCat(
      "calibration method '", name, "' is unknown; use minmax, moving_average, percentile or "
      "entropy"));
}

std::string CalibrationMethodName(CalibrationMethod method) {
  switch (method) {
    case CalibrationMethod::kMinMax:
      return "minmax";
    case CalibrationMethod::kMovingAverage:
      return "moving_average";
    case CalibrationMethod::kPercentile:
      return "percentile";
    case CalibrationMethod::kEntropy:
      return "entropy";
  }
  return "?";
}

absl::StatusOr<std::unique_ptr<RangeObserver>> CreateObserver(const ObserverOptions& options) {
  switch (options.method) {
    case CalibrationMethod::kMinMax:
      return std::unique_ptr<RangeObserver>(new MinMaxObserver());
    case CalibrationMethod::kMovingAverage:
      if (!(options.averaging_constant > 0.0 && options.averaging_constant <= 1.0)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "averaging_constant is ", options.averaging_constant, "; must be in (0, 1]"));
      }
      return std::unique_ptr<RangeObserver>(new MovingAverageObserver(options.averaging_constant));
    case CalibrationMethod::kPercentile:
    case CalibrationMethod::kEntropy:
      if (options.method == CalibrationMethod::kPercentile &&
          !(options.percentile > 0.0 && options.percentile <= 100.0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("percentile is ", options.percentile, "; must be in (0, 100]"));
      }
      if (options.num_bins < 256 || options.num_bins > (1 << 20)) {
        return absl::InvalidArgumentError(
            absl::StrCat("num_bins is ", options.num_bins, "; must be in [256, 2^20]"));
      }
      return std::unique_ptr<RangeObserver>(new HistogramObserver(options));
  }
  return absl::InvalidArgumentError("unknown calibration method");
}

absl::StatusOr<double> EntropyThreshold(absl::Span<const double> counts, double bin_width,
                                        int levels) {
  if (levels < 2 || counts.size() < static_cast<size_t>(levels) || !(bin_width > 0.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "entropy threshold: %d bins of width %g for %d levels; need levels >= 2, bins >= levels "
        "and a positive width",
        counts.size(), bin_width, levels));
  }
  const size_t num_bins = counts.size(), q_bins = static_cast<size_t>(levels);
  // suffix[i] = sum of counts[i..]: the tail clipped into the last kept bin.
  std::vector<double> suffix(num_bins + 1, 0.0);
  for (size_t i = num_bins; i-- > 0;) suffix[i] = suffix[i + 1] + counts[i];
  double best_kl = std::numeric_limits<double>::infinity();
  size_t best_i = num_bins;
  std::vector<double> p, q;
  for (size_t i = q_bins; i <= num_bins; ++i) {
    p.assign(counts.begin(), counts.begin() + i);
    p[i - 1] += suffix[i];
    // Q: the unclipped first i bins merged into q_bins groups (the last group
    // takes the remainder), each group's mass spread over its non-empty bins.
    q.assign(i, 0.0);
    const size_t merged = i / q_bins;
    for (size_t j = 0; j < q_bins; ++j) {
      const size_t start = j * merged, stop = j + 1 == q_bins ? i : start + merged;
      double mass = 0.0;
      size_t nonempty = 0;
      for (size_t k = start; k < stop; ++k) {
        mass += counts[k];
        if (counts[k] != 0.0) ++nonempty;
      }
      if (nonempty == 0) continue;
      for (size_t k = start; k < stop; ++k) {
        if (counts[k] != 0.0) q[k] = mass / static_cast<double>(nonempty);
      }
    }
    if (!Smooth(&p) || !Smooth(&q)) continue;
    double kl = 0.0;
    for (size_t k = 0; k < i; ++k) kl += p[k] * std::log(p[k] / q[k]);
    if (kl < best_kl) {
      best_kl = kl;
      best_i = i;
    }
  }
  return static_cast<double>(best_i) * bin_width;
}

}  // namespace quantization
}  // namespace edgecompress
