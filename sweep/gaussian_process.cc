#include "sweep/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace edgecompress::sweep {
namespace {

constexpr double kSqrt5 = 2.23606797749979;

struct Bounds {
  double low, high;
};
constexpr Bounds kLengthScale{0.01, 10}, kSignal{0.05, 20}, kNoise{1e-6, 1};

}  // namespace

Eigen::MatrixXd MaternKernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                             const MaternHyperparameters& hyper) {
  const Eigen::RowVectorXd inverse_scale = hyper.length_scales.cwiseInverse().transpose();
  const Eigen::MatrixXd as = a.array().rowwise() * inverse_scale.array();
  const Eigen::MatrixXd bs = b.array().rowwise() * inverse_scale.array();
  // |a - b|^2 = |a|^2 + |b|^2 - 2 a.b, one matrix product for all pairs.
  Eigen::MatrixXd r2 = (-2.0 * as * bs.transpose()).colwise() + as.rowwise().squaredNorm();
  r2.rowwise() += bs.rowwise().squaredNorm().transpose();
  return r2.unaryExpr([&](double d2) {
    const double r = std::sqrt(std::max(d2, 0.0));
    return hyper.signal_variance * (1 + kSqrt5 * r + 5.0 / 3.0 * r * r) * std::exp(-kSqrt5 * r);
  });
}

double LogMarginalLikelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                             const MaternHyperparameters& hyper) {
  Eigen::MatrixXd k = MaternKernel(x, x, hyper);
  k.diagonal().array() += hyper.noise_variance;
  Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
  const Eigen::VectorXd alpha = llt.solve(y);
  const double log_det_half = llt.matrixLLT().diagonal().array().log().sum();
  return -0.5 * y.dot(alpha) - log_det_half - 0.5 * y.size() * std::log(2 * M_PI);
}

absl::StatusOr<GaussianProcess> GaussianProcess::FitWith(const Eigen::MatrixXd& x,
                                                         const Eigen::VectorXd& y,
                                                         const MaternHyperparameters& hyper) {
  if (x.rows() == 0 || x.rows() != y.size() || hyper.length_scales.size() != x.cols()) {
    return absl::InvalidArgumentError(absl::StrCat("GP fit: ", x.rows(), " inputs of ", x.cols(),
                                                   " dimensions, ", y.size(), " targets, ",
                                                   hyper.length_scales.size(), " length scales"));
  }
  if (!x.allFinite() || !y.allFinite()) {
    return absl::InvalidArgumentError("GP fit: an input or target is not finite");
  }
  GaussianProcess gp;
  gp.x_ = x;
  gp.hyper_ = hyper;
  gp.y_mean_ = y.mean();
  const double variance = (y.array() - gp.y_mean_).square().mean();
  gp.y_scale_ = variance > 1e-24 ? std::sqrt(variance) : 1.0;
  const Eigen::VectorXd standard = (y.array() - gp.y_mean_) / gp.y_scale_;
  Eigen::MatrixXd k = MaternKernel(x, x, hyper);
  k.diagonal().array() += hyper.noise_variance;
  gp.cholesky_.compute(k);
  if (gp.cholesky_.info() != Eigen::Success) {
    return absl::InvalidArgumentError("GP fit: the kernel matrix is not positive definite");
  }
  gp.alpha_ = gp.cholesky_.solve(standard);
  gp.log_likelihood_ = LogMarginalLikelihood(x, standard, hyper);
  return gp;
}

absl::StatusOr<GaussianProcess> GaussianProcess::Fit(const Eigen::MatrixXd& x,
                                                     const Eigen::VectorXd& y) {
  if (x.rows() == 0 || x.rows() != y.size() || !x.allFinite() || !y.allFinite()) {
    return FitWith(x, y, {Eigen::VectorXd::Constant(x.cols(), 0.5)});  // for its error
  }
  const double mean = y.mean();
  const double variance = (y.array() - mean).square().mean();
  const Eigen::VectorXd standard = (y.array() - mean) / (variance > 1e-24 ? std::sqrt(variance) : 1.0);
  const int d = static_cast<int>(x.cols());
  // log-space parameters: d length scales, signal, noise.
  std::vector<double> theta(d + 2, std::log(0.5));
  theta[d] = 0.0;
  theta[d + 1] = std::log(1e-2);
  auto bounds = [&](int i) { return i < d ? kLengthScale : (i == d ? kSignal : kNoise); };
  auto unpack = [&](const std::vector<double>& t) {
    MaternHyperparameters hyper;
    hyper.length_scales.resize(d);
    for (int i = 0; i < d; ++i) hyper.length_scales[i] = std::exp(t[i]);
    hyper.signal_variance = std::exp(t[d]);
    hyper.noise_variance = std::exp(t[d + 1]);
    return hyper;
  };
  double best = LogMarginalLikelihood(x, standard, unpack(theta));
  for (double step : {1.0, 0.5, 0.25}) {
    for (int i = 0; i < d + 2; ++i) {
      for (double direction : {1.0, -1.0}) {
        std::vector<double> trial = theta;
        trial[i] = std::clamp(trial[i] + direction * step, std::log(bounds(i).low),
                              std::log(bounds(i).high));
        if (trial[i] == theta[i]) continue;
        const double value = LogMarginalLikelihood(x, standard, unpack(trial));
        if (value > best) {
          best = value;
          theta = std::move(trial);
          break;  // keep direction order fresh for the next parameter
        }
      }
    }
  }
  return FitWith(x, y, unpack(theta));
}

void GaussianProcess::Predict(const Eigen::MatrixXd& x, Eigen::VectorXd* mean,
                              Eigen::VectorXd* stddev) const {
  const Eigen::MatrixXd k_star = MaternKernel(x_, x, hyper_);  // n x m
  *mean = (k_star.transpose() * alpha_).array() * y_scale_ + y_mean_;
  const Eigen::MatrixXd v = cholesky_.matrixL().solve(k_star);
  const Eigen::ArrayXd variance =
      (hyper_.signal_variance - v.colwise().squaredNorm().transpose().array()).max(1e-12);
  *stddev = variance.sqrt() * y_scale_;
}

double ExpectedImprovement(double mean, double stddev, double best, double xi) {
  const double gain = mean - best - xi;
  if (stddev <= 0) return std::max(gain, 0.0);
  const double z = gain / stddev;
  const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
  return gain * cdf + stddev * pdf;
}

}  // namespace edgecompress::sweep
