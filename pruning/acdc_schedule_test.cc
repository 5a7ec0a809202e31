#include "pruning/acdc_schedule.h"

#include <cstdint>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruning/schedule_contract.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

AcDcSchedule MakeSchedule(const AcDcScheduleOptions& options) {
  absl::StatusOr<AcDcSchedule> schedule = AcDcSchedule::Create(options);
  EXPECT_THAT(schedule, IsOk());
  return *schedule;
}

// One letter per step: W warm-up, C compressed, D decompressed, F fine-tune.
std::string Phases(const AcDcSchedule& schedule, int64_t steps) {
  std::string phases;
  for (int64_t step = 0; step < steps; ++step) {
    phases += "WCDF"[static_cast<int>(schedule.PhaseAt(step))];
  }
  return phases;
}

std::string Repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

std::vector<int64_t> UpdateSteps(const AcDcSchedule& schedule, int64_t steps) {
  std::vector<int64_t> updates;
  for (int64_t step = 0; step < steps; ++step) {
    if (schedule.IsUpdateStep(step)) updates.push_back(step);
  }
  return updates;
}

// The authors' ResNet-50/ImageNet schedule at 90% over 100 epochs
// (IST-DASLab/ACDC configs/neurips/iht_imagenet_resnet50_insta_cosinelr_s90_ep100.yaml):
// pruners at epochs [10, 10, 71] -> 10, 20, ..., 70 and 85; weight restores
// at [15, 10, 66] -> 15, 25, ..., 65 and 75. So: 10 dense warm-up epochs,
// six compressed/decompressed pairs of 5, compressed 70-74, a 10-epoch last
// decompressed phase 75-84, and 15 epochs of compressed fine-tuning.
TEST(AcDcScheduleTest, MatchesTheAuthorsResNet50ImageNetSchedule) {
  const AcDcSchedule schedule = MakeSchedule(
      {.sparsity = 0.9, .begin_step = 10, .phase_steps = 5, .fine_tune_step = 85});
  EXPECT_EQ(Phases(schedule, 100), std::string(10, 'W') + Repeat("CCCCCDDDDD", 6) + "CCCCC" +
                                       std::string(10, 'D') + std::string(15, 'F'));
  EXPECT_THAT(UpdateSteps(schedule, 100),
              ElementsAreArray({10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 85}));
  EXPECT_EQ(schedule.TargetSparsity(9), 0.0);
  EXPECT_EQ(schedule.TargetSparsity(10), 0.9);
  EXPECT_EQ(schedule.TargetSparsity(80), 0.0);
  EXPECT_EQ(schedule.TargetSparsity(99), 0.9);
  EXPECT_EQ(schedule.TargetSparsity(1000), 0.9);
  ExpectScheduleContract(schedule, 0, 120);
}

// WideResNet-28-10/CIFAR-100 at 90% over 200 epochs
// (configs/neurips/iht_cifar100_wideresnet_steplr_freq20_s90.yaml): pruners
// at [10, 40, 171] -> 10, 50, 90, 130, 170; restores at [30, 40, 161] -> 30,
// 70, 110, 150. Phases of 20 epochs, fine-tuning 170-199.
TEST(AcDcScheduleTest, MatchesTheAuthorsWideResNetCifar100Schedule) {
  const AcDcSchedule schedule = MakeSchedule(
      {.sparsity = 0.9, .begin_step = 10, .phase_steps = 20, .fine_tune_step = 170});
  EXPECT_EQ(Phases(schedule, 200),
            std::string(10, 'W') + Repeat(std::string(20, 'C') + std::string(20, 'D'), 4) +
                std::string(30, 'F'));
  EXPECT_THAT(UpdateSteps(schedule, 200),
              ElementsAreArray({10, 30, 50, 70, 90, 110, 130, 150, 170}));
  ExpectScheduleContract(schedule, 0, 220);
}

