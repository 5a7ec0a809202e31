// Search methods: which point a sweep tries next, given every trial so far.
//
// All of them are pure functions of (config, seed, trials): nothing is kept
// between calls that the trials do not hold, so a resumed sweep continues
// exactly where the killed one stopped.
//   - GridSearch: the first grid point no trial has taken (row-major order).
//   - RandomSearch: trial k draws from TrialRng(seed, k); in an all-discrete
//     space points already taken are redrawn (up to 1000 tries) and the
//     search ends once every point was taken.
//   - BayesSearch (bayes_search.h): a Gaussian process over the trials' metrics.
#ifndef EDGECOMPRESS_SWEEP_SEARCH_H_
#define EDGECOMPRESS_SWEEP_SEARCH_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "sweep/config.h"
#include "sweep/search_space.h"
#include "sweep/trial.h"

namespace edgecompress::sweep {

class Search {
 public:
  virtual ~Search() = default;
  // The next point, or nullopt when the space is exhausted. `trials` are all
  // trials so far, in any state (running ones included).
  virtual absl::StatusOr<std::optional<Assignment>> Next(absl::Span<const Trial> trials) = 0;
};

class GridSearch : public Search {
 public:
  // kInvalidArgument when a parameter is continuous.
  static absl::StatusOr<std::unique_ptr<GridSearch>> Create(const SweepConfig& config);
  absl::StatusOr<std::optional<Assignment>> Next(absl::Span<const Trial> trials) override;
  int64_t size() const { return size_; }

 private:
  GridSearch(std::vector<ParameterSpec> parameters, int64_t size)
      : parameters_(std::move(parameters)), size_(size) {}
  std::vector<ParameterSpec> parameters_;
  int64_t size_;
};

class RandomSearch : public Search {
 public:
  RandomSearch(const SweepConfig& config, uint64_t seed);
  absl::StatusOr<std::optional<Assignment>> Next(absl::Span<const Trial> trials) override;

 private:
  std::vector<ParameterSpec> parameters_;
  uint64_t seed_;
  std::optional<int64_t> discrete_size_;  // when every parameter is discrete
};

// Number of points of an all-discrete space, nullopt when a parameter is continuous.
std::optional<int64_t> DiscreteSpaceSize(absl::Span<const ParameterSpec> parameters);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_SEARCH_H_
