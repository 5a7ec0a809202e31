#include "sweep/config.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// The sweep of Fay-Hunt's dissertation (shared/seeds/001, Figure 3.10),
// with this repository's program: the W&B format as people write it.
constexpr char kFayHuntSweep[] = R"(program: pipeline.py
method: bayes
metric:
  goal: maximize
  name: Top1
parameters:
  filter_pruner_layer_1:
    min: 0.0
    max: 0.99
  filter_pruner_layer_3.1:
    min: 0.0
    max: 0.99
)";

TEST(ParseSweepConfigTest, ReadsTheDissertationsBayesSweep) {
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(kFayHuntSweep, "fay_hunt.yaml");
  ASSERT_THAT(config, IsOk());
  EXPECT_EQ(config->program, "pipeline.py");
  EXPECT_EQ(config->method, SearchMethod::kBayes);
  ASSERT_EQ(config->metrics.size(), 1u);
  EXPECT_EQ(config->metrics[0].name, "Top1");
  EXPECT_EQ(config->metrics[0].goal, Goal::kMaximize);
  ASSERT_EQ(config->parameters.size(), 2u);
  EXPECT_EQ(config->parameters[1].name, "filter_pruner_layer_3.1");
  // 0.0 and 0.99 are not both integers: uniform, as W&B infers.
  EXPECT_EQ(config->parameters[0].distribution, Distribution::kUniform);
  EXPECT_EQ(config->parameters[0].line, 7);
  EXPECT_THAT(config->command, ElementsAre("${program}", "${args}", "--out=${out}"));
}

TEST(ParseSweepConfigTest, ReadsEveryDistributionAndHyperband) {
  constexpr char kYaml[] = R"(program: train_prune
method: random
metric:
  - {name: after.test_top1, goal: maximize}
  - {name: epochs, goal: minimize}
parameters:
  seed: {value: 3}
  optimizer: {values: [sgd, adam], probabilities: [0.75, 0.25]}
  epochs: {min: 1, max: 4}
  sparsity: {distribution: uniform, min: 0.9, max: 0.99}
  prune_frequency: {distribution: q_uniform, min: 0.25, max: 2, q: 0.25}
  learning_rate: {distribution: log_uniform_values, min: 0.001, max: 0.1}
  weight_decay: {distribution: normal, mu: 0.0005, sigma: 0.0001}
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
run_cap: 12
)";
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(kYaml, "all.yaml");
  ASSERT_THAT(config, IsOk());
  ASSERT_EQ(config->parameters.size(), 7u);
  const Distribution expected[] = {Distribution::kConstant,   Distribution::kCategorical,
                                   Distribution::kIntUniform, Distribution::kUniform,
                                   Distribution::kQUniform,   Distribution::kLogUniformValues,
                                   Distribution::kNormal};
  for (int i = 0; i < 7; ++i) {
    SCOPED_TRACE(config->parameters[i].name);
    EXPECT_EQ(config->parameters[i].distribution, expected[i]);
  }
  EXPECT_THAT(config->parameters[1].probabilities, ElementsAre(0.75, 0.25));
  EXPECT_EQ(config->parameters[4].q, 0.25);
  EXPECT_EQ(config->parameters[6].sigma, 0.0001);
  ASSERT_EQ(config->metrics.size(), 2u);
  EXPECT_EQ(config->metrics[1].goal, Goal::kMinimize);
  ASSERT_TRUE(config->early_terminate.has_value());
  EXPECT_EQ(config->early_terminate->min_iter, 1);
  EXPECT_EQ(config->early_terminate->eta, 2);
  EXPECT_EQ(config->run_cap, 12);
}

// Each bad sweep names the file, the line and what is wrong.
struct BadCase {
  const char* yaml;
  const char* message;
};

constexpr BadCase kBadCases[] = {
    {"method: grid\nparameters: {a: {values: [1, 2]\n", "bad.yaml:3: malformed YAML"},
    {"method: grid\nprogram: p\nparamters:\n  a: {values: [1]}\n", "bad.yaml:3: unknown key 'paramters'"},
    {"method: sideways\nprogram: p\nparameters: {a: {value: 1}}\n", "bad.yaml:1: method is 'sideways'"},
    {"method: grid\nprogram: p\nparameters:\n  a: {values: []}\n", "bad.yaml:4: parameter 'a' has an empty values list"},
    {"method: random\nprogram: p\nmetric: {name: m}\nrun_cap: 3\nparameters:\n  lr:\n    min: 0.5\n    max: 0.1\n",
     "bad.yaml:7: parameter 'lr' has an empty range"},
    {"method: random\nprogram: p\nmetric: {name: m}\nrun_cap: 3\nparameters:\n  lr: {distribution: gaussian, min: 1, max: 2}\n",
     "bad.yaml:6: parameter 'lr' has distribution 'gaussian'"},
    {"method: random\nprogram: p\nmetric: {name: m}\nrun_cap: 3\nparameters:\n  lr: {distribution: log_uniform_values, min: 0, max: 1}\n",
     "bad.yaml:6: parameter 'lr': log_uniform_values needs min > 0"},
    {"method: random\nprogram: p\nmetric: {name: m}\nrun_cap: 3\nparameters:\n  w: {distribution: normal, mu: 0, sigma: -1}\n",
     "bad.yaml:6: parameter 'w' sigma is -1"},
    {"method: random\nprogram: p\nmetric: {name: m}\nrun_cap: 3\nparameters:\n  a: {values: [1, 2], min: 0}\n",
     "bad.yaml:6: parameter 'a': 'min' does not apply to distribution categorical"},
    {"method: grid\nprogram: p\nparameters:\n  lr: {min: 0.1, max: 0.5}\n",
     "bad.yaml:4: grid cannot enumerate parameter 'lr'"},
    {"method: bayes\nprogram: p\nparameters:\n  a: {values: [1, 2]}\n", "bad.yaml:1: method bayes needs a 'metric'"},
    {"method: grid\nprogram: p\nmetric: {name: m, goal: up}\nparameters: {a: {value: 1}}\n",
     "bad.yaml:3: metric goal is 'up'"},
    {"method: grid\nprogram: p\nmetric: {name: m}\nearly_terminate: {type: median}\nparameters: {a: {value: 1}}\n",
     "bad.yaml:4: early_terminate type is 'median'"},
    {"method: grid\nparameters: {a: {value: 1}}\n", "bad.yaml:1: the sweep has no 'program'"},
    {"method: grid\nprogram: p\nrun_cap: 0\nparameters: {a: {value: 1}}\n", "bad.yaml:3: run_cap must be at least 1"},
};

TEST(ParseSweepConfigTest, BadSweepsNameFileLineAndProblem) {
  for (const BadCase& bad : kBadCases) {
    SCOPED_TRACE(bad.yaml);
    EXPECT_THAT(ParseSweepConfig(bad.yaml, "bad.yaml"),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(bad.message)));
  }
}

}  // namespace
}  // namespace edgecompress::sweep
