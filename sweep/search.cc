#include "sweep/search.h"

#include <set>

namespace edgecompress::sweep {

std::optional<int64_t> DiscreteSpaceSize(absl::Span<const ParameterSpec> parameters) {
  absl::StatusOr<int64_t> size = GridSize(parameters);
  if (!size.ok()) return std::nullopt;
  return *size;
}

absl::StatusOr<std::unique_ptr<GridSearch>> GridSearch::Create(const SweepConfig& config) {
  absl::StatusOr<int64_t> size = GridSize(config.parameters);
  if (!size.ok()) return size.status();
  return std::unique_ptr<GridSearch>(new GridSearch(config.parameters, *size));
}

absl::StatusOr<std::optional<Assignment>> GridSearch::Next(absl::Span<const Trial> trials) {
  std::set<Assignment> taken;
  for (const Trial& trial : trials) taken.insert(trial.assignment);
  for (int64_t i = 0; i < size_; ++i) {
    Assignment point = GridPoint(parameters_, i);
    if (taken.count(point) == 0) return std::optional<Assignment>(std::move(point));
  }
  return std::optional<Assignment>();
}

RandomSearch::RandomSearch(const SweepConfig& config, uint64_t seed)
    : parameters_(config.parameters), seed_(seed), discrete_size_(DiscreteSpaceSize(parameters_)) {}

absl::StatusOr<std::optional<Assignment>> RandomSearch::Next(absl::Span<const Trial> trials) {
  std::mt19937_64 rng = TrialRng(seed_, static_cast<int64_t>(trials.size()));
  if (!discrete_size_) return std::optional<Assignment>(SampleAssignment(parameters_, rng));
  std::set<Assignment> taken;
  for (const Trial& trial : trials) taken.insert(trial.assignment);
  if (static_cast<int64_t>(taken.size()) >= *discrete_size_) return std::optional<Assignment>();
  for (int attempt = 0; attempt < 1000; ++attempt) {
    Assignment point = SampleAssignment(parameters_, rng);
    if (taken.count(point) == 0) return std::optional<Assignment>(std::move(point));
  }
  // Nearly exhausted: the first free grid point, still deterministic.
  for (int64_t i = 0; i < *discrete_size_; ++i) {
    Assignment point = GridPoint(parameters_, i);
    if (taken.count(point) == 0) return std::optional<Assignment>(std::move(point));
  }
  return std::optional<Assignment>();
}

}  // namespace edgecompress::sweep
