#include "training/trainer.h"

#include <torch/nn/functional/activation.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/utils/clip_grad.h>
#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"
#include "training/checkpoint.h"

namespace edgecompress::training {
namespace {

namespace F = torch::nn::functional;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

absl::Status ValidateOptions(const TrainerOptions& o) {
  if (o.epochs < 1) return absl::InvalidArgumentError(absl::StrFormat("epochs must be >= 1, got %d", o.epochs));
  if (!(o.label_smoothing >= 0 && o.label_smoothing < 1)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("label smoothing must be in [0, 1), got %g", o.label_smoothing));
  }
  if (!(o.max_grad_norm >= 0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("max gradient norm must be >= 0, got %g", o.max_grad_norm));
  }
  if (o.optimizer.momentum < 0 || o.optimizer.weight_decay < 0) {
    return absl::InvalidArgumentError("momentum and weight decay must be >= 0");
  }
  if (o.optimizer.nesterov && o.optimizer.momentum <= 0) {
    return absl::InvalidArgumentError("nesterov needs momentum > 0");
  }
  if (o.teacher != nullptr &&
      (!(o.distillation_temperature > 0) ||
       !(o.distillation_alpha >= 0 && o.distillation_alpha <= 1))) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "distillation needs temperature > 0 and alpha in [0, 1]; got %g, %g",
        o.distillation_temperature, o.distillation_alpha));
  }
  if (o.early_stopping_patience < 0 || o.num_classes < 2 || o.eval_batch_size < 1) {
    return absl::InvalidArgumentError(
        "early-stopping patience must be >= 0, classes >= 2, eval batch size >= 1");
  }
  return absl::OkStatus();
}

// The logits a softmax sees. A one-logit head z (a sigmoid classifier, as
// the thesis' QuantNet) is the two-class softmax over [0, z], because
// softmax([0, z])[1] = sigmoid(z): cross-entropy on it is binary
// cross-entropy, label smoothing is Keras' for BCE, argmax is "z > 0", and
// distillation's temperature divides z.
torch::Tensor SoftmaxLogits(const torch::Tensor& logits) {
  if (logits.dim() != 2 || logits.size(1) != 1) return logits;
  return torch::cat({torch::zeros_like(logits), logits}, /*dim=*/1);
}

// Images as the model sees them: channels-last when asked (4-D batches
// only). Activations inherit the layout from the input; weights stay NCHW.
torch::Tensor InLayout(const torch::Tensor& images, bool channels_last) {
  if (!channels_last || images.dim() != 4) return images;
  return images.contiguous(torch::MemoryFormat::ChannelsLast);
}

// Top-k accuracy counts for k = 1 and min(5, classes).
std::pair<int64_t, int64_t> CorrectTop1Top5(const torch::Tensor& logits,
                                            const torch::Tensor& labels) {
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  const torch::Tensor top = std::get<1>(logits.topk(k, /*dim=*/1));
  const torch::Tensor hits = top.eq(labels.unsqueeze(1));
  return {hits.select(1, 0).sum().item<int64_t>(), hits.any(1).sum().item<int64_t>()};
}

}  // namespace

absl::StatusOr<OptimizerKind> ParseOptimizerKind(absl::string_view name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown optimizer '", name, "' (expected sgd or adam)"));
}

EvalStats Evaluate(ImageClassifier& model, const TensorDataset& data, int64_t batch_size,
                   bool channels_last) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const int64_t size = data.images.size(0);
  double loss_sum = 0.0;
  int64_t top1 = 0, top5 = 0;
  for (int64_t begin = 0; begin < size; begin += batch_size) {
    const int64_t end = std::min(begin + batch_size, size);
    const torch::Tensor images = InLayout(data.images.slice(0, begin, end), channels_last);
    const torch::Tensor logits = SoftmaxLogits(model.forward(images));
    const torch::Tensor labels = data.labels.slice(0, begin, end);
    loss_sum += F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    const auto [hits1, hits5] = CorrectTop1Top5(logits, labels);
    top1 += hits1;
    top5 += hits5;
  }
  model.train(was_training);
  if (size == 0) return {};
  return {.loss = loss_sum / size, .top1 = 100.0 * top1 / size, .top5 = 100.0 * top5 / size,
          .count = size};
}

