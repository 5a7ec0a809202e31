#include "clustering/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace clustering {
namespace {

// Nearest-centroid lookup by binary search. Lloyd's updates keep 1-D centroids
// sorted in exact arithmetic (each new centroid lies inside its own Voronoi
// interval), but float rounding of the means could swap two near-equal ones,
// so rather than rely on that we sort (value, index) pairs every iteration:
// O(k log k), small next to the O(n log k) assignment.
class NearestCentroid {
 public:
  explicit NearestCentroid(const std::vector<float>& centroids) {
    const size_t k = centroids.size();
    order_.resize(k);
    std::iota(order_.begin(), order_.end(), 0);
    // Stable on equal values: within a run of equal centroids the lowest
    // index comes first, which is the one ties go to.
    std::stable_sort(order_.begin(), order_.end(),
                     [&](uint32_t a, uint32_t b) { return centroids[a] < centroids[b]; });
    sorted_.resize(k);
    run_start_.resize(k);
    for (size_t i = 0; i < k; ++i) {
      sorted_[i] = centroids[order_[i]];
      run_start_[i] = (i > 0 && sorted_[i] == sorted_[i - 1]) ? run_start_[i - 1] : i;
    }
  }

  // The index of the centroid nearest to w; the lower index on ties.
  uint16_t operator()(float w) const {
    // First centroid >= w; it starts its run of equal values, so its index is
    // the lowest of them. The nearest centroid below w starts run_start_.
    const size_t above = std::lower_bound(sorted_.begin(), sorted_.end(), w) - sorted_.begin();
    if (above == 0) return static_cast<uint16_t>(order_[0]);
    const size_t below = run_start_[above - 1];
    if (above == sorted_.size()) return static_cast<uint16_t>(order_[below]);
    // A difference of two floats is exact in double for weights of similar
    // magnitude, so equal distances compare equal.
    const double to_below = static_cast<double>(w) - sorted_[below];
    const double to_above = static_cast<double>(sorted_[above]) - w;
    if (to_below < to_above) return static_cast<uint16_t>(order_[below]);
    if (to_above < to_below) return static_cast<uint16_t>(order_[above]);
    return static_cast<uint16_t>(std::min(order_[below], order_[above]));
  }

 private:
  std::vector<uint32_t> order_;    // centroid indices by (value, index)
  std::vector<float> sorted_;      // centroid values in that order
  std::vector<size_t> run_start_;  // first position of each run of equal values
};

// Reassigns every weight; returns how many assignments changed.
int64_t Assign(absl::Span<const float> weights, const std::vector<float>& centroids,
               std::vector<uint16_t>& assignments) {
  const NearestCentroid nearest(centroids);
  int64_t changed = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const uint16_t index = nearest(weights[i]);
    changed += (index != assignments[i]);
    assignments[i] = index;
  }
  return changed;
}

// Arthur and Vassilvitskii's D^2 seeding (see the header).
std::vector<float> KMeansPlusPlusCentroids(absl::Span<const float> weights, int32_t k,
                                           uint64_t seed) {
  std::mt19937_64 bits(seed);
  // A double in [0, 1) from the top 53 bits, the same on every platform.
  auto uniform = [&bits] { return static_cast<double>(bits() >> 11) * 0x1.0p-53; };
  const size_t n = weights.size();
  std::vector<float> centroids;
  centroids.reserve(k);
  centroids.push_back(weights[std::min(n - 1, static_cast<size_t>(uniform() * n))]);
  std::vector<double> squared(n);
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(weights[i]) - centroids[0];
    squared[i] = d * d;
    total += squared[i];
  }
  while (static_cast<int32_t>(centroids.size()) < k) {
    if (!(total > 0.0)) {  // every weight is on a centroid: the rest stay empty
      centroids.push_back(centroids.back());
      continue;
    }
    // The first weight whose cumulative D^2 passes the draw; never one with
    // D = 0, since those add nothing to the sum.
    const double target = uniform() * total;
    size_t chosen = n;
    double cumulative = 0.0;
    for (size_t i = 0; i < n; ++i) {
      if (squared[i] == 0.0) continue;
      chosen = i;
      cumulative += squared[i];
      if (cumulative > target) break;
    }
    centroids.push_back(weights[chosen]);
    total = 0.0;
    for (size_t i = 0; i < n; ++i) {
      const double d = static_cast<double>(weights[i]) - centroids.back();
      squared[i] = std::min(squared[i], d * d);
      total += squared[i];
    }
  }
  return centroids;
}

