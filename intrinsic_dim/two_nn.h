// TwoNN intrinsic dimension (Facco, d'Errico, Rodriguez and Laio, "Estimating
// the intrinsic dimension of datasets by a minimal neighborhood information",
// Scientific Reports 7, 12140, 2017).
//
// If points are locally uniform on a d-dimensional manifold, the ratio of each
// point's second- to first-nearest-neighbour distance, mu = r2 / r1, follows
// the Pareto law f(mu) = d mu^(-d-1) on [1, inf), whatever the density; so
// F(mu) = 1 - mu^(-d) and -ln(1 - F(mu)) = d ln(mu). Two estimators of d:
//   - Fit (Facco's recipe): sort the n ratios, take the empirical
//     F(mu_(i)) = i / n, discard the largest discard_fraction (10%) of the
//     ratios, whose tail is noisy (and F = 1 there gives -ln 0), and fit a line
//     through the origin by least squares:
//       d_fit = sum_i x_i y_i / sum_i x_i^2,  x_i = ln mu_(i), y_i = -ln(1 - i / n).
//     As DADApy's compute_id_2NN (algorithm "base").
//   - Maximum likelihood: sum_i ln mu_i ~ Gamma(n, d), so
//       d_mle = (n - 1) / sum_i ln mu_i
//     is unbiased (n / sum, the plain MLE, is biased up by n / (n - 1)). As
//     DADApy's algorithm "ml".
//
// Nearest neighbours are exact (brute force), computed with matrix products:
//   1. Centre the points (distances do not change; the Gram trick below
//      loses far less precision near the origin).
//   2. In tiles of 256 x 256 points over the upper triangle, squared distances
//      |x|^2 + |y|^2 - 2 x.y from a float GEMM (Eigen), clamped at 0, and keep
//      each point's 4 nearest candidates.
//   3. Recompute the candidates' distances exactly in double from the input
//      coordinates and keep the two smallest as r1 <= r2.
// Step 3 makes duplicates come out as exactly r1 = 0 and removes the Gram
// rounding from r1 and r2; the selection in step 2 is still float, so a
// neighbour whose squared distance ties with the 5th candidate's to float
// precision (relative ~1e-7 of |x|^2) can be missed.
//
// Duplicates: a point with r1 == 0 has no finite mu; it is skipped and counted
// in num_duplicates. Its copies still count as neighbours of other points,
// where they can give r1 == r2 (mu = 1) and bias d down; deduplicate the
// points first if that matters.
//
// Cost: about N^2 D / 2 float multiply-adds (the upper half of the N x N Gram
// matrix; 8.4e9 for N = 2000, D = 4096) plus
// O(N^2) for candidate selection and O(N D) exact recomputation; memory
// O(N D) for the centred copy plus a 256 x 256 tile. Single-threaded (Eigen
// without OpenMP). Nothing keeps pointers to the caller's spans.
#ifndef EDGECOMPRESS_INTRINSIC_DIM_TWO_NN_H_
#define EDGECOMPRESS_INTRINSIC_DIM_TWO_NN_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace intrinsic_dim {

struct TwoNNOptions {
  // Fraction of the largest ratios left out of the fit, in [0, 1). The fit
  // keeps floor(n (1 - discard_fraction)) ratios, never the largest one.
  double discard_fraction = 0.1;
};

struct TwoNNEstimate {
  double fit_dimension = 0.0;  // Facco's least-squares slope
  double mle_dimension = 0.0;  // (n - 1) / sum ln mu
  int64_t num_used = 0;        // n: points with r1 > 0
  int64_t num_duplicates = 0;  // points skipped because r1 == 0
  int64_t num_fitted = 0;      // ratios in the fit
};

// Per point, the distances to its nearest and second-nearest other point.
struct NeighborDistances {
  std::vector<double> first;   // r1
  std::vector<double> second;  // r2 >= r1
};

// Exact two nearest neighbours of each row of the row-major
// [num_points, dimension] matrix `points`. kInvalidArgument if num_points < 3,
// dimension < 1, points.size() != num_points * dimension, or a coordinate is
// not finite.
absl::StatusOr<NeighborDistances> TwoNearestNeighborDistances(absl::Span<const float> points,
                                                              int64_t num_points,
                                                              int64_t dimension);

// Both estimates from per-point r1 and r2. kInvalidArgument if the spans
// differ in size, some r1 or r2 is negative, not finite, or r2 < r1, fewer
// than 3 points have r1 > 0, every ratio is 1 (lattice-like data: d would be
// infinite), the fit keeps no ratio or only ratios of 1, or discard_fraction
// is outside [0, 1).
absl::StatusOr<TwoNNEstimate> EstimateTwoNNFromDistances(absl::Span<const double> first,
                                                         absl::Span<const double> second,
                                                         const TwoNNOptions& options = {});

// TwoNearestNeighborDistances, then EstimateTwoNNFromDistances.
absl::StatusOr<TwoNNEstimate> EstimateTwoNN(absl::Span<const float> points, int64_t num_points,
                                            int64_t dimension, const TwoNNOptions& options = {});

}  // namespace intrinsic_dim
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INTRINSIC_DIM_TWO_NN_H_
