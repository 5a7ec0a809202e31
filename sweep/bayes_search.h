// Bayesian optimisation as W&B's `method: bayes`: a Gaussian process
// (gaussian_process.h) over the trials' metric, the next point the candidate
// with the largest expected improvement.
//
// Per suggestion k (a pure function of the trials, like every search here):
//   1. The first `initial_random` trials are random points (TrialRng(seed, k)).
//   2. Observations: trials with metrics, encoded to the unit cube. One
//      metric: its value (negated when minimised). Several: each normalised
//      to [0, 1] over the observations (1 best) and scalarised with ParEGO's
//      augmented Chebyshev function under weights drawn for suggestion k, so
//      that successive suggestions cover the Pareto front.
//   3. Running trials count as observed at the mean target ("constant liar",
//      Ginsbourger et al. 2010), so parallel workers do not all get one point.
//   4. Candidates: every untaken point of an all-discrete space of at most
//      `max_enumerated` points, else `random_candidates` random samples.
//   5. The candidate with the largest EI (xi = 0.01 on standardised targets).
//
// Failed and timed-out trials are not observations (W&B ignores them too);
// their points stay taken in a discrete space.
#ifndef EDGECOMPRESS_SWEEP_BAYES_SEARCH_H_
#define EDGECOMPRESS_SWEEP_BAYES_SEARCH_H_

#include <memory>

#include "sweep/config.h"
#include "sweep/search.h"

namespace edgecompress::sweep {

struct BayesSearchOptions {
  int initial_random = 3;
  int64_t max_enumerated = 20000;
  int random_candidates = 1000;
};

class BayesSearch : public Search {
 public:
  BayesSearch(const SweepConfig& config, uint64_t seed, BayesSearchOptions options = {});
  absl::StatusOr<std::optional<Assignment>> Next(absl::Span<const Trial> trials) override;

 private:
  SweepConfig config_;
  uint64_t seed_;
  BayesSearchOptions options_;
  UnitCubeEncoding encoding_;
  std::optional<int64_t> discrete_size_;
};

// The search `config.method` names.
absl::StatusOr<std::unique_ptr<Search>> MakeSearch(const SweepConfig& config, uint64_t seed);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_BAYES_SEARCH_H_
