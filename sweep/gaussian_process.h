// Gaussian-process regression for bayes search (Rasmussen & Williams,
// "Gaussian Processes for Machine Learning", 2006, algorithm 2.1) with a
// Matern 5/2 kernel and one length scale per input dimension (ARD):
//
//   k(x, x') = s^2 (1 + sqrt(5) r + 5 r^2 / 3) exp(-sqrt(5) r),
//   r^2 = sum_i ((x_i - x'_i) / l_i)^2,       plus noise n^2 on the diagonal.
//
// Fit: targets are standardised (zero mean, unit variance); the hyper-
// parameters (l_i in [0.01, 10], s^2 in [0.05, 20], n^2 in [1e-6, 1]) maximise
// the log marginal likelihood
//   log p(y | X) = -y' K^-1 y / 2 - sum log diag(L) - n/2 log 2 pi
// by coordinate search in log space: each parameter tried x/÷ e^step, steps
// 1, 1/2, 1/4, 1/8, a move kept when the likelihood rises. Each evaluation
// is one Cholesky factorisation, O(n^3 / 3); about 2 (d + 2) per step size.
// Prediction: mean k*' alpha, variance k** - |L^-1 k*|^2, all candidates in
// one triangular solve.
//
// Expected improvement (Jones et al. 1998; Snoek et al., "Practical Bayesian
// Optimization of Machine Learning Algorithms", 2012) for maximisation:
//   EI = (mu - best - xi) Phi(z) + sigma phi(z),  z = (mu - best - xi) / sigma.
#ifndef EDGECOMPRESS_SWEEP_GAUSSIAN_PROCESS_H_
#define EDGECOMPRESS_SWEEP_GAUSSIAN_PROCESS_H_

#include <vector>

#include "Eigen/Dense"
#include "absl/status/statusor.h"

namespace edgecompress::sweep {

struct MaternHyperparameters {
  Eigen::VectorXd length_scales;  // one per input dimension
  double signal_variance = 1.0;   // s^2
  double noise_variance = 1e-2;   // n^2, on standardised targets
};

class GaussianProcess {
 public:
  // `x`: n x d inputs (rows), `y`: n targets. kInvalidArgument for n = 0,
  // mismatched sizes or non-finite values.
  static absl::StatusOr<GaussianProcess> Fit(const Eigen::MatrixXd& x, const Eigen::VectorXd& y);
  // The same with fixed hyper-parameters (tests, and callers that refit rarely).
  static absl::StatusOr<GaussianProcess> FitWith(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                                 const MaternHyperparameters& hyper);

  // Posterior mean and standard deviation at each row of `x`, in the
  // targets' original units.
  void Predict(const Eigen::MatrixXd& x, Eigen::VectorXd* mean, Eigen::VectorXd* stddev) const;

  const MaternHyperparameters& hyperparameters() const { return hyper_; }
  double log_marginal_likelihood() const { return log_likelihood_; }

 private:
  GaussianProcess() = default;

  Eigen::MatrixXd x_;
  MaternHyperparameters hyper_;
  Eigen::LLT<Eigen::MatrixXd> cholesky_;
  Eigen::VectorXd alpha_;  // K^-1 y (standardised)
  double y_mean_ = 0, y_scale_ = 1, log_likelihood_ = 0;
};

// Matern 5/2 covariance between the rows of `a` and `b`.
Eigen::MatrixXd MaternKernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                             const MaternHyperparameters& hyper);

// Log marginal likelihood of standardised `y`; -inf when K is not positive definite.
double LogMarginalLikelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                             const MaternHyperparameters& hyper);

double ExpectedImprovement(double mean, double stddev, double best, double xi);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_GAUSSIAN_PROCESS_H_
