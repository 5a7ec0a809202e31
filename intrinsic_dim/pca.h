// PCA dimension of a point cloud: how many principal components explain a
// given fraction of the variance (the "nPC" of Chakraborty et al., "Constructing
// energy-efficient mixed-precision neural networks through principal component
// analysis for edge intelligence", Nature Machine Intelligence 2, 2020, which
// uses 99%; the thesis's comparison and our default use 95%).
//
// Algorithm:
//   1. Centre the columns of the row-major [n, d] matrix X (in double).
//   2. The non-zero eigenvalues of the covariance X^T X / (n - 1) are those of
//      the Gram matrix X X^T / (n - 1); take whichever of the two is smaller
//      (d x d or n x n), so n = 2000 points of dimension 4096 cost one
//      2000 x 2000 symmetric eigenproblem, not a 4096 x 4096 one.
//   3. Sort the eigenvalues descending (negative rounding noise clamped to 0)
//      and return the smallest k with sum_{i<k} lambda_i >= fraction * sum lambda.
//
// Conventions: k counts components, so it is in [1, min(n - 1, d)] for data
// with any variance. Points that are all equal have no variance to explain:
// kInvalidArgument, like TwoNN's duplicates (no dimension is defined). The
// comparison is >= on the cumulative sum, as scikit-learn's
// PCA(n_components=0.95) chooses (np.searchsorted(ratio_cumsum, 0.95,
// side="right") + 1 differs only when a prefix sum equals the target exactly).
//
// For a convolution's activations [batch, channels, height, width] the points
// are the batch * height * width channel vectors (ChannelVectors below), as
// Chakraborty et al. do it: the dimension of the feature space per pixel.
//
// Cost: O(n d min(n, d)) for the product and O(min(n, d)^3) for the
// eigenproblem, in double; O(n d + min(n, d)^2) memory. Nothing keeps pointers
// to the caller's spans.
#ifndef EDGECOMPRESS_INTRINSIC_DIM_PCA_H_
#define EDGECOMPRESS_INTRINSIC_DIM_PCA_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace intrinsic_dim {

struct PcaDimension {
  int64_t num_components = 0;            // the dimension: smallest k reaching the fraction
  std::vector<double> explained_ratio;   // lambda_i / sum lambda, descending, min(n, d) values
};

// kInvalidArgument when num_points < 2, dimension < 1, the span size is not
// num_points * dimension, a coordinate is not finite, `fraction` is not in
// (0, 1], or all points are equal.
absl::StatusOr<PcaDimension> EstimatePcaDimension(absl::Span<const float> points,
                                                  int64_t num_points, int64_t dimension,
                                                  double fraction = 0.95);

// The row-major [batch * height * width, channels] channel vectors of an NCHW
// activation (row b * height * width + y * width + x holds pixel (y, x) of
// sample b). kInvalidArgument when a size is < 1 or the span size differs
// from their product.
absl::StatusOr<std::vector<float>> ChannelVectors(absl::Span<const float> nchw, int64_t batch,
                                                  int64_t channels, int64_t height,
                                                  int64_t width);

}  // namespace intrinsic_dim
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INTRINSIC_DIM_PCA_H_