// The number of bits in an index into k values: ceil(log2 k), 0 for k = 1.
int64_t IndexBits(int64_t num_clusters) {
  int64_t bits = 0;
  while (bits < 63 && (int64_t{1} << bits) < num_clusters) ++bits;
  return bits;
}

}  // namespace

absl::StatusOr<KMeansResult> KMeans1D(absl::Span<const float> weights,
                                      const KMeansOptions& options) {
  if (weights.empty()) return absl::InvalidArgumentError("weights is empty");
  if (options.num_clusters < 1 || options.num_clusters > kMaxClusters) {
    return absl::InvalidArgumentError(absl::StrCat("num_clusters is ", options.num_clusters,
                                                   "; must be in [1, ", kMaxClusters, "]"));
  }
  if (options.max_iterations < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_iterations is ", options.max_iterations, "; must be >= 0"));
  }
  float min = weights[0], max = weights[0];
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!std::isfinite(weights[i])) {
      return absl::InvalidArgumentError(absl::StrCat("weights[", i, "] is ", weights[i]));
    }
    min = std::min(min, weights[i]);
    max = std::max(max, weights[i]);
  }

  const int32_t k = options.num_clusters;
  KMeansResult result;
  if (options.init == KMeansInit::kKMeansPlusPlus) {
    result.centroids = KMeansPlusPlusCentroids(weights, k, options.seed);
    // Sorted like the linear start, so centroids come out non-decreasing.
    std::sort(result.centroids.begin(), result.centroids.end());
  } else {
    result.centroids.resize(k);
    // numpy.linspace(min, max, k), computed in double; the last is max exactly.
    for (int32_t j = 0; j < k; ++j) {
      result.centroids[j] =
          k == 1 ? min : static_cast<float>(min + (static_cast<double>(max) - min) * j / (k - 1));
    }
    if (k > 1) result.centroids[k - 1] = max;
  }

  result.assignments.assign(weights.size(), 0);
  Assign(weights, result.centroids, result.assignments);

  std::vector<double> sums(k);
  std::vector<int64_t> counts(k);
  while (result.iterations < options.max_iterations) {
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (size_t i = 0; i < weights.size(); ++i) {
      sums[result.assignments[i]] += weights[i];
      ++counts[result.assignments[i]];
    }
    for (int32_t j = 0; j < k; ++j) {
      // Empty clusters keep their centroid (see the header).
      if (counts[j] > 0) result.centroids[j] = static_cast<float>(sums[j] / counts[j]);
    }
    ++result.iterations;
    if (Assign(weights, result.centroids, result.assignments) == 0) {
      result.converged = true;
      break;
    }
  }
  return result;
}

absl::StatusOr<int64_t> CodedSizeBits(int64_t num_weights, int64_t num_clusters,
                                      int32_t centroid_bits) {
  if (num_weights < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_weights is ", num_weights, "; must be >= 0"));
  }
  if (num_clusters < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("num_clusters is ", num_clusters, "; must be >= 1"));
  }
  if (centroid_bits < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("centroid_bits is ", centroid_bits, "; must be >= 1"));
  }
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t index_bits = IndexBits(num_clusters);
  if (num_clusters > kMax / centroid_bits ||
      (index_bits > 0 && num_weights > (kMax - num_clusters * centroid_bits) / index_bits)) {
    return absl::InvalidArgumentError(absl::StrCat("coded size of ", num_weights, " weights in ",
                                                   num_clusters, " clusters of ", centroid_bits,
                                                   " bits overflows int64"));
  }
  return num_weights * index_bits + num_clusters * centroid_bits;
}

absl::StatusOr<double> CompressionRatio(int64_t num_weights, int64_t num_clusters,
                                        int32_t weight_bits) {
  if (weight_bits < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("weight_bits is ", weight_bits, "; must be >= 1"));
  }
  ASSIGN_OR_RETURN(const int64_t coded_bits, CodedSizeBits(num_weights, num_clusters, weight_bits));
  // coded_bits >= weight_bits >= 1, so the division is defined.
  return static_cast<double>(num_weights) * weight_bits / static_cast<double>(coded_bits);
}

}  // namespace clustering
}  // namespace edgecompress
