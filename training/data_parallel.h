// Data-parallel training over processes: c10d's Gloo process group with a
// TCPStore rendezvous, the way torch.distributed does it on CPU clusters.
//
// Every rank holds a full replica of the model. Per step:
//   1. ShardedBatchSource gives rank r the r-th slice of the same global
//      batch (all ranks shuffle with the same seed, so they agree on it);
//   2. each rank computes the mean-loss gradient of its slice;
//   3. GradientAllReduce (a TrainingCallback, OnAfterBackward) sums the
//      gradients of all ranks in one flat all-reduce and divides by the world
//      size: with equal slices that is exactly the gradient of the global
//      batch's mean loss;
//   4. every rank takes the same optimizer step, so replicas stay identical.
// Create() broadcasts rank 0's parameters and buffers so that replicas start
// identical even if their initialisation differed.
//
// Equivalence: W processes with slices of B / W give the weights of one
// process with batch B, up to the floating-point order of the all-reduce
// sum (about 1e-7 relative per step). To keep slices equal, the global batch
// must be divisible by the world size and an incomplete last global batch
// is dropped (as torch's DistributedSampler with drop_last).
//
// Rendezvous: rank 0 runs the TCPStore server on master_addr:master_port;
// the others connect, waiting up to `timeout`. A rank that dies makes the
// others fail their next all-reduce with an error, not hang forever (Gloo's
// timeout), which Fit() returns.
#ifndef EDGECOMPRESS_TRAINING_DATA_PARALLEL_H_
#define EDGECOMPRESS_TRAINING_DATA_PARALLEL_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "training/batch_source.h"
#include "training/callback.h"
#include "training/models/classifier.h"

namespace c10d {
class ProcessGroupGloo;
}  // namespace c10d

namespace edgecompress::training {

struct DataParallelOptions {
  int world_size = 1;
  int rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  std::chrono::seconds timeout{60};
};

class GradientAllReduce : public TrainingCallback {
 public:
  // Joins the group (blocking until all ranks arrive or `timeout`) and
  // broadcasts rank 0's parameters and buffers into `model`, which must
  // outlive this object. kInvalidArgument for bad options, kUnavailable when
  // the rendezvous fails.
  static absl::StatusOr<std::unique_ptr<GradientAllReduce>> Create(
      ImageClassifier& model, const DataParallelOptions& options);
  ~GradientAllReduce() override;

  absl::Status OnAfterBackward(const StepInfo& step) override;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }

 private:
  GradientAllReduce(ImageClassifier& model, const DataParallelOptions& options,
                    c10::intrusive_ptr<c10d::ProcessGroupGloo> group);

  ImageClassifier& model_;
  DataParallelOptions options_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

// Rank `rank`'s slice of every global batch that `global` yields; an
// incomplete last global batch is dropped. Every rank must build `global`
// identically (same data, seed and options) so that all ranks agree on the
// global batches: InMemoryBatchSource and BatchLoader (augmentation
// included) derive their order and randomness from (seed, epoch) alone.
// Each rank thus also builds (e.g. augments) the whole global batch, and
// keeps 1 / world_size of it: simple and exact, at world_size times the
// loading work, which is small next to the step for the models here.
class ShardedBatchSource : public BatchSource {
 public:
  // Requires global_batch_size % world_size == 0 and `whole_batches` global
  // batches per epoch (the factories below check and compute).
  ShardedBatchSource(std::unique_ptr<BatchSource> global, int64_t whole_batches,
                     int64_t global_batch_size, int rank, int world_size);

  int64_t batches_per_epoch() const override { return whole_batches_; }
  absl::Status StartEpoch(int epoch) override { return global_->StartEpoch(epoch); }
  std::optional<TensorBatch> Next() override;

 private:
  std::unique_ptr<BatchSource> global_;
  int64_t whole_batches_, global_batch_size_;
  int rank_, world_size_;
};

// Shards `global`, which yields batches of global_batch_size over
// `num_samples` samples. kInvalidArgument unless 0 <= rank < world_size and
// the global batch divides evenly.
absl::StatusOr<std::unique_ptr<ShardedBatchSource>> ShardBatchSource(
    std::unique_ptr<BatchSource> global, int64_t num_samples, int64_t global_batch_size,
    int rank, int world_size);

// Shards InMemoryBatchSource(data, global_batch_size, seed): every epoch
// shuffled exactly as one process would.
absl::StatusOr<std::unique_ptr<ShardedBatchSource>> MakeShardedBatchSource(
    const TensorDataset& data, int64_t global_batch_size, uint64_t seed, int rank,
    int world_size);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_PARALLEL_H_
