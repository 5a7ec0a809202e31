#include "sweep/store.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

std::string TempPath(const std::string& name) {
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::remove(path.c_str());
  return path;
}

TEST(SweepStoreTest, TrialsAndMetaSurviveReopening) {
  const std::string path = TempPath("state.db");
  Trial trial{.id = 0, .assignment = {{"epochs", "10"}, {"sparsity", "0.95"}},
              .state = TrialState::kStopped, .exit_code = 143,
              .metrics = {{"after.test_top1", 87.25}}, .error = "stopped early by hyperband",
              .start_time_s = 100.5, .end_time_s = 130.25, .history = {80.5, 85, 87.25}};
  {
    absl::StatusOr<SweepStore> store = SweepStore::Open(path);
    ASSERT_THAT(store, IsOk());
    ASSERT_THAT(store->SetMeta("config", "method: grid\n"), IsOk());
    ASSERT_THAT(store->Put(trial), IsOk());
    trial.id = 1;
    trial.state = TrialState::kRunning;
    ASSERT_THAT(store->Put(trial), IsOk());
  }
  absl::StatusOr<SweepStore> store = SweepStore::Open(path);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT(store->Meta("config"), IsOkAndHolds(Optional(std::string("method: grid\n"))));
  EXPECT_THAT(store->Meta("nothing"), IsOkAndHolds(std::nullopt));
  absl::StatusOr<std::vector<Trial>> trials = store->Trials();
  ASSERT_THAT(trials, IsOk());
  ASSERT_EQ(trials->size(), 2u);
  const Trial& back = (*trials)[0];
  EXPECT_EQ(back.assignment, trial.assignment);
  EXPECT_EQ(back.state, TrialState::kStopped);
  EXPECT_EQ(back.exit_code, 143);
  EXPECT_EQ(back.metrics, trial.metrics);
  EXPECT_EQ(back.error, trial.error);
  EXPECT_EQ(back.end_time_s, 130.25);
  EXPECT_EQ(back.history, trial.history);
  EXPECT_EQ((*trials)[1].state, TrialState::kRunning);
}

TEST(SweepStoreTest, NotADatabaseIsDataLossNamingTheFile) {
  const std::string path = TempPath("garbage.db");
  std::ofstream(path) << std::string(4096, 'x');
  absl::StatusOr<SweepStore> store = SweepStore::Open(path);
  EXPECT_THAT(store, StatusIs(absl::StatusCode::kDataLoss, HasSubstr("garbage.db")));
}

}  // namespace
}  // namespace edgecompress::sweep