Trainer::Trainer(ImageClassifier& model, const TrainerOptions& options, LrSchedule schedule,
                 std::unique_ptr<torch::optim::Optimizer> optimizer)
    : model_(model), options_(options), schedule_(std::move(schedule)),
      optimizer_(std::move(optimizer)) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(ImageClassifier& model,
                                                         const TrainerOptions& options) {
  RETURN_IF_ERROR(ValidateOptions(options));
  if (!options.exit_loss_weights.empty() &&
      static_cast<int>(options.exit_loss_weights.size()) != model.num_exits()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%d exit loss weights for a model with %d exits", options.exit_loss_weights.size(),
        model.num_exits()));
  }
  for (double weight : options.exit_loss_weights) {
    if (!(weight >= 0) || !std::isfinite(weight)) {
      return absl::InvalidArgumentError(absl::StrCat("exit loss weight ", weight, " is not >= 0"));
    }
  }
  ASSIGN_OR_RETURN(LrSchedule schedule, LrSchedule::Create(options.lr_schedule));
  const OptimizerOptions& o = options.optimizer;
  const double lr = options.lr_schedule.base_learning_rate;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.kind == OptimizerKind::kSgd) {
    optimizer = std::make_unique<torch::optim::SGD>(
        model.parameters(), torch::optim::SGDOptions(lr)
                                .momentum(o.momentum)
                                .nesterov(o.nesterov)
                                .weight_decay(o.weight_decay));
  } else {
    optimizer = std::make_unique<torch::optim::Adam>(
        model.parameters(), torch::optim::AdamOptions(lr)
                                .betas({o.adam_beta1, o.adam_beta2})
                                .eps(o.adam_epsilon)
                                .weight_decay(o.weight_decay));
  }
  return std::unique_ptr<Trainer>(
      new Trainer(model, options, std::move(schedule), std::move(optimizer)));
}

absl::Status Trainer::Resume(absl::string_view checkpoint_path) {
  ASSIGN_OR_RETURN(CheckpointState state, LoadCheckpoint(checkpoint_path, model_, *optimizer_));
  if (state.completed_epochs > options_.epochs) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "%s: checkpoint has %d completed epochs, more than the %d this run trains",
        checkpoint_path, state.completed_epochs, options_.epochs));
  }
  completed_epochs_ = state.completed_epochs;
  history_ = std::move(state.history);
  return absl::OkStatus();
}

