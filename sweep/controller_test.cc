#include "sweep/controller.h"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sweep/config.h"
#include "sweep/local_launcher.h"
#include "sweep/search.h"
#include "sweep/store.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string FakeTrial() {
  return absl::StrCat(std::getenv("TEST_SRCDIR"), "/edgecompress/sweep/testdata/fake_trial.sh");
}

std::string FreshDir(const std::string& name) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  EXPECT_EQ(std::system(absl::StrCat("rm -rf '", dir, "' && mkdir -p '", dir, "'").c_str()), 0);
  return dir;
}

int CountLines(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  int n = 0;
  while (std::getline(file, line)) ++n;
  return n;
}

ControllerOptions Options(const std::string& dir, int workers) {
  ControllerOptions options;
  options.sweep_dir = dir;
  options.program = FakeTrial();
  options.workers = workers;
  options.poll_interval_s = 0.01;
  options.wall_time_s = [] {
    return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  };
  options.sleep_s = [](double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); };
  return options;
}

SweepConfig Parse(const std::string& yaml) {
  absl::StatusOr<SweepConfig> config = ParseSweepConfig(yaml, "test.yaml");
  EXPECT_THAT(config, IsOk());
  return *config;
}

TEST(ControllerTest, GridRunsEveryPointOnceWithTwoWorkers) {
  const std::string dir = FreshDir("grid");
  const SweepConfig config = Parse(R"(program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  x: {values: [1, 2, 3, 4, 5]}
)");
  absl::StatusOr<SweepStore> store = SweepStore::Open(dir + "/sweep.db");
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::unique_ptr<GridSearch>> search = GridSearch::Create(config);
  ASSERT_THAT(search, IsOk());
  LocalLauncher launcher({});
  int progress_calls = 0;
  ControllerOptions options = Options(dir, 2);
  options.on_progress = [&](const SweepProgress& p) {
    ++progress_calls;
    EXPECT_EQ(p.total, 5);
    EXPECT_LE(p.running, 2);
  };
  ASSERT_THAT(RunSweep(config, **search, launcher, *store, options), IsOk());
  absl::StatusOr<std::vector<Trial>> trials = store->Trials();
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 5u);
  for (const Trial& trial : *trials) {
    SCOPED_TRACE(trial.id);
    EXPECT_EQ(trial.state, TrialState::kFinished) << trial.error;
    EXPECT_EQ(trial.exit_code, 0);
    const double x = std::stod(trial.assignment[0].second);
    EXPECT_DOUBLE_EQ(trial.metrics.at("after.score"), 10 - (x - 3) * (x - 3));
    // The log holds the trial's output: three iteration lines.
    EXPECT_EQ(CountLines(absl::StrCat(dir, "/trials/", trial.id, "/log.txt")), 3);
    EXPECT_THAT(trial.history, ElementsAre(testing::_, testing::_, testing::_));
  }
  EXPECT_EQ(progress_calls, 5);
  const Trial* best = BestTrial(*trials, config.metrics);
  ASSERT_NE(best, nullptr);
  EXPECT_EQ(best->assignment[0].second, "3");
}

TEST(ControllerTest, FailedRuinedAndTimedOutTrialsAreRecordedNotFatal) {
  const std::string dir = FreshDir("failures");
  const SweepConfig config = Parse(R"(program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  mode: {values: [ok, fail, ruin, hang, noresult]}
  x: {value: 2}
)");
  absl::StatusOr<SweepStore> store = SweepStore::Open(dir + "/sweep.db");
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::unique_ptr<GridSearch>> search = GridSearch::Create(config);
  ASSERT_THAT(search, IsOk());
  LocalLauncher launcher({.timeout_s = 1.0, .kill_grace_s = 1.0});
  ASSERT_THAT(RunSweep(config, **search, launcher, *store, Options(dir, 2)), IsOk());
  absl::StatusOr<std::vector<Trial>> trials = store->Trials();
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 5u);
  EXPECT_EQ((*trials)[0].state, TrialState::kFinished);
  EXPECT_EQ((*trials)[1].state, TrialState::kFailed);
  EXPECT_EQ((*trials)[1].exit_code, 3);
  EXPECT_THAT((*trials)[1].error, HasSubstr("exit code 3: fake_trial: training failed"));
  EXPECT_EQ((*trials)[2].state, TrialState::kRuined);
  EXPECT_EQ((*trials)[2].metrics.at("after.score"), 9);
  EXPECT_EQ((*trials)[3].state, TrialState::kTimedOut);
  EXPECT_EQ((*trials)[3].exit_code, 128 + 15);  // SIGTERM reached the shell's group
  EXPECT_EQ((*trials)[4].state, TrialState::kFailed);
  EXPECT_THAT((*trials)[4].error, HasSubstr("wrote no result"));
}

