#include "pruning/gradual_pruning_callback.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruning/magnitude.h"
#include "tools/status/status_macros.h"
#include "tools/status/status_matchers.h"
#include "training/batch_source.h"
#include "training/models/lenet.h"
#include "training/trainer.h"

namespace edgecompress::pruning {
namespace {

using ::testing::DoubleNear;

const std::vector<std::string> kPrunable = {"conv2.weight", "fc1.weight", "fc2.weight"};

absl::StatusOr<training::TrainResult> TrainWithPruning(training::LeNet5& model,
                                                       GradualPruningCallback& callback,
                                                       int epochs) {
  torch::manual_seed(3);
  const training::TensorDataset data = {torch::randn({128, 1, 28, 28}),
                                        torch::randint(0, 10, {128})};
  training::TrainerOptions options;
  options.epochs = epochs;
  options.lr_schedule.base_learning_rate = 0.05;
  options.ruined_chance_factor = 0.0;
  ASSIGN_OR_RETURN(std::unique_ptr<training::Trainer> trainer,
                   training::Trainer::Create(model, options));
  training::InMemoryBatchSource batches(data, 32, 1);  // 4 steps per epoch
  training::ProgressBar quiet(stderr, false);
  training::TrainingCallback* callbacks[] = {&callback};
  return trainer->Fit(batches, nullptr, callbacks, nullptr, quiet);
}

// GMP 0.2 -> 0.8 over epochs 1..3, updated every epoch, 4 steps per epoch:
// updates at steps 4, 8, 12 with targets 0.2, 0.8 - 0.6 * 0.5^3 = 0.725, 0.8.
// Each epoch ends at the target of its last update, masks held in between
// despite momentum, and the final sparsity is held through epoch 4.
TEST(GradualPruningCallbackTest, FollowsTheCubicScheduleAndHoldsMasks) {
  at::set_num_threads(1);
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  absl::StatusOr<std::unique_ptr<GradualPruningCallback>> callback =
      GradualPruningCallback::Create(*std::move(masked),
                                     {.initial_sparsity = 0.2, .final_sparsity = 0.8,
                                      .start_epoch = 1, .end_epoch = 3, .update_frequency = 1});
  ASSERT_THAT(callback, IsOk());
  absl::StatusOr<training::TrainResult> result = TrainWithPruning(model, **callback, 5);
  ASSERT_THAT(result, IsOk());
  constexpr double kExpected[] = {0.0, 0.2, 0.725, 0.8, 0.8};
  for (int epoch = 0; epoch < 5; ++epoch) {
    SCOPED_TRACE(epoch);
    EXPECT_THAT(result->history[epoch].at("target_sparsity"), DoubleNear(kExpected[epoch], 1e-12));
    // Measured sparsity is exact per layer (floor), so within 1/size of it.
    EXPECT_THAT(result->history[epoch].at("sparsity"), DoubleNear(kExpected[epoch], 1e-3));
  }
  for (const ParameterSparsity& p : (*callback)->masked().Sparsity()) {
    EXPECT_EQ(p.zeros, PrunedCount(p.size, 0.8)) << p.name;
  }
}

TEST(GradualPruningCallbackTest, GlobalPruningReachesTheTotal) {
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  absl::StatusOr<std::unique_ptr<GradualPruningCallback>> callback = GradualPruningCallback::Create(
      *std::move(masked), {.initial_sparsity = 0.9, .final_sparsity = 0.9, .start_epoch = 0,
                           .end_epoch = 0, .global = true});
  ASSERT_THAT(callback, IsOk());
  ASSERT_THAT(TrainWithPruning(model, **callback, 1), IsOk());
  int64_t zeros = 0;
  for (const ParameterSparsity& p : (*callback)->masked().Sparsity()) zeros += p.zeros;
  EXPECT_EQ(zeros, PrunedCount(2400 + 48000 + 10080, 0.9));
}

TEST(GradualPruningCallbackTest, TargetForPlotting) {
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  absl::StatusOr<std::unique_ptr<GradualPruningCallback>> callback = GradualPruningCallback::Create(
      *std::move(masked), {.initial_sparsity = 0.05, .final_sparsity = 0.95, .start_epoch = 0,
                           .end_epoch = 40});
  ASSERT_THAT(callback, IsOk());
  // The ResNet-50 study's recipe halfway: 0.95 - 0.9 * 0.5^3 = 0.8375.
  EXPECT_THAT((*callback)->TargetSparsityAtEpoch(20), DoubleNear(0.8375, 1e-12));
  EXPECT_EQ((*callback)->TargetSparsityAtEpoch(60), 0.95);
}

TEST(GradualPruningCallbackTest, RejectsBadOptions) {
  training::LeNet5 model;
  const auto make = [&](const GradualPruningOptions& options) {
    return GradualPruningCallback::Create(*MaskedParameters::Create(model, kPrunable), options);
  };
  EXPECT_THAT(make({.final_sparsity = 1.0}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make({.start_epoch = 3, .end_epoch = 2}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make({.update_frequency = 0}), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::pruning
