#include "tools/intrinsic_dim/dimension_estimates.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/types/span.h"
#include "intrinsic_dim/pca.h"
#include "intrinsic_dim/two_nn.h"
#include "tools/status/status_macros.h"

namespace edgecompress::intrinsic_dim_tool {

absl::StatusOr<DimensionEstimates> EstimateDimensions(absl::Span<const float> values,
                                                      absl::Span<const size_t> shape,
                                                      const EstimateOptions& options) {
  if (shape.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat("shape [", absl::StrJoin(shape, ", "),
                                                   "] has rank ", shape.size(),
                                                   "; expected [points, dimension...]"));
  }
  size_t per_sample = 1;
  for (size_t i = 1; i < shape.size(); ++i) per_sample *= shape[i];
  if (per_sample == 0 || values.size() != shape[0] * per_sample) {
    return absl::InvalidArgumentError(absl::StrCat(values.size(), " values do not fill shape [",
                                                   absl::StrJoin(shape, ", "), "]"));
  }
  DimensionEstimates estimates;
  estimates.n_points = static_cast<int64_t>(shape[0]);
  estimates.dimension = static_cast<int64_t>(per_sample);

  ASSIGN_OR_RETURN(intrinsic_dim::NeighborDistances distances,
                   intrinsic_dim::TwoNearestNeighborDistances(values, estimates.n_points,
                                                              estimates.dimension));
  for (size_t i = 0; i < distances.first.size(); ++i) {
    if (distances.first[i] > 0.0) continue;
    ++estimates.duplicates;
    if (!options.skip_duplicates) {
      return absl::InvalidArgumentError(absl::StrCat(
          "point ", i, " has a duplicate (distance 0 to another point); TwoNN's ratio r2/r1 is "
          "undefined there: remove duplicates or skip them"));
    }
  }
  ASSIGN_OR_RETURN(intrinsic_dim::TwoNNEstimate two_nn,
                   intrinsic_dim::EstimateTwoNNFromDistances(distances.first, distances.second));
  estimates.twonn_ml = two_nn.mle_dimension;
  estimates.twonn_fit = two_nn.fit_dimension;

  intrinsic_dim::PcaDimension pca;
  if (shape.size() == 4 && shape[2] * shape[3] > 1) {
    const int64_t n = estimates.n_points, c = static_cast<int64_t>(shape[1]);
    const int64_t h = static_cast<int64_t>(shape[2]), w = static_cast<int64_t>(shape[3]);
    ASSIGN_OR_RETURN(std::vector<float> rows, intrinsic_dim::ChannelVectors(values, n, c, h, w));
    ASSIGN_OR_RETURN(pca, intrinsic_dim::EstimatePcaDimension(rows, n * h * w, c,
                                                              options.pca_fraction));
    estimates.pca_points = n * h * w;
  } else {
    ASSIGN_OR_RETURN(pca, intrinsic_dim::EstimatePcaDimension(
                              values, estimates.n_points, estimates.dimension,
                              options.pca_fraction));
    estimates.pca_points = estimates.n_points;
  }
  estimates.pca = pca.num_components;
  return estimates;
}

}  // namespace edgecompress::intrinsic_dim_tool
