#include "pruning/acdc_pruning_callback.h"

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
using ::testing::Lt;

const std::vector<std::string> kPrunable = {"conv2.weight", "fc1.weight", "fc2.weight"};

// Warm-up epoch 0, compressed 1, decompressed 2-3, fine-tuning 4 on:
// B = 1, p = 1, F = 4 (acdc_schedule.h: K = 0, since B + 3p = 4 is not < F).
constexpr AcDcScheduleOptions kSchedule = {
    .sparsity = 0.8, .begin_step = 1, .phase_steps = 1, .fine_tune_step = 4};

TEST(AcDcPruningCallbackTest, AlternatesDenseAndSparseEpochs) {
  at::set_num_threads(1);
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<MaskedParameters> masked = MaskedParameters::Create(model, kPrunable);
  ASSERT_THAT(masked, IsOk());
  const training::TensorDataset data = {torch::randn({128, 1, 28, 28}),
                                        torch::randint(0, 10, {128})};
  training::TrainerOptions options;
  options.epochs = 6;
  options.lr_schedule.base_learning_rate = 0.05;
  options.ruined_chance_factor = 0.0;
  absl::StatusOr<std::unique_ptr<training::Trainer>> trainer =
      training::Trainer::Create(model, options);
  ASSERT_THAT(trainer, IsOk());
  absl::StatusOr<std::unique_ptr<AcDcPruningCallback>> callback = AcDcPruningCallback::Create(
      *std::move(masked), {.schedule = kSchedule, .global = false}, &(*trainer)->optimizer());
  ASSERT_THAT(callback, IsOk());
  training::InMemoryBatchSource batches(data, 32, 1);
  training::ProgressBar quiet(stderr, false);
  training::TrainingCallback* callbacks[] = {callback->get()};
  absl::StatusOr<training::TrainResult> result =
      (*trainer)->Fit(batches, nullptr, callbacks, nullptr, quiet);
  ASSERT_THAT(result, IsOk());

  constexpr double kCompressed[] = {0, 1, 0, 0, 1, 1};
  for (int epoch = 0; epoch < 6; ++epoch) {
    SCOPED_TRACE(epoch);
    const training::MetricValues& row = result->history[epoch];
    EXPECT_EQ(row.at("acdc_compressed"), kCompressed[epoch]);
    EXPECT_EQ(row.at("target_sparsity"), 0.8 * kCompressed[epoch]);
    if (kCompressed[epoch] == 1) {
      EXPECT_THAT(row.at("sparsity"), DoubleNear(0.8, 1e-3));  // floor per layer
    } else {
      // Dense phases: the pruned weights train again from 0, except those
      // whose gradient is 0 on every batch (inputs that a ReLU silences for
      // all 128 random images, about a quarter here).
      EXPECT_THAT(row.at("sparsity"), Lt(0.4));
    }
  }
  for (const ParameterSparsity& p : (*callback)->masked().Sparsity()) {
    EXPECT_EQ(p.zeros, PrunedCount(p.size, 0.8)) << p.name;
  }
}

// The optimizer forgets the selected parameters at the first epoch of a
// decompressed phase only: not mid-phase (a resumed run keeps the momentum
// it built), not when masks are applied, and never for other parameters.
TEST(AcDcPruningCallbackTest, ResetsMomentumWhereDecompressedPhasesBegin) {
  torch::manual_seed(0);
  training::LeNet5 model;
  torch::optim::SGD sgd(model.parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  const auto step = [&] {
    sgd.zero_grad();
    torch::nn::functional::cross_entropy(model.forward(torch::randn({4, 1, 28, 28})),
                                         torch::randint(0, 10, {4}))
        .backward();
    sgd.step();
  };
  const size_t all = model.parameters().size();
  std::unique_ptr<AcDcPruningCallback> callback;
  const auto states_after_epoch_begin = [&](int epoch, bool fresh_callback) -> size_t {
    if (fresh_callback) {
      callback = *AcDcPruningCallback::Create(*MaskedParameters::Create(model, kPrunable),
                                              {.schedule = kSchedule}, &sgd);
    }
    step();  // every parameter has momentum again
    EXPECT_THAT(callback->OnEpochBegin(epoch, 1), IsOk());
    return sgd.state().size();
  };
  EXPECT_EQ(states_after_epoch_begin(0, true), all);   // warm-up
  EXPECT_EQ(states_after_epoch_begin(1, false), all);  // compressed
  EXPECT_EQ(states_after_epoch_begin(2, false), all - kPrunable.size());
  EXPECT_EQ(states_after_epoch_begin(3, false), all);  // same decompressed phase
  EXPECT_EQ(states_after_epoch_begin(4, false), all);  // fine-tuning
  // Resumed at epoch 3, inside the decompressed phase: no reset.
  EXPECT_EQ(states_after_epoch_begin(3, true), all);
}

TEST(AcDcPruningCallbackTest, RejectsABadSchedule) {
  training::LeNet5 model;
  EXPECT_THAT(AcDcPruningCallback::Create(*MaskedParameters::Create(model, kPrunable),
                                          {.schedule = {.sparsity = 1.0}}, nullptr),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::pruning
