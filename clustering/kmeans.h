// One-dimensional k-means for weight sharing, as in Deep Compression (Han,
// Mao and Dally, "Deep Compression: Compressing Deep Neural Networks with
// Pruning, Trained Quantization and Huffman Coding", ICLR 2016, Sec. 3).
//
// The n weights of a layer are replaced by k shared values (centroids), so a
// weight is stored as a ceil(log2 k)-bit index into a table of k floats.
// KMeans1D minimises the within-cluster sum of squares
//
//   WCSS = sum_j sum_{w in cluster j} (w - c_j)^2
//
// with Lloyd's algorithm:
//   1. Initialisation, one of:
//      - linear (the default): c_j = min + j (max - min) / (k - 1), i.e.
//        numpy.linspace(min, max, k) (c_0 = min when k = 1). The paper
//        compares Forgy, density-based and linear initialisation and finds
//        linear best, because it keeps centroids at the rare large weights
//        that matter most;
//      - k-means++ (Arthur and Vassilvitskii, SODA 2007), as TF-MOT's
//        CentroidInitialization.KMEANS_PLUS_PLUS and scikit-learn do it: the
//        first centroid is a weight drawn uniformly, each next one a weight
//        drawn with probability D(w)^2 / sum D^2 (D: distance to the nearest
//        centroid chosen so far); when every weight already sits on a
//        centroid (fewer distinct values than k) the rest repeat the last
//        one and stay empty. Deterministic by `seed` (std::mt19937_64 bits
//        turned into doubles here, not std::uniform_real_distribution,
//        whose output differs between standard libraries).
//   2. Assign each weight to its nearest centroid.
//   3. Move each centroid to the mean of its weights; repeat 2-3 until no
//      assignment changes or max_iterations updates have run.
// Deep Compression then fine-tunes the centroids with the summed gradients of
// their weights; that is training, not this file.
//
// Conventions:
//   - Ties: a weight equidistant from two centroids goes to the lower index.
//   - Empty clusters keep their centroid (k > n, or k larger than the number
//     of distinct weights, is allowed). scikit-learn instead moves empty
//     clusters to far-away points, so results differ from
//     sklearn.cluster.KMeans(init=linspace) only when a cluster empties.
//   - Convergence is exact: assignments unchanged (no tolerance on centroid
//     movement, unlike scikit-learn's tol = 1e-4).
//   - The caller chooses which weights to cluster; Deep Compression clusters
//     the weights that survive pruning, so pass the non-zero ones.
//
// Guarantees: on return every weight is assigned to its nearest returned
// centroid (ties to the lower index), even when max_iterations stopped the
// loop early; when `converged`, every non-empty centroid is also the mean of
// its weights (to float rounding). Centroids come out non-decreasing and WCSS
// never increases from one iteration to the next (both exact in real
// arithmetic; rounding a mean to float can break either by an ulp, and the
// assignment does not rely on the order). The result is a function of the
// input, the options and, for k-means++, the seed.
//
// Cost: O(n log k + k log k) per iteration (assignment by binary search over
// the sorted centroids), O(n + k) memory. Means are accumulated in double.
//
// The compression ratio of weight sharing (the paper's Eq. 1), for n weights
// of b bits shared among k clusters, is
//
//   r = n b / (n log2(k) + k b)
//
// with log2(k) rounded up to whole bits here (the paper uses powers of two).
// The paper's own example: 16 weights, 4 clusters, 32-bit floats give
// 16 * 32 / (16 * 2 + 4 * 32) = 3.2. Huffman coding of the indices (the
// paper's third stage) is not counted.
#ifndef EDGECOMPRESS_CLUSTERING_KMEANS_H_
#define EDGECOMPRESS_CLUSTERING_KMEANS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace clustering {

// The largest k: indices are stored as uint16_t (16-bit codes).
inline constexpr int32_t kMaxClusters = 65536;

enum class KMeansInit { kLinear, kKMeansPlusPlus };

struct KMeansOptions {
  int32_t num_clusters = 16;     // k in [1, kMaxClusters]; 2^bits for b-bit codes
  int32_t max_iterations = 300;  // centroid updates, >= 0; 0 = initialisation only
  KMeansInit init = KMeansInit::kLinear;
  uint64_t seed = 0;             // k-means++ only
};

struct KMeansResult {
  std::vector<float> centroids;       // num_clusters values, non-decreasing
  std::vector<uint16_t> assignments;  // one per weight: an index into centroids
  int32_t iterations = 0;             // centroid updates run
  bool converged = false;             // the last update changed no assignment
};

// Clusters `weights` (not kept after returning) into options.num_clusters
// shared values. kInvalidArgument if weights is empty, any weight is not
// finite, num_clusters is outside [1, kMaxClusters], or max_iterations < 0.
absl::StatusOr<KMeansResult> KMeans1D(absl::Span<const float> weights,
                                      const KMeansOptions& options);

// Bits to store num_weights indices of ceil(log2 num_clusters) bits plus a
// table of num_clusters centroids of centroid_bits each:
//   num_weights * ceil(log2 num_clusters) + num_clusters * centroid_bits.
// kInvalidArgument if num_weights < 0, num_clusters < 1, centroid_bits < 1,
// or the result overflows int64.
absl::StatusOr<int64_t> CodedSizeBits(int64_t num_weights, int64_t num_clusters,
                                      int32_t centroid_bits = 32);

// Deep Compression's r = n b / (n ceil(log2 k) + k b): the original size at
// weight_bits per weight over CodedSizeBits(n, k, weight_bits). Same errors.
absl::StatusOr<double> CompressionRatio(int64_t num_weights, int64_t num_clusters,
                                        int32_t weight_bits = 32);

}  // namespace clustering
}  // namespace edgecompress

#endif  // EDGECOMPRESS_CLUSTERING_KMEANS_H_
