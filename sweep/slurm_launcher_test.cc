#include "sweep/slurm_launcher.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::sweep {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

std::string Read(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

void Write(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

// Shims of sbatch, squeue and scancel in a folder put first in PATH. sbatch
// records its arguments and runs every array task at once, synchronously
// (unless `vanish` exists: then the tasks "die" without running), and
// prints job id 4242; squeue prints the file `queue`; scancel records its
// arguments.
class SlurmLauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = absl::StrCat(::testing::TempDir(), "/slurm_", ::testing::UnitTest::GetInstance()
                                                              ->current_test_info()
                                                              ->name());
    shims_ = root_ + "/bin";
    ASSERT_EQ(system(absl::StrCat("rm -rf ", root_, " && mkdir -p ", shims_).c_str()), 0);
    Write(shims_ + "/sbatch", absl::StrCat(R"(#!/bin/sh
echo "$@" > )", root_, R"(/sbatch.args
[ -e )", root_, R"(/sbatch_fail ] && { echo "sbatch: error: invalid partition specified: gpu" >&2; exit 1; }
for arg; do script="$arg"; case "$arg" in --array=0-*) last="${arg#--array=0-}";; esac; done
if [ ! -e )", root_, R"(/vanish ]; then
  i=0; while [ "$i" -le "$last" ]; do SLURM_ARRAY_TASK_ID=$i sh "$script"; i=$((i + 1)); done
fi
echo "4242;cluster"
)"), 0755);
    Write(shims_ + "/squeue", absl::StrCat("#!/bin/sh\ncat ", root_, "/queue 2>/dev/null\nexit 0\n"),
          0755);
    Write(shims_ + "/scancel", absl::StrCat("#!/bin/sh\necho \"$@\" >> ", root_, "/scancel.args\n"),
          0755);
    old_path_ = getenv("PATH");
    setenv("PATH", (shims_ + ":" + old_path_).c_str(), 1);
  }
  void TearDown() override { setenv("PATH", old_path_.c_str(), 1); }

  TrialLaunch Launch(int64_t id, std::vector<std::string> argv) {
    const std::string dir = absl::StrCat(root_, "/trials/", id);
    EXPECT_EQ(system(absl::StrCat("mkdir -p ", dir).c_str()), 0);
    return {id, std::move(argv), dir, dir + "/log"};
  }

  std::string root_, shims_, old_path_;
  double now_ = 0;
};

TEST_F(SlurmLauncherTest, RunsAJobArrayAndCollectsExitCodes) {
  SlurmLauncher launcher({.timeout_s = 90, .sbatch_args = {"--partition=debug"},
                          .now_s = [this] { return now_; }});
  ASSERT_THAT(launcher.Start(Launch(7, {"/bin/sh", "-c", "echo \"it's $0\"; exit 3", "a b"})),
              IsOk());
  ASSERT_THAT(launcher.Start(Launch(8, {"true"})), IsOk());
  ASSERT_THAT(launcher.Flush(), IsOk());
  EXPECT_THAT(Read(root_ + "/sbatch.args"),
              HasSubstr("--parsable --array=0-1 --job-name=sweep --output=/dev/null --time=2 "
                        "--partition=debug"));
  EXPECT_EQ(Read(root_ + "/trials/7/slurm_job"), "4242_0\n");
  EXPECT_EQ(Read(root_ + "/trials/8/slurm_job"), "4242_1\n");

  absl::StatusOr<std::vector<TrialExit>> exits = launcher.Poll();
  ASSERT_THAT(exits, IsOk());
  std::vector<std::pair<int64_t, int>> codes;
  for (const TrialExit& e : *exits) codes.emplace_back(e.trial_id, e.exit_code);
  EXPECT_THAT(codes, UnorderedElementsAre(std::pair<int64_t, int>{7, 3},
                                          std::pair<int64_t, int>{8, 0}));
  EXPECT_EQ(Read(root_ + "/trials/7/log"), "it's a b\n");
  EXPECT_THAT(*launcher.Poll(), ::testing::IsEmpty());  // each exit once
}

TEST_F(SlurmLauncherTest, SbatchFailureIsOneLine) {
  Write(root_ + "/sbatch_fail", "");
  SlurmLauncher launcher({.now_s = [this] { return now_; }});
  ASSERT_THAT(launcher.Start(Launch(1, {"true"})), IsOk());
  const absl::Status flushed = launcher.Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(flushed.message(),
            "sbatch failed (exit 1): sbatch: error: invalid partition specified: gpu");
}

