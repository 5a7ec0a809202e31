// Batches of tensors for the training loop, one epoch at a time.
//
// BatchSource is what Trainer reads; InMemoryBatchSource serves a dataset that
// is already a pair of tensors (MNIST-sized data), shuffled per epoch with a
// generator seeded from (seed, epoch): epoch k's order does not depend on
// what ran before it, so a resumed run sees exactly the batches an
// uninterrupted one would.
#ifndef EDGECOMPRESS_TRAINING_BATCH_SOURCE_H_
#define EDGECOMPRESS_TRAINING_BATCH_SOURCE_H_

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "training/data/batch_loader.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

// Images as normalised float NCHW, labels as int64.
struct TensorDataset {
  torch::Tensor images;  // [size, channels, height, width], float32
  torch::Tensor labels;  // [size], int64
};

// (pixel / 255 - mean) / stddev with one mean and stddev for all channels.
// For Fashion-MNIST, 0.2860 and 0.3530 are the training set's statistics.
TensorDataset ToTensorDataset(const ImageDataset& dataset, float mean, float stddev);

// The same with one mean and stddev per channel (sizes must equal channels).
TensorDataset ToTensorDataset(const ImageDataset& dataset, const std::vector<float>& mean,
                              const std::vector<float>& stddev);

struct TensorBatch {
  torch::Tensor images, labels;
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t batches_per_epoch() const = 0;
  // Begins epoch `epoch` (0-based); Next() then yields its batches.
  virtual absl::Status StartEpoch(int epoch) = 0;
  // The next batch of the epoch, or nullopt after the last one.
  virtual std::optional<TensorBatch> Next() = 0;
};

class InMemoryBatchSource : public BatchSource {
 public:
  // Keeps a reference to `data`, which must outlive the source. The last
  // batch may be smaller than `batch_size`. Requires batch_size >= 1.
  InMemoryBatchSource(const TensorDataset& data, int64_t batch_size, uint64_t seed);

  int64_t batches_per_epoch() const override;
  absl::Status StartEpoch(int epoch) override;
  std::optional<TensorBatch> Next() override;

 private:
  const TensorDataset& data_;
  int64_t batch_size_;
  uint64_t seed_;
  torch::Tensor order_;
  int64_t next_ = 0;
};

// A BatchLoader (worker threads, prefetching, seeded augmentation; see
// data/batch_loader.h) as a BatchSource. Batches become tensors without a
// copy: each tensor owns its loader batch.
class LoaderBatchSource : public BatchSource {
 public:
  explicit LoaderBatchSource(std::unique_ptr<BatchLoader> loader);

  int64_t batches_per_epoch() const override { return loader_->num_batches(); }
  absl::Status StartEpoch(int epoch) override { return loader_->StartEpoch(epoch); }
  std::optional<TensorBatch> Next() override;

 private:
  std::unique_ptr<BatchLoader> loader_;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_BATCH_SOURCE_H_
