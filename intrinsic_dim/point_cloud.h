// The input check every estimator here shares: a row-major
// [num_points, dimension] matrix of finite floats.
#ifndef EDGECOMPRESS_INTRINSIC_DIM_POINT_CLOUD_H_
#define EDGECOMPRESS_INTRINSIC_DIM_POINT_CLOUD_H_

#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress {
namespace intrinsic_dim {

// kInvalidArgument naming the first problem: fewer than `min_points` points
// (`method` says who needs them), dimension < 1, a size that is not
// num_points * dimension, or a coordinate that is not finite.
inline absl::Status CheckPointCloud(absl::Span<const float> points, int64_t num_points,
                                    int64_t dimension, int64_t min_points,
                                    absl::string_view method) {
  if (num_points < min_points) {
    return absl::InvalidArgumentError(absl::StrCat("num_points is ", num_points, "; ", method,
                                                   " needs at least ", min_points));
  }
  if (dimension < 1) {
    return absl::InvalidArgumentError(absl::StrCat("dimension is ", dimension, "; must be >= 1"));
  }
  if (num_points > std::numeric_limits<int64_t>::max() / dimension ||
      points.size() != static_cast<size_t>(num_points * dimension)) {
    return absl::InvalidArgumentError(absl::StrCat("points has ", points.size(),
                                                   " values; expected num_points ", num_points,
                                                   " x dimension ", dimension));
  }
  for (size_t i = 0; i < points.size(); ++i) {
    if (!std::isfinite(points[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("points[", i / dimension, "][", i % dimension, "] is ", points[i]));
    }
  }
  return absl::OkStatus();
}

}  // namespace intrinsic_dim
}  // namespace edgecompress

#endif  // EDGECOMPRESS_INTRINSIC_DIM_POINT_CLOUD_H_
