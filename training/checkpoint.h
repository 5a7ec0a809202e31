// Training checkpoints that let a killed run resume exactly.
//
// A checkpoint holds the model's parameters and buffers, the optimizer's
// state (momentum buffers, Adam moments, step counts), the number of
// completed epochs, LibTorch's default CPU generator state, and the epoch
// history as named numbers. Together with schedules that are pure functions
// of the epoch and per-epoch seeded shuffling, training epochs 0..k-1,
// stopping, and resuming gives the same weights as an uninterrupted run.
//
// Files are written atomically (tools/io/atomic_file.h): a crash leaves either
// the old checkpoint or the new one.
// Format: LibTorch's serialize archive (a zip of tensors), readable by
// torch::load; keys "model.*", "optimizer.*", "completed_epochs", "rng".
#ifndef EDGECOMPRESS_TRAINING_CHECKPOINT_H_
#define EDGECOMPRESS_TRAINING_CHECKPOINT_H_

#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "training/metrics_sink.h"

namespace edgecompress::training {

struct CheckpointState {
  int completed_epochs = 0;
  std::vector<MetricValues> history;  // one row per completed epoch
};

// An error naming the path when it cannot be serialised or written.
absl::Status SaveCheckpoint(absl::string_view path, torch::nn::Module& model,
                            torch::optim::Optimizer& optimizer, const CheckpointState& state);

// Restores into `model` and `optimizer`, which must have the same structure
// as the saved ones; sets LibTorch's default generator. kNotFound for a
// missing file, kDataLoss naming the path for an unreadable or mismatched one.
absl::StatusOr<CheckpointState> LoadCheckpoint(absl::string_view path, torch::nn::Module& model,
                                               torch::optim::Optimizer& optimizer);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_CHECKPOINT_H_
