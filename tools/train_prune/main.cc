// train_prune: trains a model on Fashion-MNIST and reports its accuracy.
//
// This first version trains LeNet-5 densely with SGD; recipes with gradual
// and structured pruning plug into the same loop (see the README's roadmap).
// Progress goes to stderr (a bar on a terminal, one line per epoch
// otherwise); the JSON result goes to --out, or to stdout.
#include <ATen/Parallel.h>
#include <torch/utils.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "tools/result/result_json.h"
#include "training/models/lenet.h"
#include "training/data/mnist.h"
#include "training/progress_bar.h"
#include "training/batch_source.h"
#include "training/trainer.h"

ABSL_FLAG(std::string, data_dir, std::string(edgecompress::training::kFashionMnistDir),
          "Folder with the Fashion-MNIST (or MNIST) IDX files, raw or .gz.");
ABSL_FLAG(int, epochs, 1, "Training epochs.");
ABSL_FLAG(int, batch_size, 64, "Mini-batch size.");
ABSL_FLAG(double, learning_rate, 0.05, "SGD learning rate.");
ABSL_FLAG(bool, cosine_lr, true,
          "Anneal the learning rate per step along a cosine to 0 (SGDR); false: constant.");
ABSL_FLAG(double, momentum, 0.9, "SGD momentum.");
ABSL_FLAG(double, weight_decay, 0.0, "L2 weight decay.");
ABSL_FLAG(uint64_t, seed, 1, "Seed for weight initialisation and shuffling.");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");
ABSL_FLAG(std::string, out, "", "Write the JSON result here (atomically); stdout if empty.");

namespace edgecompress {
namespace {

// Exit codes beyond Abseil's 1 for bad flags, listed in the usage text.
enum ExitCode {
  kExitOk = 0,
  kExitBadInput = 2,
  kExitTrainingFailed = 3,
  kExitOutputFailed = 4,
};

// Fashion-MNIST training-set statistics of pixel / 255.
constexpr float kPixelMean = 0.2860f, kPixelStddev = 0.3530f;

// One stderr line per epoch when no progress bar is drawn (logs, CI).
class EpochLogger : public training::TrainingCallback {
 public:
  EpochLogger(bool enabled, int num_epochs) : enabled_(enabled), num_epochs_(num_epochs) {}
  absl::Status OnEpochEnd(int epoch, training::MetricValues& m) override {
    if (enabled_) {
      std::fprintf(stderr, "epoch %d/%d loss %.4f train top-1 %.2f%% test top-1 %.2f%% %.1f s %.0f img/s\n",
                   epoch + 1, num_epochs_, m["train_loss"], m["train_top1"], m["val_top1"],
                   m["seconds"], m["images_per_second"]);
    }
    return absl::OkStatus();
  }

 private:
  bool enabled_;
  int num_epochs_;
};

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "train_prune: " << status.message() << "\n";
  return code;
}

std::map<std::string, std::string> FlagValues() {
  return {
      {"data_dir", absl::GetFlag(FLAGS_data_dir)},
      {"epochs", absl::StrCat(absl::GetFlag(FLAGS_epochs))},
      {"batch_size", absl::StrCat(absl::GetFlag(FLAGS_batch_size))},
      {"learning_rate", absl::StrCat(absl::GetFlag(FLAGS_learning_rate))},
      {"cosine_lr", absl::GetFlag(FLAGS_cosine_lr) ? "true" : "false"},
      {"momentum", absl::StrCat(absl::GetFlag(FLAGS_momentum))},
      {"weight_decay", absl::StrCat(absl::GetFlag(FLAGS_weight_decay))},
      {"threads", absl::StrCat(absl::GetFlag(FLAGS_threads))},
  };
}

int Run() {
  const std::string data_dir = absl::GetFlag(FLAGS_data_dir);
  const uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (absl::GetFlag(FLAGS_threads) < 1) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--threads must be at least 1"));
  }
  // LibTorch sees one core here unless told otherwise.
  at::set_num_threads(absl::GetFlag(FLAGS_threads));

