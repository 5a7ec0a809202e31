// One rank of the data-parallel equivalence test (data_parallel_test.cc
// launches two of these): trains LeNet-5 on the test's random data with a
// slice of each global batch and saves the final parameters.
#include <ATen/Parallel.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "training/data_parallel.h"
#include "training/data_parallel_test_data.h"
#include "training/models/lenet.h"
#include "training/trainer.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s RANK WORLD_SIZE PORT OUT\n", argv[0]);
    return 2;
  }
  using namespace edgecompress::training;
  at::set_num_threads(1);
  const int rank = std::atoi(argv[1]), world_size = std::atoi(argv[2]);
  const TensorDataset data = DataParallelTestData();
  torch::manual_seed(100 + rank);  // different on purpose: Create() must broadcast rank 0's
  LeNet5 model;
  absl::StatusOr<std::unique_ptr<GradientAllReduce>> all_reduce = GradientAllReduce::Create(
      model, {.world_size = world_size, .rank = rank, .master_port = std::atoi(argv[3])});
  if (!all_reduce.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", rank, all_reduce.status().ToString().c_str());
    return 3;
  }
  absl::StatusOr<std::unique_ptr<ShardedBatchSource>> source = MakeShardedBatchSource(
      data, kDataParallelTestGlobalBatch, kDataParallelTestSeed, rank, world_size);
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      Trainer::Create(model, DataParallelTestOptions());
  if (!source.ok() || !trainer.ok()) return 4;
  ProgressBar progress(stderr, false);
  TrainingCallback* callbacks[] = {all_reduce->get()};
  absl::StatusOr<TrainResult> result =
      (*trainer)->Fit(**source, nullptr, callbacks, nullptr, progress);
  if (!result.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", rank, result.status().ToString().c_str());
    return 5;
  }
  torch::save(model.parameters(), argv[4]);
  return 0;
}
