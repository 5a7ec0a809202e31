#include "sweep/pareto.h"

#include <algorithm>
#include <limits>

namespace edgecompress::sweep {

std::vector<int> ParetoFront(absl::Span<const std::vector<double>> points,
                             absl::Span<const Goal> goals) {
  auto at_least_as_good = [&](const std::vector<double>& a, const std::vector<double>& b, size_t i) {
    return goals[i] == Goal::kMaximize ? a[i] >= b[i] : a[i] <= b[i];
  };
  std::vector<int> front;
  for (size_t p = 0; p < points.size(); ++p) {
    bool dominated = false;
    for (size_t q = 0; q < points.size() && !dominated; ++q) {
      if (q == p) continue;
      bool all = true, strictly = false;
      for (size_t i = 0; i < goals.size(); ++i) {
        all &= at_least_as_good(points[q], points[p], i);
        strictly |= points[q][i] != points[p][i];
      }
      dominated = all && strictly;
    }
    if (!dominated) front.push_back(static_cast<int>(p));
  }
  return front;
}

double ChebyshevScalarisation(absl::Span<const double> normalised, absl::Span<const double> weights) {
  double worst = std::numeric_limits<double>::infinity(), sum = 0;
  for (size_t i = 0; i < normalised.size(); ++i) {
    worst = std::min(worst, weights[i] * normalised[i]);
    sum += weights[i] * normalised[i];
  }
  return worst + 0.05 * sum;
}

}  // namespace edgecompress::sweep
