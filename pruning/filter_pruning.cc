#include "pruning/filter_pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/str_format.h"
#include "pruning/magnitude.h"

namespace edgecompress::pruning {

absl::Status CheckFilterFraction(double fraction) {
  if (!(fraction >= 0.0 && fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "fraction of filters to prune must be in [0, 1), got %g", fraction));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<double>> FilterL1Scores(absl::Span<const float> weights,
                                                   int64_t filters) {
  const int64_t size = static_cast<int64_t>(weights.size());
  if (filters < 1 || size == 0 || size % filters != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d weights do not split into %d filters", weights.size(), filters));
  }
  const int64_t per_filter = size / filters;
  std::vector<double> scores(filters);
  for (int64_t f = 0; f < filters; ++f) {
    // Accumulate in double: a 3x3x512 filter sums 4,608 terms.
    double sum = 0.0;
    for (int64_t i = f * per_filter; i < (f + 1) * per_filter; ++i) sum += std::fabs(weights[i]);
    scores[f] = sum / static_cast<double>(per_filter);
  }
  return scores;
}

absl::StatusOr<std::vector<int64_t>> KeptFiltersByL1(absl::Span<const float> weights,
                                                     int64_t filters, double fraction) {
  if (absl::Status status = CheckFilterFraction(fraction); !status.ok()) return status;
  absl::StatusOr<std::vector<double>> scores = FilterL1Scores(weights, filters);
  if (!scores.ok()) return scores.status();
  std::vector<int64_t> order(filters);
  std::iota(order.begin(), order.end(), int64_t{0});
  // (score, index) with NaN last: a strict total order, as in magnitude.cc.
  std::sort(order.begin(), order.end(), [&scores](int64_t a, int64_t b) {
    const double sa = (*scores)[a], sb = (*scores)[b];
    const bool nan_a = std::isnan(sa), nan_b = std::isnan(sb);
    if (nan_a != nan_b) return nan_b;
    if (!nan_a && sa != sb) return sa < sb;
    return a < b;
  });
  // At most filters - 1: PrunedCount's rounding epsilon must not remove the
  // last filter for a fraction just below 1.
  const int64_t removed = std::min(PrunedCount(filters, fraction), filters - 1);
  std::vector<int64_t> kept(order.begin() + removed, order.end());
  std::sort(kept.begin(), kept.end());
  return kept;
}

std::vector<uint8_t> FilterMask(absl::Span<const int64_t> kept, int64_t filters,
                                int64_t weights_per_filter) {
  std::vector<uint8_t> mask(filters * weights_per_filter, 0);
  for (int64_t f : kept) {
    if (f < 0 || f >= filters) continue;
    std::fill(mask.begin() + f * weights_per_filter, mask.begin() + (f + 1) * weights_per_filter,
              uint8_t{1});
  }
  return mask;
}

}  // namespace edgecompress::pruning
