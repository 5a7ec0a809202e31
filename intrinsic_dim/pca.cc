#include "intrinsic_dim/pca.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "Eigen/Dense"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "intrinsic_dim/point_cloud.h"
#include "tools/status/status_macros.h"

namespace edgecompress {
namespace intrinsic_dim {

absl::StatusOr<PcaDimension> EstimatePcaDimension(absl::Span<const float> points,
                                                  int64_t num_points, int64_t dimension,
                                                  double fraction) {
  RETURN_IF_ERROR(CheckPointCloud(points, num_points, dimension, 2, "PCA"));
  if (!(fraction > 0.0 && fraction <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("variance fraction is ", fraction, "; must be in (0, 1]"));
  }
  using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  RowMatrixXd x = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic,
                                                 Eigen::RowMajor>>(points.data(), num_points,
                                                                   dimension)
                      .cast<double>();
  x.rowwise() -= x.colwise().mean();
  // The smaller of the two Gram matrices shares the non-zero spectrum.
  const Eigen::MatrixXd gram = num_points <= dimension
                                   ? Eigen::MatrixXd(x * x.transpose())
                                   : Eigen::MatrixXd(x.transpose() * x);
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(gram, Eigen::EigenvaluesOnly);
  if (solver.info() != Eigen::Success) {
    return absl::InternalError("the eigenvalue solver did not converge");
  }
  std::vector<double> eigenvalues(solver.eigenvalues().data(),
                                  solver.eigenvalues().data() + solver.eigenvalues().size());
  for (double& value : eigenvalues) value = std::max(value, 0.0);  // rounding noise below 0
  std::sort(eigenvalues.begin(), eigenvalues.end(), std::greater<double>());
  double total = 0.0;
  for (double value : eigenvalues) total += value;
  if (!(total > 0.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("all ", num_points, " points are equal: no variance to explain"));
  }

  PcaDimension result;
  result.explained_ratio.reserve(eigenvalues.size());
  for (double value : eigenvalues) result.explained_ratio.push_back(value / total);
  // Compare sums of eigenvalues, not of ratios, summed in the same order as
  // `total`: fraction = 1 is then reached exactly at the last non-zero
  // component, and the loop always ends with a count.
  const double target = fraction * total;
  double cumulative = 0.0;
  while (cumulative < target) cumulative += eigenvalues[result.num_components++];
  return result;
}

absl::StatusOr<std::vector<float>> ChannelVectors(absl::Span<const float> nchw, int64_t batch,
                                                  int64_t channels, int64_t height,
                                                  int64_t width) {
  if (batch < 1 || channels < 1 || height < 1 || width < 1) {
    return absl::InvalidArgumentError(absl::StrCat("activation shape [", batch, ", ", channels,
                                                   ", ", height, ", ", width,
                                                   "] has a size below 1"));
  }
  const int64_t pixels = height * width;
  if (nchw.size() != static_cast<size_t>(batch * channels * pixels)) {
    return absl::InvalidArgumentError(absl::StrCat("activation has ", nchw.size(),
                                                   " values; shape [", batch, ", ", channels,
                                                   ", ", height, ", ", width, "] needs ",
                                                   batch * channels * pixels));
  }
  std::vector<float> rows(nchw.size());
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t c = 0; c < channels; ++c) {
      const float* plane = nchw.data() + (b * channels + c) * pixels;
      float* out = rows.data() + b * pixels * channels + c;
      for (int64_t p = 0; p < pixels; ++p) out[p * channels] = plane[p];
    }
  }
  return rows;
}

}  // namespace intrinsic_dim
}  // namespace edgecompress
