// A sweep configuration in Weights & Biases' sweep YAML format, read into
// plain structs and validated once, so that everything after parsing can
// assume a well-formed sweep.
//
//   program: /path/to/train_prune          # ${program} in `command`
//   command: [${program}, ${args}, --out=${out}]   # optional; this is the default
//   method: grid | random | bayes
//   metric: {name: after.test_top1, goal: maximize}     # or a list of them:
//   metric: [{name: after.test_top1, goal: maximize}, {name: epochs, goal: minimize}]
//   parameters:
//     epochs: {values: [10, 15, 25]}         # categorical
//     seed: {value: 1}                       # constant
//     sparsity: {min: 0.9, max: 0.99}        # uniform (int_uniform if both ints)
//     learning_rate: {distribution: log_uniform_values, min: 1e-3, max: 1e-1}
//     prune_frequency: {distribution: q_uniform, min: 0.25, max: 2, q: 0.25}
//     weight_decay: {distribution: normal, mu: 5e-4, sigma: 1e-4}
//   early_terminate: {type: hyperband, min_iter: 1, eta: 3}   # or max_iter + s
//   run_cap: 20
//
// Differences from W&B, on purpose: `metric` may be a list (multi-objective,
// which W&B lacks); the macros ${out} (the trial's result JSON) and
// ${trial_dir} exist in `command`; nested parameter groups are rejected.
// Keys W&B knows but this tool ignores (`name`, `description`, `project`,
// `entity`) are accepted; any other key is an error.
//
// Every error is kInvalidArgument and reads "<source>:<line>: <what>".
#ifndef EDGECOMPRESS_SWEEP_CONFIG_H_
#define EDGECOMPRESS_SWEEP_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgecompress::sweep {

enum class SearchMethod { kGrid, kRandom, kBayes };
enum class Goal { kMaximize, kMinimize };

// The distributions of W&B's `distribution` key that this tool implements.
enum class Distribution {
  kConstant,          // `value`
  kCategorical,       // `values`, optionally `probabilities`
  kUniform,           // min <= x < max
  kIntUniform,        // integers min..max, both inclusive
  kQUniform,          // round(uniform(min, max) / q) * q
  kLogUniformValues,  // exp(uniform(log min, log max)); min > 0
  kNormal,            // mu, sigma (sigma > 0)
};

struct MetricSpec {
  // A dotted path into the trial's result JSON ("after.test_top1"); when the
  // JSON has no such field, a parameter of the same name (e.g. "epochs").
  std::string name;
  Goal goal = Goal::kMaximize;
};

struct ParameterSpec {
  std::string name;
  Distribution distribution = Distribution::kConstant;
  std::vector<std::string> values;   // constant (exactly one) and categorical, as written
  std::vector<double> probabilities; // categorical; empty: equal
  double min = 0, max = 0, q = 1;    // uniform, int_uniform, q_uniform, log_uniform_values
  double mu = 0, sigma = 1;          // normal
  int line = 0;                      // of the parameter's name, for messages
};

// Hyperband early termination as W&B defines it (sweeps/hyperband_stopping.py):
// bands at min_iter * eta^k (k = 0, 1, ...), or at max_iter / eta^k for
// k = 1..s; at each band a running trial whose metric is worse than the best
// 1/eta of all trials' values at that band is stopped. The first metric
// decides when there are several.
struct HyperbandSpec {
  int64_t min_iter = 0;  // > 0 for the min_iter form
  int64_t max_iter = 0;  // > 0 for the max_iter form
  double eta = 3;        // > 1
  int64_t s = 0;         // number of bands of the max_iter form
};

struct SweepConfig {
  std::string program;
  std::vector<std::string> command;  // with macros; filled with the default when absent
  SearchMethod method = SearchMethod::kGrid;
  std::vector<MetricSpec> metrics;   // at least one for random and bayes
  std::vector<ParameterSpec> parameters;  // in file order
  std::optional<HyperbandSpec> early_terminate;
  // 0: no cap. A grid ends with its last point, a random or bayes sweep over
  // a discrete space when every point ran, otherwise (as in W&B) never.
  int64_t run_cap = 0;
};

// Parses and validates `yaml`; `source` (a file name) prefixes every error.
absl::StatusOr<SweepConfig> ParseSweepConfig(absl::string_view yaml, absl::string_view source);

absl::string_view SearchMethodName(SearchMethod method);
absl::string_view DistributionName(Distribution distribution);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_CONFIG_H_