// When F - B is not a multiple of 2p the last decompressed phase stretches:
// B = 0, p = 5, F = 23 -> C 0-4, D 5-9, C 10-14, D 15-22 (8 steps).
TEST(AcDcScheduleTest, LastDecompressedPhaseRunsToFineTuning) {
  const AcDcSchedule schedule =
      MakeSchedule({.sparsity = 0.5, .begin_step = 0, .phase_steps = 5, .fine_tune_step = 23});
  EXPECT_EQ(Phases(schedule, 26), "CCCCCDDDDDCCCCCDDDDDDDDFFF");
  EXPECT_THAT(UpdateSteps(schedule, 26), ElementsAreArray({0, 5, 10, 15, 23}));
}

// The shortest schedule: one compressed and one decompressed phase.
TEST(AcDcScheduleTest, ShortestSchedule) {
  const AcDcSchedule schedule =
      MakeSchedule({.sparsity = 0.6, .begin_step = 2, .phase_steps = 1, .fine_tune_step = 4});
  EXPECT_EQ(Phases(schedule, 6), "WWCDFF");
  EXPECT_EQ(AcDcPhaseName(schedule.PhaseAt(3)), "decompressed");
}

TEST(AcDcScheduleTest, KeepsTheScheduleContractAcrossEdges) {
  for (double sparsity : {0.0, 0.4, 0.6, 0.9, 0.99}) {
    for (int64_t phase : {1, 2, 3, 7}) {
      for (int64_t extra : {0, 1, 2, 5, 13}) {
        SCOPED_TRACE(testing::Message() << sparsity << " " << phase << " " << extra);
        const int64_t begin = 3;
        const AcDcSchedule schedule =
            MakeSchedule({.sparsity = sparsity, .begin_step = begin, .phase_steps = phase,
                          .fine_tune_step = begin + 2 * phase + extra});
        ExpectScheduleContract(schedule, 0, begin + 4 * phase + extra + 10);
        // A compressed phase is always followed by a decompressed one before F.
        const int64_t fine_tune = schedule.options().fine_tune_step;
        EXPECT_EQ(schedule.PhaseAt(fine_tune - 1), AcDcPhase::kDecompressed);
      }
    }
  }
}

// Epochs to steps at 10 steps per epoch: the ImageNet schedule's last
// decompressed phase is steps 750-849, fine-tuning from 850.
TEST(AcDcScheduleTest, EpochsToSteps) {
  const AcDcSchedule schedule = MakeSchedule(EpochsToSteps(
      {.sparsity = 0.9, .begin_step = 10, .phase_steps = 5, .fine_tune_step = 85}, 10));
  EXPECT_EQ(schedule.PhaseAt(99), AcDcPhase::kWarmUp);
  EXPECT_EQ(schedule.PhaseAt(100), AcDcPhase::kCompressed);
  EXPECT_EQ(schedule.PhaseAt(749), AcDcPhase::kCompressed);
  EXPECT_EQ(schedule.PhaseAt(750), AcDcPhase::kDecompressed);
  EXPECT_EQ(schedule.PhaseAt(849), AcDcPhase::kDecompressed);
  EXPECT_EQ(schedule.PhaseAt(850), AcDcPhase::kFineTune);
  EXPECT_TRUE(schedule.IsUpdateStep(850));
  EXPECT_FALSE(schedule.IsUpdateStep(851));
}

TEST(AcDcScheduleTest, RejectsBadOptions) {
  EXPECT_THAT(AcDcSchedule::Create({.sparsity = 1.0, .phase_steps = 1, .fine_tune_step = 2}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[0, 1)")));
  EXPECT_THAT(AcDcSchedule::Create({.sparsity = 0.5, .begin_step = -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("begin")));
  EXPECT_THAT(AcDcSchedule::Create({.sparsity = 0.5, .phase_steps = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("at least 1")));
  EXPECT_THAT(AcDcSchedule::Create(
                  {.sparsity = 0.5, .begin_step = 10, .phase_steps = 5, .fine_tune_step = 19}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no room")));
}

}  // namespace
}  // namespace edgecompress::pruning
