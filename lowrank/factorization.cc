#include "lowrank/factorization.h"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>
#include <Eigen/QR>
#include <Eigen/SVD>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "tools/status/status_macros.h"

namespace edgecompress::lowrank {
namespace {

using RowMajorMatrixXf = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

absl::Status CheckShape(size_t size, int rows, int cols) {
  if (rows <= 0 || cols <= 0 || size != static_cast<size_t>(rows) * cols) {
    return absl::InvalidArgumentError(absl::StrCat("a weight of ", size,
                                                   " values is not a ", rows, " x ", cols,
                                                   " matrix"));
  }
  return absl::OkStatus();
}

absl::Status CheckRank(int rank, int rows, int cols) {
  if (rank < 1 || rank > std::min(rows, cols)) {
    return absl::InvalidArgumentError(absl::StrCat("rank ", rank, " is outside 1..",
                                                   std::min(rows, cols), " for a ", rows, " x ",
                                                   cols, " matrix"));
  }
  return absl::OkStatus();
}

// Double precision: the small singular values that decide an energy rank
// lose their digits in float.
Eigen::BDCSVD<Eigen::MatrixXd> Svd(absl::Span<const float> weight, int rows, int cols,
                                   bool vectors) {
  const Eigen::MatrixXd w =
      Eigen::Map<const RowMajorMatrixXf>(weight.data(), rows, cols).cast<double>();
  return Eigen::BDCSVD<Eigen::MatrixXd>(
      w, vectors ? (Eigen::ComputeThinU | Eigen::ComputeThinV) : 0);
}

}  // namespace

absl::StatusOr<RankRule> ParseRankRule(absl::string_view text) {
  RankRule rule;
  absl::string_view value = text;
  rule.spatial = absl::ConsumePrefix(&value, "spatial:");
  if (absl::ConsumePrefix(&value, "rank=")) {
    rule.kind = RankRule::Kind::kRank;
  } else if (absl::ConsumePrefix(&value, "energy=")) {
    rule.kind = RankRule::Kind::kEnergy;
  } else if (absl::ConsumeSuffix(&value, "x")) {
    rule.kind = RankRule::Kind::kCompression;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "rank rule '", text, "' is none of rank=<r>, <factor>x, energy=<fraction>"));
  }
  if (!absl::SimpleAtod(value, &rule.value) || !std::isfinite(rule.value)) {
    return absl::InvalidArgumentError(absl::StrCat("rank rule '", text, "': '", value,
                                                   "' is not a number"));
  }
  if (rule.kind == RankRule::Kind::kRank && rule.value != std::floor(rule.value)) {
    return absl::InvalidArgumentError(absl::StrCat("rank rule '", text, "': not an integer"));
  }
  return rule;
}

std::string RankRuleToString(const RankRule& rule) {
  const absl::string_view split = rule.spatial ? "spatial:" : "";
  switch (rule.kind) {
    case RankRule::Kind::kRank:
      return absl::StrCat(split, "rank=", static_cast<int>(rule.value));
    case RankRule::Kind::kCompression:
      return absl::StrCat(split, rule.value, "x");
    case RankRule::Kind::kEnergy:
      return absl::StrCat(split, "energy=", rule.value);
  }
  return "";
}

std::vector<float> SpatialMatrix(absl::Span<const float> kernel, int out_channels,
                                 int in_channels, int kernel_h, int kernel_w) {
  const int cols = out_channels * kernel_w;
  std::vector<float> matrix(kernel.size());
  for (int o = 0; o < out_channels; ++o) {
    for (int c = 0; c < in_channels; ++c) {
      for (int y = 0; y < kernel_h; ++y) {
        for (int x = 0; x < kernel_w; ++x) {
          matrix[static_cast<size_t>(c * kernel_h + y) * cols + o * kernel_w + x] =
              kernel[((static_cast<size_t>(o) * in_channels + c) * kernel_h + y) * kernel_w + x];
        }
      }
    }
  }
  return matrix;
}

std::vector<float> KernelFromSpatialMatrix(absl::Span<const float> matrix, int out_channels,
                                           int in_channels, int kernel_h, int kernel_w) {
  const int cols = out_channels * kernel_w;
  std::vector<float> kernel(matrix.size());
  for (int o = 0; o < out_channels; ++o) {
    for (int c = 0; c < in_channels; ++c) {
      for (int y = 0; y < kernel_h; ++y) {
        for (int x = 0; x < kernel_w; ++x) {
          kernel[((static_cast<size_t>(o) * in_channels + c) * kernel_h + y) * kernel_w + x] =
              matrix[static_cast<size_t>(c * kernel_h + y) * cols + o * kernel_w + x];
        }
      }
    }
  }
  return kernel;
}

absl::StatusOr<std::vector<double>> SingularValues(absl::Span<const float> weight, int rows,
                                                   int cols) {
  RETURN_IF_ERROR(CheckShape(weight.size(), rows, cols));
  const Eigen::VectorXd s = Svd(weight, rows, cols, /*vectors=*/false).singularValues();
  return std::vector<double>(s.data(), s.data() + s.size());
}

