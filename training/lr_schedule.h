// Learning-rate schedules as pure functions of training progress, like the
// pruning schedules: no optimizer state, so a resumed run needs only the
// position. Progress is a fractional epoch e = epoch + step / steps_per_epoch
// (epoch 0-based), so one schedule serves per-step and per-epoch updates.
//
//   constant     lr(e) = base
//   multi_step   lr(e) = base * gamma^(number of milestones <= floor(e))
//                (PyTorch MultiStepLR; the ResNet-50 study's [43, 60], 0.1)
//   exponential  lr(e) = base * gamma^max(0, floor(e) - start_epoch)
//                (PyTorch ExponentialLR started at start_epoch, as Distiller's
//                 ResNet-56 study decays from its own start epoch)
//   cosine       lr(e) = min + (base - min) * (1 + cos(pi * e / total)) / 2
//                for e in [0, total], min after (Loshchilov & Hutter, SGDR,
//                2017, eq. 5, without restarts); continuous in e.
//
// Warm-up (Goyal et al., 2017, "Accurate, Large Minibatch SGD", sec. 2.2)
// multiplies any of these by e / warmup_epochs while e < warmup_epochs: a
// linear ramp from 0 that reaches the schedule's own value at warmup_epochs.
//
// Conventions: milestones and start_epoch are 0-based epoch indices; a
// milestone m takes effect from the first step of epoch m (as PyTorch's
// scheduler.step() after each epoch).
#ifndef EDGECOMPRESS_TRAINING_LR_SCHEDULE_H_
#define EDGECOMPRESS_TRAINING_LR_SCHEDULE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgecompress::training {

enum class LrScheduleKind { kConstant, kMultiStep, kExponential, kCosine };

// "constant", "multi_step", "exponential", "cosine"; kInvalidArgument otherwise.
absl::StatusOr<LrScheduleKind> ParseLrScheduleKind(absl::string_view name);
absl::string_view LrScheduleKindName(LrScheduleKind kind);

struct LrScheduleOptions {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  double base_learning_rate = 0.1;
  std::vector<int> milestones;  // multi_step: strictly increasing epochs
  double gamma = 0.1;           // multi_step, exponential: factor in (0, 1]
  int start_epoch = 0;          // exponential
  double min_learning_rate = 0.0, total_epochs = 1.0;  // cosine
  double warmup_epochs = 0.0;   // any kind; 0 disables
};

class LrSchedule {
 public:
  // Validates once; kInvalidArgument names the bad option.
  static absl::StatusOr<LrSchedule> Create(const LrScheduleOptions& options);

  // The rate at fractional epoch `epoch` (>= 0).
  double LearningRate(double epoch) const;

  const LrScheduleOptions& options() const { return options_; }

 private:
  explicit LrSchedule(const LrScheduleOptions& options) : options_(options) {}

  LrScheduleOptions options_;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_LR_SCHEDULE_H_
