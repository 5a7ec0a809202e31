#include "tools/sweep/report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgecompress::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

sweep::SweepConfig TwoMetrics() {
  sweep::SweepConfig config;
  config.metrics = {{"acc", sweep::Goal::kMaximize}, {"latency_ms", sweep::Goal::kMinimize}};
  config.parameters = {{.name = "sparsity", .distribution = sweep::Distribution::kCategorical,
                        .values = {"0.9", "0.95"}}};
  return config;
}

std::vector<sweep::Trial> Trials() {
  using sweep::TrialState;
  return {
      {.id = 0, .assignment = {{"sparsity", "0.9"}}, .state = TrialState::kFinished, .exit_code = 0,
       .metrics = {{"acc", 90}, {"latency_ms", 5}}},
      {.id = 1, .assignment = {{"sparsity", "0.95"}}, .state = TrialState::kFinished, .exit_code = 0,
       .metrics = {{"acc", 85}, {"latency_ms", 6}}},  // dominated by trial 0
      {.id = 2, .assignment = {{"sparsity", "0.95"}}, .state = TrialState::kFinished, .exit_code = 0,
       .metrics = {{"acc", 80}, {"latency_ms", 2}}},
      {.id = 3, .assignment = {{"sparsity", "0.9, odd"}}, .state = TrialState::kFailed, .exit_code = 3,
       .error = "exit code 3: \"diverged\""},
  };
}

TEST(ReportTest, ParetoFrontJsonCsvAndHtml) {
  const sweep::SweepConfig config = TwoMetrics();
  const std::vector<sweep::Trial> trials = Trials();
  EXPECT_THAT(ParetoTrialIds(config, trials), ElementsAre(0, 2));
  nlohmann::json result;
  AddResults(config, trials, result);
  EXPECT_EQ(result["best"], 0);
  EXPECT_EQ(result["trials"].size(), 4u);
  EXPECT_EQ(result["trials"][3]["state"], "failed");
  const std::string csv = ResultsCsv(config, trials);
  EXPECT_THAT(csv, HasSubstr("trial,state,exit_code,seconds,sparsity,acc,latency_ms,error\n"));
  EXPECT_THAT(csv, HasSubstr("3,failed,3,0.000,\"0.9, odd\",,,\"exit code 3: \"\"diverged\"\"\"\n"));
  const std::string html = ResultsHtml(config, trials);
  EXPECT_THAT(html, HasSubstr("Pareto front"));
  EXPECT_THAT(html, HasSubstr("<polyline"));
  // Front points are drawn red and larger: two of them.
  size_t red = 0;
  for (size_t at = html.find("r=\"6\" fill=\"#d62728\""); at != std::string::npos;
       at = html.find("r=\"6\" fill=\"#d62728\"", at + 1)) {
    ++red;
  }
  EXPECT_EQ(red, 2u);
  EXPECT_THAT(ResultsTable(config, trials), HasSubstr("best: trial 0, acc 90"));
}

}  // namespace
}  // namespace edgecompress::tools
