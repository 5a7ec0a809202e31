// Time of one bayes suggestion with 200 observed trials: GP fit (marginal-
// likelihood search) plus EI over 1000 random candidates, in a 4-parameter
// continuous space like the study's (epochs, update frequency, epoch
// fraction, sparsity). Prints milliseconds per suggestion; the target is
// under 50 ms.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

#include "sweep/bayes_search.h"

int main() {
  using namespace edgecompress::sweep;
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(R"(program: p
method: bayes
metric: {name: acc, goal: maximize}
run_cap: 1000
parameters:
  epochs: {min: 10, max: 25}
  update_frequency: {min: 1, max: 7}
  epoch_fraction: {min: 0.5, max: 1.0}
  sparsity: {min: 0.9, max: 0.99}
)", "benchmark.yaml");
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().ToString().c_str());
    return 2;
  }
  std::vector<Trial> trials;
  for (int k = 0; k < 200; ++k) {
    std::mt19937_64 rng = TrialRng(9, k);
    Trial t{.id = k, .assignment = SampleAssignment(config->parameters, rng),
            .state = TrialState::kFinished};
    const double e = std::stod(t.assignment[0].second), s = std::stod(t.assignment[3].second);
    t.metrics["acc"] = 90 - 0.05 * std::pow(e - 20, 2) - 200 * std::pow(s - 0.93, 2) +
                       0.1 * std::sin(7.0 * k);
    trials.push_back(t);
  }
  BayesSearch search(*config, 1);
  std::vector<double> ms;
  for (int round = 0; round < 7; ++round) {
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::optional<Assignment>> next = search.Next(trials);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (!next.ok()) return 3;
  }
  std::sort(ms.begin(), ms.end());
  std::printf("bayes suggestion, 200 observations, 4 parameters, 1000 candidates: "
              "min %.1f ms, median %.1f ms, max %.1f ms (7 runs)\n",
              ms.front(), ms[ms.size() / 2], ms.back());
  return 0;
}
