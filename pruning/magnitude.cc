#include "pruning/magnitude.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
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

absl::Status GlobalMagnitudeMask(absl::Span<const absl::Span<const float>> weights,
                                 double sparsity, absl::Span<const absl::Span<uint8_t>> masks) {
  if (!(sparsity >= 0.0 && sparsity <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("sparsity must be a fraction in [0, 1], got %g", sparsity));
  }
  if (masks.size() != weights.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d masks for %d weight tensors", masks.size(), weights.size()));
  }
  int64_t total = 0;
  for (size_t layer = 0; layer < weights.size(); ++layer) {
    if (masks[layer].size() != weights[layer].size()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("mask %d has %d entries but weights %d have %d", layer,
                          masks[layer].size(), layer, weights[layer].size()));
    }
    if (weights[layer].size() > std::numeric_limits<uint32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("weights %d have %d entries, more than 2^32 - 1", layer,
                          weights[layer].size()));
    }
    std::fill(masks[layer].begin(), masks[layer].end(), uint8_t{1});
    total += static_cast<int64_t>(weights[layer].size());
  }
  const int64_t pruned = std::min<int64_t>(PrunedCount(total, sparsity), total);
  if (pruned == 0) return absl::OkStatus();

  // (layer, index) keys ordered by (|w|, layer, index): the same strict total
  // order as MagnitudeMask on the layers laid end to end.
  struct Key {
    uint32_t layer, index;
  };
  std::vector<Key> order;
  order.reserve(total);
  for (size_t layer = 0; layer < weights.size(); ++layer) {
    for (size_t i = 0; i < weights[layer].size(); ++i) {
      order.push_back({static_cast<uint32_t>(layer), static_cast<uint32_t>(i)});
    }
  }
  const auto smaller = [&weights](const Key& a, const Key& b) {
    const float wa = std::fabs(weights[a.layer][a.index]);
    const float wb = std::fabs(weights[b.layer][b.index]);
    const bool nan_a = std::isnan(wa), nan_b = std::isnan(wb);
    if (nan_a != nan_b) return nan_b;  // NaN orders last: it is kept.
    if (!nan_a && wa != wb) return wa < wb;
    if (a.layer != b.layer) return a.layer < b.layer;
    return a.index < b.index;
  };
  std::nth_element(order.begin(), order.begin() + (pruned - 1), order.end(), smaller);
  for (int64_t i = 0; i < pruned; ++i) masks[order[i].layer][order[i].index] = 0;
  return absl::OkStatus();
}

}  // namespace edgecompress::pruning