// Tasks that leave the queue without an exit_code (SLURM's time limit,
// a node failure) end with 137 after the grace period; as timed out when the
// trial's timeout had passed.
TEST_F(SlurmLauncherTest, VanishedTasksEndAfterTheGrace) {
  Write(root_ + "/vanish", "");
  Write(root_ + "/queue", "4242_0|PENDING|Resources\n4242_1|RUNNING|None\n");
  SlurmLauncher launcher({.timeout_s = 60, .queue_poll_interval_s = 0, .vanish_grace_s = 5,
                          .now_s = [this] { return now_; }});
  ASSERT_THAT(launcher.Start(Launch(1, {"true"})), IsOk());
  ASSERT_THAT(launcher.Start(Launch(2, {"true"})), IsOk());
  ASSERT_THAT(launcher.Flush(), IsOk());
  now_ = 1;
  EXPECT_THAT(*launcher.Poll(), ::testing::IsEmpty());  // both queued
  Write(root_ + "/queue", "4242_1|RUNNING|None\n");
  now_ = 2;
  EXPECT_THAT(*launcher.Poll(), ::testing::IsEmpty());  // 4242_0 gone: grace starts
  now_ = 8;
  absl::StatusOr<std::vector<TrialExit>> exits = launcher.Poll();
  ASSERT_THAT(exits, IsOk());
  ASSERT_EQ(exits->size(), 1u);
  EXPECT_EQ((*exits)[0].trial_id, 1);
  EXPECT_EQ((*exits)[0].exit_code, 137);
  EXPECT_FALSE((*exits)[0].timed_out);
  Write(root_ + "/queue", "");
  now_ = 70;
  EXPECT_THAT(*launcher.Poll(), ::testing::IsEmpty());
  now_ = 76;
  exits = launcher.Poll();
  ASSERT_EQ(exits->size(), 1u);
  EXPECT_EQ((*exits)[0].trial_id, 2);
  EXPECT_TRUE((*exits)[0].timed_out);
}

// SLURM holds a task it could not launch forever; the launcher cancels it
// and fails the trial with 126 and the reason in its log.
TEST_F(SlurmLauncherTest, TasksSlurmCannotLaunchFail) {
  Write(root_ + "/vanish", "");
  Write(root_ + "/queue", "4242_0|PENDING|launch failed requeued held\n");
  SlurmLauncher launcher({.queue_poll_interval_s = 0, .now_s = [this] { return now_; }});
  ASSERT_THAT(launcher.Start(Launch(5, {"true"})), IsOk());
  ASSERT_THAT(launcher.Flush(), IsOk());
  absl::StatusOr<std::vector<TrialExit>> exits = launcher.Poll();
  ASSERT_THAT(exits, IsOk());
  ASSERT_EQ(exits->size(), 1u);
  EXPECT_EQ((*exits)[0].exit_code, 126);
  EXPECT_EQ(Read(root_ + "/scancel.args"), "4242_0\n");
  EXPECT_THAT(Read(root_ + "/trials/5/log"), HasSubstr("launch failed requeued held"));
}

TEST_F(SlurmLauncherTest, StopCancelsAndARestartCancelsTheEarlierTask) {
  Write(root_ + "/vanish", "");
  Write(root_ + "/queue", "4242_0|RUNNING|None\n");
  SlurmLauncher launcher({.now_s = [this] { return now_; }});
  EXPECT_EQ(launcher.Stop(3).code(), absl::StatusCode::kNotFound);
  const TrialLaunch launch = Launch(3, {"true"});
  ASSERT_THAT(launcher.Start(launch), IsOk());
  ASSERT_THAT(launcher.Flush(), IsOk());
  ASSERT_THAT(launcher.Stop(3), IsOk());
  EXPECT_EQ(Read(root_ + "/scancel.args"), "4242_0\n");

  // `sweep resume` after a killed controller starts trial 3 again.
  SlurmLauncher resumed({.now_s = [this] { return now_; }});
  ASSERT_THAT(resumed.Start(launch), IsOk());
  EXPECT_EQ(Read(root_ + "/scancel.args"), "4242_0\n4242_0\n");
}

TEST(ShellQuoteTest, QuotesEverything) {
  EXPECT_EQ(ShellQuote("plain"), "'plain'");
  EXPECT_EQ(ShellQuote("it's $HOME"), "'it'\\''s $HOME'");
  EXPECT_EQ(ShellQuote(""), "''");
}

}  // namespace
}  // namespace edgecompress::sweep
