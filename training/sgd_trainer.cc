#include "training/sgd_trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"
#include "training/lr_schedule.h"

namespace edgecompress::training {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::Status ValidateOptions(const SgdTrainOptions& options, const TensorDataset& train) {
  if (options.epochs < 1 || options.batch_size < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "epochs and batch size must be at least 1, got %d and %d", options.epochs,
        options.batch_size));
  }
  if (!(options.learning_rate > 0) || options.momentum < 0 || options.weight_decay < 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "need learning rate > 0, momentum >= 0, weight decay >= 0; got %g, %g, %g",
        options.learning_rate, options.momentum, options.weight_decay));
  }
  if (!train.images.defined() || train.images.size(0) == 0 ||
      train.images.size(0) != train.labels.size(0)) {
    return absl::InvalidArgumentError("training set is empty or its images and labels differ in count");
  }
  return absl::OkStatus();
}

}  // namespace

TensorDataset ToTensorDataset(const ImageDataset& dataset, float mean, float stddev) {
  // from_blob does not copy; to(kFloat) makes the owned copy we keep.
  torch::Tensor pixels = torch::from_blob(const_cast<uint8_t*>(dataset.pixels.data()),
                                          {dataset.size, dataset.channels, dataset.height,
                                           dataset.width},
                                          torch::kUInt8);
  torch::Tensor labels = torch::from_blob(const_cast<uint8_t*>(dataset.labels.data()),
                                          {dataset.size}, torch::kUInt8);
  return {pixels.to(torch::kFloat).div_(255.0f).sub_(mean).div_(stddev),
          labels.to(torch::kLong)};
}

absl::StatusOr<std::vector<EpochStats>> TrainSgd(
    ImageClassifier& model, const TensorDataset& train, const SgdTrainOptions& options,
    ProgressBar& progress, const std::function<void(const EpochStats&)>& on_epoch_end) {
  RETURN_IF_ERROR(ValidateOptions(options, train));
  const int64_t size = train.images.size(0);
  const int64_t steps = (size + options.batch_size - 1) / options.batch_size;
  ASSIGN_OR_RETURN(const CosineLrSchedule cosine,
                   CosineLrSchedule::Create({.max_learning_rate = options.learning_rate,
                                             .total_steps = steps * options.epochs}));
  torch::optim::SGD optimizer(model.parameters(),
                              torch::optim::SGDOptions(options.learning_rate)
                                  .momentum(options.momentum)
                                  .weight_decay(options.weight_decay));
  double learning_rate = options.learning_rate;
  std::vector<EpochStats> history;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    model.train();
    // Seeded per epoch: a resumed run shuffles epoch k exactly like a run
    // that never stopped.
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(
        options.seed * 1000003u + static_cast<uint64_t>(epoch));
    const torch::Tensor order = torch::randperm(size, generator, torch::kLong);
    const Clock::time_point start = Clock::now();
    double loss_sum = 0.0;
    int64_t correct = 0, seen = 0;
    for (int64_t step = 0; step < steps; ++step) {
      const int64_t begin = step * options.batch_size;
      const torch::Tensor batch = order.slice(0, begin, std::min(begin + options.batch_size, size));
      const torch::Tensor images = train.images.index_select(0, batch);
      const torch::Tensor labels = train.labels.index_select(0, batch);
      if (options.lr_decay == LrDecay::kCosine) {
        learning_rate = cosine.LearningRate((epoch - 1) * steps + step);
        for (torch::optim::OptimizerParamGroup& group : optimizer.param_groups()) {
          static_cast<torch::optim::SGDOptions&>(group.options()).lr(learning_rate);
        }
      }
      optimizer.zero_grad();
      const torch::Tensor logits = model.forward(images);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, labels);
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        progress.Finish();
        return absl::AbortedError(absl::StrFormat(
            "training diverged: loss is %g at epoch %d step %d", loss_value, epoch, step + 1));
      }
      loss.backward();
      optimizer.step();

      loss_sum += loss_value * batch.size(0);
      correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
      seen += batch.size(0);
      const double elapsed = SecondsSince(start);
      progress.Update({.epoch = epoch, .num_epochs = options.epochs, .step = step + 1,
                       .steps_per_epoch = steps, .loss = loss_sum / seen,
                       .images_per_second = elapsed > 0 ? seen / elapsed : 0.0,
                       .elapsed_seconds = elapsed});
    }
    progress.Finish();
    const double seconds = SecondsSince(start);
    history.push_back({.epoch = epoch, .learning_rate = learning_rate, .train_loss = loss_sum / seen,
                       .train_top1 = 100.0 * correct / seen, .seconds = seconds,
                       .images_per_second = seen / seconds});
    if (on_epoch_end) on_epoch_end(history.back());
  }
  return history;
}

EvalStats Evaluate(ImageClassifier& model, const TensorDataset& data, int64_t batch_size) {
  torch::NoGradGuard no_grad;
  model.eval();
  const int64_t size = data.images.size(0);
  double loss_sum = 0.0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < size; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, size);
    const torch::Tensor logits = model.forward(data.images.slice(0, begin, end));
    const torch::Tensor labels = data.labels.slice(0, begin, end);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, labels,
                    torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    correct += logits.argmax(1).eq(labels).sum().item<int64_t>();
  }
  return {.loss = size > 0 ? loss_sum / size : 0.0,
          .top1 = size > 0 ? 100.0 * correct / size : 0.0,
          .count = size};
}

}  // namespace edgecompress::training