absl::StatusOr<int> ChooseRank(const RankRule& rule, absl::Span<const double> singular_values,
                               int rows, int cols) {
  const int max_rank = std::min(rows, cols);
  switch (rule.kind) {
    case RankRule::Kind::kRank: {
      const int rank = static_cast<int>(rule.value);
      RETURN_IF_ERROR(CheckRank(rank, rows, cols));
      return rank;
    }
    case RankRule::Kind::kCompression: {
      if (!(rule.value > 1.0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("compression factor ", rule.value, " is not above 1"));
      }
      const double budget = static_cast<double>(rows) * cols / rule.value;
      const int rank = static_cast<int>(std::floor(budget / (rows + cols)));
      return std::clamp(rank, 1, max_rank);
    }
    case RankRule::Kind::kEnergy: {
      if (!(rule.value > 0.0 && rule.value <= 1.0)) {
        return absl::InvalidArgumentError(
            absl::StrCat("energy ", rule.value, " is outside (0, 1]"));
      }
      if (singular_values.size() != static_cast<size_t>(max_rank)) {
        return absl::InvalidArgumentError(absl::StrCat(singular_values.size(),
                                                       " singular values for a ", rows, " x ",
                                                       cols, " matrix"));
      }
      double total = 0.0;
      for (double s : singular_values) total += s * s;
      double kept = 0.0;
      for (int r = 1; r <= max_rank; ++r) {
        kept += singular_values[r - 1] * singular_values[r - 1];
        // A relative slack: sum of squares in a different order must not
        // push an exact 100% one rank too far.
        if (kept >= rule.value * total * (1.0 - 1e-12)) return r;
      }
      return max_rank;
    }
  }
  return absl::InvalidArgumentError("unknown rank rule");
}

absl::StatusOr<LowRankFactors> Factorize(absl::Span<const float> weight, int rows, int cols,
                                         int rank) {
  RETURN_IF_ERROR(CheckShape(weight.size(), rows, cols));
  RETURN_IF_ERROR(CheckRank(rank, rows, cols));
  const Eigen::BDCSVD<Eigen::MatrixXd> svd = Svd(weight, rows, cols, /*vectors=*/true);
  // Split sqrt(S) between the factors so both have the same scale, which
  // keeps fine-tuning them with one learning rate well conditioned.
  const Eigen::VectorXd root = svd.singularValues().head(rank).cwiseSqrt();
  LowRankFactors factors;
  factors.rows = rows;
  factors.cols = cols;
  factors.rank = rank;
  factors.left.resize(static_cast<size_t>(rows) * rank);
  factors.right.resize(static_cast<size_t>(rank) * cols);
  Eigen::Map<RowMajorMatrixXf>(factors.left.data(), rows, rank) =
      (svd.matrixU().leftCols(rank) * root.asDiagonal()).cast<float>();
  Eigen::Map<RowMajorMatrixXf>(factors.right.data(), rank, cols) =
      (root.asDiagonal() * svd.matrixV().leftCols(rank).transpose()).cast<float>();
  return factors;
}

namespace {

// The thin Q of a tall matrix's QR: orthonormal columns spanning its columns.
Eigen::MatrixXf Orthonormalize(const Eigen::MatrixXf& m) {
  const Eigen::HouseholderQR<Eigen::MatrixXf> qr(m);
  return qr.householderQ() * Eigen::MatrixXf::Identity(m.rows(), m.cols());
}

}  // namespace

absl::StatusOr<RankProjector> RankProjector::Create(absl::Span<float> weight, int rows, int cols,
                                                    int rank) {
  RETURN_IF_ERROR(CheckShape(weight.size(), rows, cols));
  RETURN_IF_ERROR(CheckRank(rank, rows, cols));
  const Eigen::BDCSVD<Eigen::MatrixXd> svd = Svd(weight, rows, cols, /*vectors=*/true);
  const Eigen::VectorXd s = svd.singularValues().head(rank);
  Eigen::Map<RowMajorMatrixXf>(weight.data(), rows, cols) =
      (svd.matrixU().leftCols(rank) * s.asDiagonal() * svd.matrixV().leftCols(rank).transpose())
          .cast<float>();
  std::vector<float> basis(static_cast<size_t>(cols) * rank);
  Eigen::Map<RowMajorMatrixXf>(basis.data(), cols, rank) =
      svd.matrixV().leftCols(rank).cast<float>();
  return RankProjector(rows, cols, rank, std::move(basis));
}

absl::Status ProjectToRank(absl::Span<float> weight, int rows, int cols, int rank) {
  // The projector's first projection is the exact one; its basis is not needed.
  return RankProjector::Create(weight, rows, cols, rank).status();
}

absl::Status RankProjector::Project(absl::Span<float> weight) {
  RETURN_IF_ERROR(CheckShape(weight.size(), rows_, cols_));
  Eigen::Map<RowMajorMatrixXf> w(weight.data(), rows_, cols_);
  Eigen::Map<RowMajorMatrixXf> basis(basis_.data(), cols_, rank_);
  const Eigen::MatrixXf u = Orthonormalize(w * basis);  // rows x rank
  const Eigen::MatrixXf wtu = w.transpose() * u;         // cols x rank: (U^T W)^T
  w = u * wtu.transpose();
  basis = Orthonormalize(wtu);
  return absl::OkStatus();
}

}  // namespace edgecompress::lowrank
