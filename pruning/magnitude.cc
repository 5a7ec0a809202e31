#include "pruning/magnitude.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "absl/strings/str_format.h"

namespace edgecompress::pruning {

int64_t PrunedCount(int64_t size, double sparsity) {
  // The small epsilon keeps 0.3 * 10 at 3: in binary 0.3 * 10 is 2.9999999999999996.
  return static_cast<int64_t>(std::floor(sparsity * static_cast<double>(size) + 1e-9));
}

absl::Status MagnitudeMask(absl::Span<const float> weights, double sparsity,
                           absl::Span<uint8_t> mask) {
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sparsity must be a fraction in [0, 1], got %g", sparsity));
  }
  if (mask.size() != weights.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "mask has %d entries but weights have %d", mask.size(), weights.size()));
  }
  const int64_t pruned = std::min<int64_t>(PrunedCount(weights.size(), sparsity), weights.size());
  std::fill(mask.begin(), mask.end(), uint8_t{1});
  if (pruned == 0) return absl::OkStatus();

  // Order by (|w|, index): a strict total order, so the pruned set is unique
  // and ties go to the lowest index.
  std::vector<uint32_t> order(weights.size());
  std::iota(order.begin(), order.end(), 0u);
  const auto smaller = [&weights](uint32_t a, uint32_t b) {
    const float wa = std::fabs(weights[a]), wb = std::fabs(weights[b]);
    const bool nan_a = std::isnan(wa), nan_b = std::isnan(wb);
    if (nan_a != nan_b) return nan_b;  // NaN orders last: it is kept.
    if (!nan_a && wa != wb) return wa < wb;
    return a < b;
  };
  std::nth_element(order.begin(), order.begin() + (pruned - 1), order.end(), smaller);
  for (int64_t i = 0; i < pruned; ++i) mask[order[i]] = 0;
  return absl::OkStatus();
}

}  // namespace edgecompress::pruning
