// The data and options shared by data_parallel_test and its worker.
#ifndef EDGECOMPRESS_TRAINING_DATA_PARALLEL_TEST_DATA_H_
#define EDGECOMPRESS_TRAINING_DATA_PARALLEL_TEST_DATA_H_

#include <torch/torch.h>

#include "training/batch_source.h"
#include "training/trainer.h"

namespace edgecompress::training {

inline constexpr int64_t kDataParallelTestGlobalBatch = 32;
inline constexpr uint64_t kDataParallelTestSeed = 7;

// 256 random images and labels: 8 whole global batches per epoch.
inline TensorDataset DataParallelTestData() {
  torch::manual_seed(2024);
  return {torch::randn({256, 1, 28, 28}), torch::randint(0, 10, {256})};
}

inline TrainerOptions DataParallelTestOptions() {
  TrainerOptions options;
  options.epochs = 2;
  options.lr_schedule.base_learning_rate = 0.05;
  options.ruined_chance_factor = 0.0;  // random labels: accuracy is not the point
  return options;
}

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_PARALLEL_TEST_DATA_H_
