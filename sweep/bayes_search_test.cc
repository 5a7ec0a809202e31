#include "sweep/bayes_search.h"

#include <cmath>
#include <set>

#include "absl/strings/numbers.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sweep/pareto.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

double Number(const Assignment& a, const std::string& name) {
  double v = 0;
  EXPECT_TRUE(absl::SimpleAtod(*ValueOf(a, name), &v));
  return v;
}

// Runs `search` for `budget` trials on f, evaluating each point at once.
template <typename F>
std::vector<Trial> Drive(Search& search, int budget, const std::string& metric, F f) {
  std::vector<Trial> trials;
  for (int k = 0; k < budget; ++k) {
    absl::StatusOr<std::optional<Assignment>> next = search.Next(trials);
    EXPECT_THAT(next, IsOk());
    if (!next.ok() || !next->has_value()) break;
    Trial trial{.id = k, .assignment = **next, .state = TrialState::kFinished};
    trial.metrics[metric] = f(trial.assignment);
    trials.push_back(trial);
  }
  return trials;
}

// A 2-D grid of 11 x 11 = 121 points with one smooth peak at (0.7, 0.3):
// the GP must find the peak in at most 40% of the grid (48 trials) for
// every one of five seeds; in practice it needs far fewer.
TEST(BayesSearchTest, FindsTheGridsBestInAFractionOfTheGrid) {
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(R"(program: p
method: bayes
metric: {name: score, goal: maximize}
parameters:
  a: {distribution: q_uniform, min: 0, max: 1, q: 0.1}
  b: {distribution: q_uniform, min: 0, max: 1, q: 0.1}
)", "peak.yaml");
  ASSERT_THAT(config, IsOk());
  auto f = [](const Assignment& p) {
    const double a = Number(p, "a"), b = Number(p, "b");
    return -std::pow(a - 0.7, 2) - 2 * std::pow(b - 0.3, 2);
  };
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    BayesSearch search(*config, seed);
    const std::vector<Trial> trials = Drive(search, 48, "score", f);
    int found_at = -1;
    for (const Trial& t : trials) {
      if (found_at < 0 && std::abs(t.metrics.at("score")) < 1e-9) found_at = static_cast<int>(t.id);
    }
    EXPECT_GE(found_at, 0);
    std::set<Assignment> distinct;
    for (const Trial& t : trials) distinct.insert(t.assignment);
    EXPECT_EQ(distinct.size(), trials.size());  // no point twice
  }
}

TEST(BayesSearchTest, MinimisedMetricAndContinuousSpace) {
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(R"(program: p
method: bayes
metric: {name: loss, goal: minimize}
run_cap: 25
parameters:
  lr: {distribution: log_uniform_values, min: 0.0001, max: 1}
)", "lr.yaml");
  ASSERT_THAT(config, IsOk());
  BayesSearch search(*config, 3);
  // Loss is smallest at lr = 0.01 (log10 = -2).
  const std::vector<Trial> trials =
      Drive(search, 25, "loss", [](const Assignment& p) { return std::pow(std::log10(Number(p, "lr")) + 2, 2); });
  double best = 1e9;
  for (const Trial& t : trials) best = std::min(best, t.metrics.at("loss"));
  EXPECT_LT(best, 0.05);  // within 10^0.22 of 0.01
}

// Multi-objective: maximise a, minimise b where b = a^2 (a trade-off along
// the whole range). The suggestions must cover the front, not one end.
TEST(BayesSearchTest, MultiObjectiveSpreadsOverTheFront) {
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(R"(program: p
method: bayes
metric: [{name: acc, goal: maximize}, {name: cost, goal: minimize}]
parameters:
  a: {distribution: q_uniform, min: 0, max: 1, q: 0.05}
  noise: {distribution: q_uniform, min: 0, max: 1, q: 0.05}
)", "mo.yaml");
  ASSERT_THAT(config, IsOk());
  BayesSearch search(*config, 5);
  std::vector<Trial> trials;
  for (int k = 0; k < 30; ++k) {
    absl::StatusOr<std::optional<Assignment>> next = search.Next(trials);
    ASSERT_THAT(next, IsOk());
    Trial t{.id = k, .assignment = **next, .state = TrialState::kFinished};
    const double a = Number(t.assignment, "a"), noise = Number(t.assignment, "noise");
    t.metrics = {{"acc", a - 0.3 * noise}, {"cost", a * a + 0.3 * noise}};
    trials.push_back(t);
  }
  std::vector<std::vector<double>> points;
  for (const Trial& t : trials) points.push_back({t.metrics.at("acc"), t.metrics.at("cost")});
  const std::vector<int> front = ParetoFront(points, {Goal::kMaximize, Goal::kMinimize});
  double low = 1, high = 0;
  for (int i : front) {
    low = std::min(low, Number(trials[i].assignment, "a"));
    high = std::max(high, Number(trials[i].assignment, "a"));
  }
  EXPECT_GE(front.size(), 4u);
  EXPECT_GT(high - low, 0.5);  // both ends of the trade-off explored
}

TEST(ParetoFrontTest, NonDominatedPointsOnly) {
  // (acc, latency): (90, 5) and (80, 2) trade off; (85, 6) is dominated by
  // (90, 5); (80, 2) twice: both stay.
  const std::vector<std::vector<double>> points = {{90, 5}, {85, 6}, {80, 2}, {80, 2}, {70, 9}};
  EXPECT_THAT(ParetoFront(points, {Goal::kMaximize, Goal::kMinimize}), testing::ElementsAre(0, 2, 3));
  EXPECT_DOUBLE_EQ(ChebyshevScalarisation({1.0, 0.5}, {0.5, 0.5}), 0.25 + 0.05 * 0.75);
}

}  // namespace
}  // namespace edgecompress::sweep
