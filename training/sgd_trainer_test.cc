#include "training/sgd_trainer.h"

#include <torch/torch.h>

#include <cmath>
#include <cstdio>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet.h"

namespace edgecompress::training {
namespace {

using ::testing::HasSubstr;

// A learnable toy task: class c images are bright in row band c (of 4)
// plus noise. LeNet should solve it almost perfectly in two epochs.
ImageDataset BandImages(int64_t size, uint64_t seed) {
  ImageDataset data{.size = size, .channels = 1, .height = 28, .width = 28, .num_classes = 4};
  data.pixels.resize(size * 28 * 28);
  data.labels.resize(size);
  uint64_t state = seed;
  const auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  for (int64_t i = 0; i < size; ++i) {
    const int label = static_cast<int>(next() % 4);
    data.labels[i] = static_cast<uint8_t>(label);
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const bool bright = y / 7 == label;
        data.pixels[(i * 28 + y) * 28 + x] = static_cast<uint8_t>((bright ? 160 : 0) + next() % 64);
      }
    }
  }
  return data;
}

ProgressBar QuietProgress() { return ProgressBar(stderr, /*interactive=*/false); }

TEST(SgdTrainerTest, LearnsASeparableTask) {
  torch::manual_seed(1);
  LeNet5 model(/*num_classes=*/4);
  const TensorDataset train = ToTensorDataset(BandImages(512, 7), 0.3f, 0.3f);
  const TensorDataset test = ToTensorDataset(BandImages(256, 8), 0.3f, 0.3f);
  ProgressBar progress = QuietProgress();
  int callbacks = 0;
  absl::StatusOr<std::vector<EpochStats>> history =
      TrainSgd(model, train, {.epochs = 2, .batch_size = 32, .learning_rate = 0.02}, progress,
               [&callbacks](const EpochStats&) { ++callbacks; });
  ASSERT_THAT(history, IsOk());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ(callbacks, 2);
  EXPECT_LT(history->back().train_loss, history->front().train_loss);
  const EvalStats eval = Evaluate(model, test, /*batch_size=*/100);
  EXPECT_EQ(eval.count, 256);
  EXPECT_GT(eval.top1, 95.0);
}

// Same seeds, same weights: a run is reproducible bit for bit on one thread.
TEST(SgdTrainerTest, IsDeterministicForASeed) {
  const TensorDataset train = ToTensorDataset(BandImages(128, 3), 0.3f, 0.3f);
  torch::Tensor first_weights;
  for (int run = 0; run < 2; ++run) {
    torch::manual_seed(5);
    LeNet5 model(4);
    ProgressBar progress = QuietProgress();
    ASSERT_THAT(TrainSgd(model, train, {.epochs = 1, .batch_size = 16, .seed = 9}, progress),
                IsOk());
    const torch::Tensor weights = model.parameters()[0].detach().clone();
    if (run == 0) {
      first_weights = weights;
    } else {
      EXPECT_TRUE(torch::equal(first_weights, weights));
    }
  }
}

TEST(SgdTrainerTest, StopsWhenTheLossIsNotFinite) {
  LeNet5 model(4);
  TensorDataset train = ToTensorDataset(BandImages(64, 1), 0.3f, 0.3f);
  train.images[0][0][0][0] = std::nanf("");
  ProgressBar progress = QuietProgress();
  EXPECT_THAT(TrainSgd(model, train, {.epochs = 3, .batch_size = 64}, progress),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("diverged")));
}

TEST(SgdTrainerTest, RejectsBadOptions) {
  LeNet5 model(4);
  const TensorDataset train = ToTensorDataset(BandImages(8, 1), 0.3f, 0.3f);
  ProgressBar progress = QuietProgress();
  EXPECT_THAT(TrainSgd(model, train, {.epochs = 0}, progress),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(TrainSgd(model, train, {.learning_rate = -1}, progress),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::training
