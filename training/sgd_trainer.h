// Supervised training of an ImageClassifier with mini-batch SGD and
// cross-entropy, and evaluation by top-1 accuracy.
//
// The learning rate is either constant or annealed per step along a cosine
// from `learning_rate` to 0 over the whole run (lr_schedule.h).
//
// One epoch: shuffle the training set with a generator seeded from
// (seed, epoch) so that an epoch's order does not depend on what ran before
// it, then SGD steps over batches of `batch_size` (the last one may be
// smaller). The loop stops with an error as soon as the loss is not finite:
// a diverged run is reported, not trained to the end.
//
// Threads: LibTorch's intra-op pool is process-wide; the caller sets it
// (at::set_num_threads) before training.
#ifndef EDGECOMPRESS_TRAINING_SGD_TRAINER_H_
#define EDGECOMPRESS_TRAINING_SGD_TRAINER_H_

#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "training/models/classifier.h"
#include "training/data/mnist.h"
#include "training/progress_bar.h"

namespace edgecompress::training {

// Images as normalised float NCHW, labels as int64.
struct TensorDataset {
  torch::Tensor images;  // [size, channels, height, width], float32
  torch::Tensor labels;  // [size], int64
};

// (pixel / 255 - mean) / stddev. For Fashion-MNIST, mean 0.2860 and stddev
// 0.3530 are the training set's own statistics.
TensorDataset ToTensorDataset(const ImageDataset& dataset, float mean, float stddev);

enum class LrDecay { kConstant, kCosine };

struct SgdTrainOptions {
  int epochs = 1;
  int64_t batch_size = 64;
  double learning_rate = 0.05;  // the starting rate when decaying
  LrDecay lr_decay = LrDecay::kConstant;
  double momentum = 0.9;
  double weight_decay = 0.0;
  uint64_t seed = 1;  // shuffling order
};

struct EpochStats {
  int epoch = 0;              // 1-based
  double learning_rate = 0.0; // at the epoch's last step
  double train_loss = 0.0;    // mean over the epoch's samples
  double train_top1 = 0.0;    // percent, of the samples as they were trained
  double seconds = 0.0;
  double images_per_second = 0.0;
};

struct EvalStats {
  double loss = 0.0;  // mean cross-entropy
  double top1 = 0.0;  // percent
  int64_t count = 0;
};

// Trains `model` in place and returns one EpochStats per epoch; `on_epoch_end`
// (may be empty) sees each as it completes. Errors: kInvalidArgument for bad
// options or an empty dataset, kAborted when the loss stops being finite.
absl::StatusOr<std::vector<EpochStats>> TrainSgd(
    ImageClassifier& model, const TensorDataset& train, const SgdTrainOptions& options,
    ProgressBar& progress, const std::function<void(const EpochStats&)>& on_epoch_end = {});

// Evaluates without gradients, in eval mode, `batch_size` samples at a time.
EvalStats Evaluate(ImageClassifier& model, const TensorDataset& data, int64_t batch_size = 1000);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_SGD_TRAINER_H_
