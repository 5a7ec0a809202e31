#include "sweep/bayes_search.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "sweep/gaussian_process.h"
#include "sweep/pareto.h"
#include "tools/status/status_macros.h"

namespace edgecompress::sweep {

BayesSearch::BayesSearch(const SweepConfig& config, uint64_t seed, BayesSearchOptions options)
    : config_(config),
      seed_(seed),
      options_(options),
      encoding_(config_.parameters),
      discrete_size_(DiscreteSpaceSize(config_.parameters)) {}

absl::StatusOr<std::optional<Assignment>> BayesSearch::Next(absl::Span<const Trial> trials) {
  const int64_t k = static_cast<int64_t>(trials.size());
  std::mt19937_64 rng = TrialRng(seed_, k);
  std::set<Assignment> taken;
  for (const Trial& trial : trials) taken.insert(trial.assignment);
  if (discrete_size_ && static_cast<int64_t>(taken.size()) >= *discrete_size_) {
    return std::optional<Assignment>();
  }
  std::vector<const Trial*> observed, pending;
  for (const Trial& trial : trials) {
    bool complete = trial.has_metrics();
    for (const MetricSpec& metric : config_.metrics) complete &= trial.metrics.count(metric.name) > 0;
    if (complete) observed.push_back(&trial);
    if (trial.state == TrialState::kRunning) pending.push_back(&trial);
  }

  // Candidates first: the random phase draws from them too.
  std::vector<Assignment> candidates;
  if (discrete_size_ && *discrete_size_ <= options_.max_enumerated) {
    for (int64_t i = 0; i < *discrete_size_; ++i) {
      Assignment point = GridPoint(config_.parameters, i);
      if (taken.count(point) == 0) candidates.push_back(std::move(point));
    }
  } else {
    for (int i = 0; i < options_.random_candidates; ++i) {
      Assignment point = SampleAssignment(config_.parameters, rng);
      if (taken.count(point) == 0) candidates.push_back(std::move(point));
    }
  }
  if (candidates.empty()) return std::optional<Assignment>();
  if (static_cast<int>(observed.size()) < std::max(options_.initial_random, 2) ||
      encoding_.dimensions() == 0) {
    std::uniform_int_distribution<size_t> pick(0, candidates.size() - 1);
    return std::optional<Assignment>(candidates[pick(rng)]);
  }

  // Targets, maximised.
  const size_t m = config_.metrics.size();
  std::vector<double> targets;
  if (m == 1) {
    const MetricSpec& metric = config_.metrics[0];
    for (const Trial* trial : observed) {
      const double v = trial->metrics.at(metric.name);
      targets.push_back(metric.goal == Goal::kMaximize ? v : -v);
    }
  } else {
    std::vector<double> low(m, INFINITY), high(m, -INFINITY);
    for (const Trial* trial : observed) {
      for (size_t i = 0; i < m; ++i) {
        const double v = trial->metrics.at(config_.metrics[i].name);
        low[i] = std::min(low[i], v);
        high[i] = std::max(high[i], v);
      }
    }
    std::vector<double> weights(m);
    std::exponential_distribution<double> exponential(1.0);  // uniform on the simplex
    double sum = 0;
    for (double& w : weights) sum += (w = exponential(rng));
    for (double& w : weights) w /= sum;
    for (const Trial* trial : observed) {
      std::vector<double> normalised(m);
      for (size_t i = 0; i < m; ++i) {
        const double v = trial->metrics.at(config_.metrics[i].name);
        const double span = high[i] - low[i];
        double f = span > 0 ? (v - low[i]) / span : 0.5;
        if (config_.metrics[i].goal == Goal::kMinimize) f = 1 - f;
        normalised[i] = f;
      }
      targets.push_back(ChebyshevScalarisation(normalised, weights));
    }
  }
  double mean_target = 0;
  for (double t : targets) mean_target += t;
  mean_target /= targets.size();
  const double best = *std::max_element(targets.begin(), targets.end());

  const int d = encoding_.dimensions();
  const int n = static_cast<int>(observed.size() + pending.size());
  Eigen::MatrixXd x(n, d);
  Eigen::VectorXd y(n);
  int row = 0;
  for (const Trial* trial : observed) {
    ASSIGN_OR_RETURN(const std::vector<double> encoded, encoding_.Encode(trial->assignment));
    x.row(row) = Eigen::Map<const Eigen::RowVectorXd>(encoded.data(), d);
    y[row] = targets[row];
    ++row;
  }
  for (const Trial* trial : pending) {
    ASSIGN_OR_RETURN(const std::vector<double> encoded, encoding_.Encode(trial->assignment));
    x.row(row) = Eigen::Map<const Eigen::RowVectorXd>(encoded.data(), d);
    y[row++] = mean_target;
  }
  ASSIGN_OR_RETURN(const GaussianProcess gp, GaussianProcess::Fit(x, y));

  Eigen::MatrixXd x_star(candidates.size(), d);
  for (size_t i = 0; i < candidates.size(); ++i) {
    ASSIGN_OR_RETURN(const std::vector<double> encoded, encoding_.Encode(candidates[i]));
    x_star.row(i) = Eigen::Map<const Eigen::RowVectorXd>(encoded.data(), d);
  }
  Eigen::VectorXd mean, stddev;
  gp.Predict(x_star, &mean, &stddev);
  // xi is 0.01 standard deviations of the targets.
  const double scale = std::sqrt((y.array() - y.mean()).square().mean()) + 1e-12;
  size_t chosen = 0;
  double chosen_ei = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const double ei = ExpectedImprovement(mean[i], stddev[i], best, 0.01 * scale);
    if (ei > chosen_ei) {
      chosen_ei = ei;
      chosen = i;
    }
  }
  return std::optional<Assignment>(candidates[chosen]);
}

absl::StatusOr<std::unique_ptr<Search>> MakeSearch(const SweepConfig& config, uint64_t seed) {
  switch (config.method) {
    case SearchMethod::kGrid: {
      ASSIGN_OR_RETURN(std::unique_ptr<GridSearch> grid, GridSearch::Create(config));
      return std::unique_ptr<Search>(std::move(grid));
    }
    case SearchMethod::kRandom:
      return std::unique_ptr<Search>(new RandomSearch(config, seed));
    case SearchMethod::kBayes:
      return std::unique_ptr<Search>(new BayesSearch(config, seed));
  }
  return absl::InvalidArgumentError("unknown search method");
}

}  // namespace edgecompress::sweep
