// Training throughput of our loop (Trainer::Fit) on random data shaped for
// a zoo model: images per second of full SGD steps (forward, loss, backward,
// momentum step, the loop's own accuracy bookkeeping). compare.sh runs it
// beside the same model trained by PyTorch in Python.
//
//   bazel run -c opt //training/throughput:train_throughput -- --model=resnet20
//
// Prints one JSON line: {"model", "batch_size", "threads", "images_per_second"}.
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "nlohmann/json.hpp"
#include "training/batch_source.h"
#include "training/heap_reuse.h"
#include "training/models/zoo.h"
#include "training/trainer.h"

ABSL_FLAG(std::string, model, "lenet5", "Zoo model name.");
ABSL_FLAG(int, batch_size, 64, "Mini-batch size.");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");
ABSL_FLAG(bool, channels_last, true,
          "Train on channels-last batches (TrainerOptions::channels_last); "
          "--nochannels_last for NCHW.");
ABSL_FLAG(int, steps, 100, "Timed optimizer steps (after one warm-up epoch of 10 steps).");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Measures training images/s of a zoo model in our training loop.\n"
      "Example: train_throughput --model=resnet20 --threads=2\n"
      "Exit codes: 0 success, 1 bad flags, 2 unknown model or failed training.");
  absl::ParseCommandLine(argc, argv);
  using namespace edgecompress::training;
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  // As train_prune does: freed activations stay in the heap (heap_reuse.h).
  if (absl::Status kept = KeepFreedBuffersInHeap(); !kept.ok()) {
    std::cerr << "train_throughput: warning: " << kept.message() << "\n";
  }
  torch::manual_seed(0);
  absl::StatusOr<std::shared_ptr<ImageClassifier>> model =
      CreateModel(absl::GetFlag(FLAGS_model), {});
  if (!model.ok()) {
    std::cerr << "train_throughput: " << model.status().message() << "\n";
    return 2;
  }
  const Shape input = (*model)->Describe().input_shape();
  const int64_t batch = absl::GetFlag(FLAGS_batch_size);
  const auto make_data = [&](int64_t steps) {
    return TensorDataset{torch::randn({steps * batch, input[0], input[1], input[2]}),
                         torch::randint(0, 10, {steps * batch})};
  };
  const TensorDataset warmup = make_data(10), timed = make_data(absl::GetFlag(FLAGS_steps));
  TrainerOptions options;
  options.epochs = 1;
  options.lr_schedule.base_learning_rate = 0.01;
  options.ruined_chance_factor = 0.0;
  options.channels_last = absl::GetFlag(FLAGS_channels_last);
  ProgressBar quiet(stderr, false);
  double images_per_second = 0.0;
  for (const TensorDataset* data : {&warmup, &timed}) {
    absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(**model, options);
    if (!trainer.ok()) return 2;
    InMemoryBatchSource source(*data, batch, /*seed=*/1);
    absl::StatusOr<TrainResult> result = (*trainer)->Fit(source, nullptr, {}, nullptr, quiet);
    if (!result.ok() || result->history.empty()) {
      std::cerr << "train_throughput: training failed\n";
      return 2;
    }
    images_per_second = result->history[0].at("images_per_second");
  }
  std::cout << nlohmann::json{{"model", absl::GetFlag(FLAGS_model)},
                              {"batch_size", batch},
                              {"threads", absl::GetFlag(FLAGS_threads)},
                              {"images_per_second", images_per_second}}
                   .dump()
            << std::endl;
  return 0;
}
