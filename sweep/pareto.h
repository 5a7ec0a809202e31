// Pareto fronts of several objectives, each maximised or minimised.
// A point dominates another when it is at least as good in every objective
// and better in one; the front is the points nobody dominates. Equal points
// are all on the front. O(n^2 m) for n points and m objectives.
#ifndef EDGECOMPRESS_SWEEP_PARETO_H_
#define EDGECOMPRESS_SWEEP_PARETO_H_

#include <vector>

#include "absl/types/span.h"
#include "sweep/config.h"

namespace edgecompress::sweep {

// Indices (ascending) of the non-dominated rows of `points` (each row one
// value per goal).
std::vector<int> ParetoFront(absl::Span<const std::vector<double>> points,
                             absl::Span<const Goal> goals);

// Augmented Chebyshev scalarisation of ParEGO (Knowles, IEEE TEC 2006) for
// maximisation: `normalised` values in [0, 1] with 1 best, weights summing to 1:
//   s = min_i w_i f_i + 0.05 sum_i w_i f_i.
// Every Pareto-optimal point maximises s for some weights, so drawing new
// weights per suggestion spreads the search over the whole front.
double ChebyshevScalarisation(absl::Span<const double> normalised, absl::Span<const double> weights);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_PARETO_H_