  absl::StatusOr<training::ImageDataset> train =
      training::LoadMnist(data_dir, training::MnistSplit::kTrain);
  if (!train.ok()) return Fail(kExitBadInput, train.status());
  absl::StatusOr<training::ImageDataset> test =
      training::LoadMnist(data_dir, training::MnistSplit::kTest);
  if (!test.ok()) return Fail(kExitBadInput, test.status());
  const training::TensorDataset train_tensors =
      training::ToTensorDataset(*train, kPixelMean, kPixelStddev);
  const training::TensorDataset test_tensors =
      training::ToTensorDataset(*test, kPixelMean, kPixelStddev);

  // LibTorch initialises weights from its process-wide generator.
  torch::manual_seed(seed);
  training::LeNet5 model(train->num_classes);
  training::TrainerOptions options;
  options.epochs = absl::GetFlag(FLAGS_epochs);
  options.num_classes = train->num_classes;
  options.optimizer.momentum = absl::GetFlag(FLAGS_momentum);
  options.optimizer.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  options.lr_schedule = {
      .kind = absl::GetFlag(FLAGS_cosine_lr) ? training::LrScheduleKind::kCosine
                                             : training::LrScheduleKind::kConstant,
      .base_learning_rate = absl::GetFlag(FLAGS_learning_rate),
      .total_epochs = static_cast<double>(options.epochs),
  };
  absl::StatusOr<std::unique_ptr<training::Trainer>> trainer =
      training::Trainer::Create(model, options);
  if (!trainer.ok()) return Fail(kExitBadInput, trainer.status());
  training::InMemoryBatchSource batches(train_tensors, absl::GetFlag(FLAGS_batch_size), seed);
  training::ProgressBar progress(stderr, isatty(STDERR_FILENO) != 0);
  EpochLogger logger(isatty(STDERR_FILENO) == 0, options.epochs);
  training::TrainingCallback* callbacks[] = {&logger};
  absl::StatusOr<training::TrainResult> trained =
      (*trainer)->Fit(batches, &test_tensors, callbacks, /*sink=*/nullptr, progress);
  if (!trained.ok()) return Fail(kExitTrainingFailed, trained.status());
  if (trained->ruined) {
    std::fprintf(stderr, "train_prune: run ruined: %s\n", trained->ruined_reason.c_str());
  }
  const training::EvalStats eval = training::Evaluate(model, test_tensors);

  double train_seconds = 0.0;
  nlohmann::json epochs = nlohmann::json::array();
  for (const training::MetricValues& row : trained->history) {
    train_seconds += row.at("seconds");
    epochs.push_back(row);
  }
  nlohmann::json result = tools::NewResult("train_prune", seed, FlagValues());
  result["model"] = "lenet5";
  result["dataset"] = data_dir;
  result["parameter_count"] = training::CountParameters(model);
  result["ruined"] = trained->ruined;
  if (trained->ruined) result["ruined_reason"] = trained->ruined_reason;
  result["test_top1"] = eval.top1;
  result["test_top5"] = eval.top5;
  result["test_loss"] = eval.loss;
  result["test_samples"] = eval.count;
  result["train_seconds"] = train_seconds;
  result["epochs"] = epochs;
  std::fprintf(stderr, "test top-1 %.2f%% (loss %.4f) after %d epoch(s), %.1f s of training\n",
               eval.top1, eval.loss, options.epochs, train_seconds);

  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    std::cout << result.dump(2) << std::endl;
  } else if (absl::Status status = tools::WriteJsonFile(out, result); !status.ok()) {
    return Fail(kExitOutputFailed, status);
  }
  return kExitOk;
}

}  // namespace
}  // namespace edgecompress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains LeNet-5 on Fashion-MNIST and reports test top-1 as JSON.\n"
      "Example: bazel run //tools/train_prune -- --epochs=3 --out=/tmp/lenet.json\n"
      "Exit codes: 0 success, 1 bad flags, 2 bad input data, 3 training failed,\n"
      "4 the result could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::Run();
}