absl::StatusOr<TrainResult> Trainer::Fit(BatchSource& train, const TensorDataset* validation,
                                         absl::Span<TrainingCallback* const> callbacks,
                                         MetricsSink* sink, ProgressBar& progress) {
  TrainResult result;
  const int64_t steps = train.batches_per_epoch();
  if (steps < 1) return absl::InvalidArgumentError("the training set has no batches");
  const double chance_top1 = 100.0 / options_.num_classes;
  double best_top1 = -1.0;
  int epochs_without_improvement = 0;
  for (int epoch = completed_epochs_; epoch < options_.epochs; ++epoch) {
    RETURN_IF_ERROR(train.StartEpoch(epoch));
    for (TrainingCallback* callback : callbacks) {
      RETURN_IF_ERROR(callback->OnEpochBegin(epoch, steps));
    }
    model_.train();
    const Clock::time_point start = Clock::now();
    double loss_sum = 0.0, learning_rate = 0.0;
    int64_t correct = 0, seen = 0, step = 0;
    for (std::optional<TensorBatch> batch = train.Next(); batch.has_value();
         batch = train.Next(), ++step) {
      learning_rate = schedule_.LearningRate(epoch + static_cast<double>(step) / steps);
      for (torch::optim::OptimizerParamGroup& group : optimizer_->param_groups()) {
        group.options().set_lr(learning_rate);
      }
      const StepInfo info = {.epoch = epoch, .step = step, .steps_per_epoch = steps,
                             .global_step = epoch * steps + step, .learning_rate = learning_rate};
      // Gradients are dropped, not zeroed (PyTorch's set_to_none): backward
      // then hands each parameter its gradient instead of adding it to zeros.
      for (torch::optim::OptimizerParamGroup& group : optimizer_->param_groups()) {
        for (torch::Tensor& parameter : group.params()) parameter.mutable_grad().reset();
      }
      batch->images = InLayout(batch->images, options_.channels_last);
      const auto cross_entropy = [&](const torch::Tensor& logits) {
        return F::cross_entropy(logits, batch->labels,
                                F::CrossEntropyFuncOptions().label_smoothing(options_.label_smoothing));
      };
      torch::Tensor logits, loss;
      if (model_.num_exits() > 1) {
        std::vector<torch::Tensor> exits = model_.ForwardExits(batch->images);
        for (torch::Tensor& exit_logits : exits) exit_logits = SoftmaxLogits(exit_logits);
        logits = exits.back();
        loss = torch::zeros({}, logits.options());
        for (size_t k = 0; k < exits.size(); ++k) {
          const double weight =
              options_.exit_loss_weights.empty() ? 1.0 : options_.exit_loss_weights[k];
          loss = loss + weight * cross_entropy(exits[k]);
        }
      } else {
        logits = SoftmaxLogits(model_.forward(batch->images));
        loss = cross_entropy(logits);
      }
      if (options_.teacher != nullptr) {
        torch::Tensor soft_targets;
        {
          torch::NoGradGuard no_grad;
          options_.teacher->eval();
          soft_targets = F::softmax(SoftmaxLogits(options_.teacher->forward(batch->images)) /
                                        options_.distillation_temperature,
                                    F::SoftmaxFuncOptions(1));
        }
        const double t = options_.distillation_temperature;
        const torch::Tensor distillation =
            F::kl_div(F::log_softmax(logits / t, F::LogSoftmaxFuncOptions(1)), soft_targets,
                      F::KLDivFuncOptions().reduction(torch::kBatchMean)) * (t * t);
        loss = options_.distillation_alpha * distillation + (1 - options_.distillation_alpha) * loss;
      }
      const double loss_value = loss.item<double>();
      if (!std::isfinite(loss_value)) {
        progress.Finish();
        result.ruined = true;
        result.ruined_reason =
            absl::StrFormat("loss is %g at epoch %d step %d", loss_value, epoch + 1, step + 1);
        result.history = history_;
        return result;
      }
      loss.backward();
      for (TrainingCallback* callback : callbacks) RETURN_IF_ERROR(callback->OnAfterBackward(info));
      if (options_.max_grad_norm > 0) {
        torch::nn::utils::clip_grad_norm_(model_.parameters(), options_.max_grad_norm);
      }
      optimizer_->step();
      for (TrainingCallback* callback : callbacks) RETURN_IF_ERROR(callback->OnStepEnd(info));

      const int64_t batch_size = batch->labels.size(0);
      loss_sum += loss_value * batch_size;
      correct += logits.argmax(1).eq(batch->labels).sum().item<int64_t>();
      seen += batch_size;
      const double elapsed = SecondsSince(start);
      progress.Update({.epoch = epoch + 1, .num_epochs = options_.epochs, .step = step + 1,
                       .steps_per_epoch = steps, .loss = loss_sum / seen,
                       .images_per_second = elapsed > 0 ? seen / elapsed : 0.0,
                       .elapsed_seconds = elapsed});
    }
    progress.Finish();
    const double seconds = SecondsSince(start);
    MetricValues row = {{"epoch", epoch + 1},
                        {"learning_rate", learning_rate},
                        {"train_loss", seen > 0 ? loss_sum / seen : 0.0},
                        {"train_top1", seen > 0 ? 100.0 * correct / seen : 0.0},
                        {"seconds", seconds},
                        {"images_per_second", seconds > 0 ? seen / seconds : 0.0}};
    double top1 = row["train_top1"];
    if (validation != nullptr) {
      const EvalStats eval =
          Evaluate(model_, *validation, options_.eval_batch_size, options_.channels_last);
      row["val_loss"] = eval.loss;
      row["val_top1"] = eval.top1;
      row["val_top5"] = eval.top5;
      top1 = eval.top1;
    }
    for (TrainingCallback* callback : callbacks) RETURN_IF_ERROR(callback->OnEpochEnd(epoch, row));
    if (sink != nullptr) RETURN_IF_ERROR(sink->Log(epoch + 1, row));
    history_.push_back(row);
    completed_epochs_ = epoch + 1;
    if (!options_.checkpoint_path.empty()) {
      RETURN_IF_ERROR(SaveCheckpoint(options_.checkpoint_path, model_, *optimizer_,
                                     {.completed_epochs = completed_epochs_, .history = history_}));
    }
    if (epoch + 1 >= options_.ruined_check_epochs &&
        top1 < options_.ruined_chance_factor * chance_top1) {
      result.ruined = true;
      result.ruined_reason = absl::StrFormat(
          "top-1 %.2f%% after epoch %d is below %.1f x chance (%.2f%%)", top1, epoch + 1,
          options_.ruined_chance_factor, chance_top1);
      break;
    }
    if (top1 > best_top1 + options_.early_stopping_min_delta) {
      best_top1 = top1;
      epochs_without_improvement = 0;
    } else if (options_.early_stopping_patience > 0 &&
               ++epochs_without_improvement >= options_.early_stopping_patience) {
      result.stopped_early = true;
      break;
    }
  }
  result.history = history_;
  return result;
}

}  // namespace edgecompress::training