TEST(ControllerTest, MetricFromAParameterWhenTheResultLacksIt) {
  const std::string dir = FreshDir("parameter_metric");
  const SweepConfig config = Parse(R"(program: fake
method: grid
metric: [{name: after.score, goal: maximize}, {name: iterations, goal: minimize}]
parameters:
  iterations: {values: [1, 2]}
)");
  absl::StatusOr<SweepStore> store = SweepStore::Open(dir + "/sweep.db");
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::unique_ptr<GridSearch>> search = GridSearch::Create(config);
  LocalLauncher launcher({});
  ASSERT_THAT(RunSweep(config, **search, launcher, *store, Options(dir, 1)), IsOk());
  absl::StatusOr<std::vector<Trial>> trials = store->Trials();
  ASSERT_THAT(trials, IsOk());
  EXPECT_EQ((*trials)[1].metrics.at("iterations"), 2);
}

TEST(ControllerTest, ResumeRerunsInterruptedTrialsAndNeverFinishedOnes) {
  const std::string dir = FreshDir("resume");
  const std::string invocations = dir + "/invocations.txt";
  setenv("FAKE_TRIAL_INVOCATIONS", invocations.c_str(), 1);
  const SweepConfig config = Parse(R"(program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  x: {values: [1, 2, 3, 4]}
)");
  {
    // The state a controller killed during trial 1 leaves: trial 0 finished,
    // trial 1 "running".
    absl::StatusOr<SweepStore> store = SweepStore::Open(dir + "/sweep.db");
    ASSERT_THAT(store, IsOk());
    Trial finished{.id = 0, .assignment = {{"x", "1"}}, .state = TrialState::kFinished, .exit_code = 0,
                   .metrics = {{"after.score", 6}}};
    Trial interrupted{.id = 1, .assignment = {{"x", "2"}}, .state = TrialState::kRunning};
    ASSERT_THAT(store->Put(finished), IsOk());
    ASSERT_THAT(store->Put(interrupted), IsOk());
  }
  absl::StatusOr<SweepStore> store = SweepStore::Open(dir + "/sweep.db");
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::unique_ptr<GridSearch>> search = GridSearch::Create(config);
  LocalLauncher launcher({});
  ASSERT_THAT(RunSweep(config, **search, launcher, *store, Options(dir, 2)), IsOk());
  unsetenv("FAKE_TRIAL_INVOCATIONS");
  absl::StatusOr<std::vector<Trial>> trials = store->Trials();
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 4u);
  for (const Trial& trial : *trials) EXPECT_EQ(trial.state, TrialState::kFinished) << trial.id;
  EXPECT_EQ((*trials)[1].assignment[0].second, "2");
  // x=2, 3 and 4 ran; x=1 was finished and did not run again.
  EXPECT_EQ(CountLines(invocations), 3);
}

TEST(ControllerTest, HyperbandStopsTrialsBehindTheirBand) {
  const std::string dir = FreshDir("hyperband");
  // Sequential trials x = 3, 2, 0 (scores climb to 10, 9, 1). With eta 2
  // the threshold at a band is the value ranked floor(n / 2) best first: with
  // three trials the second best, so x = 0 stops at its first band.
  const SweepConfig config = Parse(R"(program: fake
method: grid
metric: {name: score, goal: maximize}
early_terminate: {type: hyperband, min_iter: 1, eta: 2}
parameters:
  x: {values: [3, 2, 0]}
  iterations: {value: 6}
  sleep_s: {value: 0.25}
)");
  absl::StatusOr<SweepStore> store = SweepStore::Open(dir + "/sweep.db");
  ASSERT_THAT(store, IsOk());
  absl::StatusOr<std::unique_ptr<GridSearch>> search = GridSearch::Create(config);
  LocalLauncher launcher({});
  ASSERT_THAT(RunSweep(config, **search, launcher, *store, Options(dir, 1)), IsOk());
  absl::StatusOr<std::vector<Trial>> trials = store->Trials();
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 3u);
  EXPECT_EQ((*trials)[0].state, TrialState::kFinished);
  EXPECT_EQ((*trials)[1].state, TrialState::kFinished);
  EXPECT_EQ((*trials)[2].state, TrialState::kStopped);
  EXPECT_LT((*trials)[2].history.size(), 6u);
  EXPECT_EQ((*trials)[2].metrics.at("score"), (*trials)[2].history.back());
}

TEST(ExpandCommandTest, MacrosExpandAndUnknownOnesAreErrors) {
  EXPECT_THAT(ExpandCommand({"${program}", "${args}", "--out=${out}", "${args_no_hyphens}"}, "/bin/p",
                            {{"a", "1"}, {"b", "x"}}, "/s/trials/3"),
              IsOkAndHolds(ElementsAre("/bin/p", "--a=1", "--b=x", "--out=/s/trials/3/result.json",
                                       "a=1", "b=x")));
  EXPECT_THAT(ExpandCommand({"${interpreter}"}, "p", {}, "/t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("${interpreter}")));
}

}  // namespace
}  // namespace edgecompress::sweep
