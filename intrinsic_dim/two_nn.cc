#include "intrinsic_dim/two_nn.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
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
namespace {

using RowMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Tile edge: a 256 x 256 float tile (256 KB) stays in L2, and 256-row panels
// are large enough for Eigen's GEMM to run near its peak.
constexpr int64_t kTile = 256;

// Candidates kept per point from the float Gram distances. More than the two
// we need, so that float rounding in the Gram trick rarely drops a true
// nearest neighbour (the exact recomputation then picks the right two).
constexpr int kCandidates = 4;

// The kCandidates smallest squared distances offered so far, ascending.
class Candidates {
 public:
  void Offer(float squared_distance, int64_t index) {
    if (size_ == kCandidates && !(squared_distance < squared_distance_[size_ - 1])) return;
    int position = size_ == kCandidates ? size_ - 1 : size_++;
    while (position > 0 && squared_distance < squared_distance_[position - 1]) {
      squared_distance_[position] = squared_distance_[position - 1];
      index_[position] = index_[position - 1];
      --position;
    }
    squared_distance_[position] = squared_distance;
    index_[position] = index;
  }
  int size() const { return size_; }
  int64_t index(int i) const { return index_[i]; }

 private:
  std::array<float, kCandidates> squared_distance_{};
  std::array<int64_t, kCandidates> index_{};
  int size_ = 0;
};

absl::Status CheckOptions(const TwoNNOptions& options) {
  if (!(options.discard_fraction >= 0.0 && options.discard_fraction < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("discard_fraction is ", options.discard_fraction, "; must be in [0, 1)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NeighborDistances> TwoNearestNeighborDistances(absl::Span<const float> points,
                                                              int64_t num_points,
                                                              int64_t dimension) {
  RETURN_IF_ERROR(CheckPointCloud(points, num_points, dimension, 3, "TwoNN"));

  const Eigen::Map<const RowMatrixXf> input(points.data(), num_points, dimension);
  // Centring: |x|^2 + |y|^2 - 2 x.y cancels catastrophically when the points
  // sit far from the origin relative to their spread.
  Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(dimension);
  for (int64_t i = 0; i < num_points; ++i) mean += input.row(i).cast<double>();
  mean /= static_cast<double>(num_points);
  const RowMatrixXf centred = input.rowwise() - mean.cast<float>();
  const Eigen::VectorXf squared_norms = centred.rowwise().squaredNorm();

  std::vector<Candidates> candidates(num_points);
  Eigen::MatrixXf tile(kTile, kTile);
  for (int64_t row_begin = 0; row_begin < num_points; row_begin += kTile) {
    const int64_t rows = std::min(kTile, num_points - row_begin);
    // Upper triangle only: tile (I, J) with J >= I serves both I and J.
    for (int64_t col_begin = row_begin; col_begin < num_points; col_begin += kTile) {
      const int64_t cols = std::min(kTile, num_points - col_begin);
      tile.topLeftCorner(rows, cols).noalias() =
          centred.middleRows(row_begin, rows) * centred.middleRows(col_begin, cols).transpose();
      for (int64_t b = 0; b < cols; ++b) {
        const int64_t j = col_begin + b;
        // On the diagonal tile only pairs i < j; elsewhere every pair.
        const int64_t a_end = col_begin == row_begin ? b : rows;
        for (int64_t a = 0; a < a_end; ++a) {
          const int64_t i = row_begin + a;
          const float squared_distance =
              std::max(squared_norms[i] + squared_norms[j] - 2.0f * tile(a, b), 0.0f);
          candidates[i].Offer(squared_distance, j);
          candidates[j].Offer(squared_distance, i);
        }
      }
    }
  }

  NeighborDistances distances;
  distances.first.resize(num_points);
  distances.second.resize(num_points);
  for (int64_t i = 0; i < num_points; ++i) {
    // Exact distances in double from the caller's coordinates: a duplicate
    // gives exactly 0, which the float Gram value need not.
    double best = std::numeric_limits<double>::infinity();
    double second_best = best;
    for (int c = 0; c < candidates[i].size(); ++c) {
      const double distance =
          (input.row(i).cast<double>() - input.row(candidates[i].index(c)).cast<double>()).norm();
      if (distance < best) {
        second_best = best;
        best = distance;
      } else if (distance < second_best) {
        second_best = distance;
      }
    }
    distances.first[i] = best;
    distances.second[i] = second_best;
  }
  return distances;
}

absl::StatusOr<TwoNNEstimate> EstimateTwoNNFromDistances(absl::Span<const double> first,
                                                         absl::Span<const double> second,
                                                         const TwoNNOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (first.size() != second.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("first has ", first.size(), " distances but second has ", second.size()));
  }
  TwoNNEstimate estimate;
  std::vector<double> log_ratios;
  log_ratios.reserve(first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    if (!std::isfinite(first[i]) || !std::isfinite(second[i]) || first[i] < 0.0 ||
        second[i] < first[i]) {
      return absl::InvalidArgumentError(absl::StrCat("point ", i, " has r1 = ", first[i], ", r2 = ",
                                                     second[i], "; need finite 0 <= r1 <= r2"));
    }
    if (first[i] == 0.0) {
      ++estimate.num_duplicates;
      continue;
    }
    log_ratios.push_back(std::log(second[i] / first[i]));
  }
  const int64_t n = static_cast<int64_t>(log_ratios.size());
  estimate.num_used = n;
  if (n < 3) {
    return absl::InvalidArgumentError(absl::StrCat("only ", n, " of ", first.size(),
                                                   " points have r1 > 0 (", estimate.num_duplicates,
                                                   " are duplicates); TwoNN needs at least 3"));
  }

  double sum_log = 0.0;
  for (double x : log_ratios) sum_log += x;
  if (sum_log == 0.0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "all ", n, " ratios r2 / r1 are 1 (lattice-like data); the dimension is unbounded"));
  }
  estimate.mle_dimension = static_cast<double>(n - 1) / sum_log;

  // ln is monotone, so sorting ln(mu) sorts mu.
  std::sort(log_ratios.begin(), log_ratios.end());
  // Never the largest: F = n / n = 1 there and -ln(1 - F) is infinite.
  // The 1e-9 keeps an exact product such as 10 * (1 - 0.3) = 6.9999999999999996
  // from flooring to 6.
  const int64_t kept = std::min(
      static_cast<int64_t>(std::floor(n * (1.0 - options.discard_fraction) + 1e-9)), n - 1);
  estimate.num_fitted = kept;
  if (kept < 1) {
    return absl::InvalidArgumentError(absl::StrCat("discard_fraction ", options.discard_fraction,
                                                   " leaves no ratio of ", n, " for the fit"));
  }
  double sum_xy = 0.0, sum_xx = 0.0;
  for (int64_t i = 0; i < kept; ++i) {
    const double x = log_ratios[i];
    const double y = -std::log1p(-static_cast<double>(i + 1) / n);
    sum_xy += x * y;
    sum_xx += x * x;
  }
  if (sum_xx == 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", kept, " smallest ratios r2 / r1 kept for the fit are all 1 ",
                     "(lattice-like data); the fitted slope is unbounded"));
  }
  estimate.fit_dimension = sum_xy / sum_xx;
  return estimate;
}

absl::StatusOr<TwoNNEstimate> EstimateTwoNN(absl::Span<const float> points, int64_t num_points,
                                            int64_t dimension, const TwoNNOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));  // before the expensive part
  ASSIGN_OR_RETURN(const NeighborDistances distances,
                   TwoNearestNeighborDistances(points, num_points, dimension));
  return EstimateTwoNNFromDistances(distances.first, distances.second, options);
}

}  // namespace intrinsic_dim
}  // namespace edgecompress
