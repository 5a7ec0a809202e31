// The three intrinsic-dimension estimates tools/intrinsic_dim reports for one
// point cloud or one layer's activations, as scikit-dimension's TwoNN and
// lPCA would give them in Python:
//   - twonn_ml, twonn_fit: TwoNN (intrinsic_dim/two_nn.h) on one point per
//     sample, the sample's whole activation flattened (C * H * W for a conv
//     map, as the thesis does it: every pixel of every filter characterises
//     the representation of an image);
//   - pca: components for `pca_fraction` of the variance
//     (intrinsic_dim/pca.h), on channel vectors (one point per pixel, of
//     dimension C) for a [N, C, H, W] activation, as Chakraborty et al. do
//     it, and on the samples themselves otherwise.
// Duplicate samples make TwoNN's r1 = 0: they are an error naming the first
// duplicated sample unless `skip_duplicates`, when they are left out of
// TwoNN (counted in `duplicates`) as DADApy does.
#ifndef EDGECOMPRESS_TOOLS_INTRINSIC_DIM_DIMENSION_ESTIMATES_H_
#define EDGECOMPRESS_TOOLS_INTRINSIC_DIM_DIMENSION_ESTIMATES_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace edgecompress::intrinsic_dim_tool {

struct EstimateOptions {
  double pca_fraction = 0.95;
  bool skip_duplicates = false;
};

struct DimensionEstimates {
  int64_t n_points = 0;        // samples (shape[0])
  int64_t dimension = 0;       // values per sample
  double twonn_ml = 0.0, twonn_fit = 0.0;
  int64_t pca = 0;             // components for pca_fraction of the variance
  int64_t pca_points = 0;      // points PCA saw (n_points * H * W for conv maps)
  int64_t duplicates = 0;      // samples TwoNN skipped (skip_duplicates only)
};

// `values` is row-major with `shape` (rank 2: [N, D]; rank 4: [N, C, H, W];
// other ranks are [N, rest flattened]). kInvalidArgument for a rank below 2,
// sizes that disagree, fewer than 3 samples, non-finite values (naming the
// sample) or duplicates (unless skipped).
absl::StatusOr<DimensionEstimates> EstimateDimensions(absl::Span<const float> values,
                                                      absl::Span<const size_t> shape,
                                                      const EstimateOptions& options = {});

}  // namespace edgecompress::intrinsic_dim_tool

#endif  // EDGECOMPRESS_TOOLS_INTRINSIC_DIM_DIMENSION_ESTIMATES_H_
