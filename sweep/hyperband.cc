#include "sweep/hyperband.h"

#include <algorithm>
#include <cmath>

namespace edgecompress::sweep {

std::vector<int64_t> HyperbandBands(const HyperbandSpec& spec, int64_t longest_history) {
  std::vector<int64_t> bands;
  if (spec.min_iter > 0) {
    for (double band = spec.min_iter; band < longest_history; band *= spec.eta) {
      bands.push_back(static_cast<int64_t>(band));
    }
  } else {
    double band = spec.max_iter;
    for (int64_t i = 0; i < spec.s; ++i) {
      band /= spec.eta;
      if (band < 1) break;
      bands.push_back(static_cast<int64_t>(band));
    }
    std::sort(bands.begin(), bands.end());
  }
  return bands;
}

std::vector<int64_t> HyperbandTrialsToStop(const HyperbandSpec& spec, Goal goal,
                                           absl::Span<const TrialHistory> histories) {
  // Work in "lower is better" like W&B: negate a maximised metric.
  const double sign = goal == Goal::kMaximize ? -1.0 : 1.0;
  int64_t longest = 0;
  for (const TrialHistory& h : histories) longest = std::max<int64_t>(longest, h.values.size());
  const std::vector<int64_t> bands = HyperbandBands(spec, longest);
  std::vector<double> thresholds;
  for (int64_t band : bands) {
    std::vector<double> at_band;
    for (const TrialHistory& h : histories) {
      if (static_cast<int64_t>(h.values.size()) > band) at_band.push_back(sign * h.values[band]);
    }
    std::sort(at_band.begin(), at_band.end());
    thresholds.push_back(at_band.empty() ? INFINITY
                                         : at_band[static_cast<size_t>(at_band.size() / spec.eta)]);
  }
  std::vector<int64_t> stop;
  for (const TrialHistory& h : histories) {
    if (!h.running) continue;
    int passed = -1;
    for (size_t i = 0; i < bands.size(); ++i) {
      if (bands[i] < static_cast<int64_t>(h.values.size())) passed = static_cast<int>(i);
    }
    if (passed >= 0 && sign * h.values[bands[passed]] > thresholds[passed]) stop.push_back(h.trial_id);
  }
  return stop;
}

}  // namespace edgecompress::sweep
