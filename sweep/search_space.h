// Points of a sweep's parameter space: enumerating the grid, drawing seeded
// random samples, and mapping a point to the unit cube for the Gaussian
// process.
//
// Values are kept as the text the trial's command line receives: categorical
// and constant values exactly as written in the YAML, numbers drawn from a
// distribution printed with 6 significant digits ("%.6g"; integers plainly).
// Every consumer (command line, state, GP) sees the same rounded value.
//
// Grid order: parameters in file order, the last one varying fastest, like
// itertools.product in W&B's grid search. int_uniform enumerates min..max,
// q_uniform min, min+q, ... up to max (inclusive within 1e-9 q).
#ifndef EDGECOMPRESS_SWEEP_SEARCH_SPACE_H_
#define EDGECOMPRESS_SWEEP_SEARCH_SPACE_H_

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "sweep/config.h"

namespace edgecompress::sweep {

// One value per parameter, in the config's parameter order.
using Assignment = std::vector<std::pair<std::string, std::string>>;

// The value of `name`, or nullopt.
std::optional<std::string> ValueOf(const Assignment& assignment, const std::string& name);

// The values a discrete parameter can take (constant, categorical,
// int_uniform, q_uniform); kInvalidArgument naming the parameter otherwise.
absl::StatusOr<std::vector<std::string>> DiscreteValues(const ParameterSpec& spec);

// Number of grid points, or kInvalidArgument when a parameter is continuous
// or the product exceeds `limit`.
absl::StatusOr<int64_t> GridSize(absl::Span<const ParameterSpec> parameters,
                                 int64_t limit = 10'000'000);

// The grid point with row-major index `index` in [0, GridSize).
Assignment GridPoint(absl::Span<const ParameterSpec> parameters, int64_t index);

// The whole grid (fails like GridSize).
absl::StatusOr<std::vector<Assignment>> ExpandGrid(absl::Span<const ParameterSpec> parameters);

// One value of `spec` drawn from its distribution.
std::string SampleValue(const ParameterSpec& spec, std::mt19937_64& rng);
Assignment SampleAssignment(absl::Span<const ParameterSpec> parameters, std::mt19937_64& rng);

// The generator for trial `trial_index` of a sweep seeded with `seed`: the
// k-th random point does not depend on how many were drawn before a restart,
// so `sweep resume` continues the same sequence.
std::mt19937_64 TrialRng(uint64_t seed, int64_t trial_index);

// The unit-cube encoding used by the GP: one coordinate per numeric
// parameter (uniform and friends scaled to [0, 1] between min and max, log
// scale for log_uniform_values, mu +- 3 sigma for normal, numeric categorical
// values between their smallest and largest), one 0/1 coordinate per value of
// a non-numeric categorical (one-hot), nothing for constants.
class UnitCubeEncoding {
 public:
  explicit UnitCubeEncoding(absl::Span<const ParameterSpec> parameters);
  // Columns point into parameters_: moving keeps the heap buffer, copying would not.
  UnitCubeEncoding(UnitCubeEncoding&&) = default;
  UnitCubeEncoding(const UnitCubeEncoding&) = delete;
  int dimensions() const { return dimensions_; }
  // kInvalidArgument when a value is not one the space holds.
  absl::StatusOr<std::vector<double>> Encode(const Assignment& assignment) const;

 private:
  struct Column {
    const ParameterSpec* spec;
    int offset, width;   // into the encoded vector
    bool one_hot, log;
    double low, high;    // of the (log) value before scaling
  };
  std::vector<ParameterSpec> parameters_;
  std::vector<Column> columns_;
  int dimensions_ = 0;
};

// "%.6g", or a plain integer when `value` is whole and below 2^53.
std::string FormatNumber(double value);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_SEARCH_SPACE_H_
