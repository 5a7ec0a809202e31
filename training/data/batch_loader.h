// A multi-threaded, prefetching loader of float batches from an ImageDataset,
// framework-free: it produces plain vectors that an adapter wraps as tensors.
//
// Algorithm, per epoch e (StartEpoch):
//   1. epoch_seed = MixSeed(seed, e) (portable_random.h).
//   2. Order: 0..size-1, shuffled (if `shuffle`) by Fisher-Yates with
//      SplitMix64(MixSeed(epoch_seed, kOrderStream)).
//   3. Batch b holds the images order[b * batch_size ...], batch_size of them
//      except a shorter last batch, which drop_last drops.
//   4. Image i (dataset index) becomes floats by ImageAugmenter (augment.h):
//      Augment with SplitMix64(MixSeed(epoch_seed, i)) when `augment`
//      (training), Normalize otherwise (evaluation).
// Worker threads claim batch indices in order, build them without holding the
// lock, and file them by index; Next() hands them out strictly in index order.
// Only batches next .. next + prefetch_batches - 1 (next: the first not yet
// handed out) may be ready or in flight, which bounds memory; stale batches
// of an abandoned epoch (at most num_workers) are finished, then dropped. So
// prefetch_batches >= num_workers keeps every worker busy.
//
// Guarantees: a batch's content and the order of batches depend only on
// (dataset, options except num_workers and prefetch_batches, epoch), never on
// the number of threads or their timing: 0, 1 or 8 workers give the same
// bytes. Because every epoch derives its randomness from (seed, epoch) alone,
// a run resumed at epoch e sees exactly the batches an uninterrupted run would
// (StartEpoch(e) on a new loader). An image's augmentation in an epoch does
// not depend on which batch it lands in.
//
// Threading contract: one consumer thread calls StartEpoch and Next; the
// workers are internal. The destructor stops and joins them, abandoning any
// epoch in progress. The dataset is not owned and must outlive the loader;
// nothing writes to it.
//
// Cost: per image O(C * H * W) table lookups on a worker; StartEpoch is
// O(size) on the caller's thread. Memory: (prefetch_batches + num_workers)
// batches of batch_size * C * H * W floats at most.
#ifndef EDGECOMPRESS_TRAINING_DATA_BATCH_LOADER_H_
#define EDGECOMPRESS_TRAINING_DATA_BATCH_LOADER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "training/data/augment.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

struct BatchLoaderOptions {
  int64_t batch_size = 64;  // >= 1
  bool shuffle = true;      // a new order each epoch; false keeps the dataset's order
  bool drop_last = false;   // drop a last batch smaller than batch_size
  bool augment = false;     // true: random crop + flip (training); false: normalise only
  // Crop, flip and normalisation settings; mean and stddev apply on both paths.
  AugmentOptions augment_options;
  int num_workers = 2;       // >= 0; 0 builds each batch inside Next() on the caller's thread
  int prefetch_batches = 4;  // >= 1: how far the workers may run ahead of Next()
  uint64_t seed = 0;
};

struct Batch {
  std::vector<float> images;    // size * C * H * W, NCHW, normalised
  std::vector<int64_t> labels;  // size
  int64_t size = 0;             // images in this batch
  int64_t index = 0;            // 0-based position in the epoch
};

class BatchLoader {
 public:
  // The stream of the order shuffle; image indices are below it.
  static constexpr uint64_t kOrderStream = ~uint64_t{0};

  // kInvalidArgument for a null or inconsistent dataset (ValidateImageDataset),
  // batch_size < 1, num_workers < 0, prefetch_batches < 1, or augment_options
  // that do not fit the images (ImageAugmenter::Create). Starts the workers,
  // which idle until StartEpoch.
  static absl::StatusOr<std::unique_ptr<BatchLoader>> Create(const ImageDataset* data,
                                                             const BatchLoaderOptions& options);

  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  // Batches per epoch: ceil(size / batch_size), or floor with drop_last.
  int64_t num_batches() const { return num_batches_; }
  const ImageDataset& dataset() const { return data_; }
  const BatchLoaderOptions& options() const { return options_; }

  // Begins epoch `epoch` (0-based), abandoning any epoch in progress; the
  // workers start building at once. kOutOfRange for a negative epoch.
  absl::Status StartEpoch(int epoch);

  // The epoch's next batch, waiting for it if needed; nullopt after the last
  // batch and before the first StartEpoch.
  std::optional<Batch> Next();

 private:
  struct EpochPlan {
    uint64_t epoch_seed = 0;
    std::vector<int64_t> order;
  };

  BatchLoader(const ImageDataset& data, const BatchLoaderOptions& options,
              ImageAugmenter augmenter);

  Batch Build(const EpochPlan& plan, int64_t index) const;
  void WorkerLoop();
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ImageDataset& data_;
  const BatchLoaderOptions options_;
  const ImageAugmenter augmenter_;
  const int64_t num_batches_;

  mutable absl::Mutex mu_;
  absl::CondVar work_available_;  // workers wait here
  absl::CondVar batch_ready_;     // Next() waits here
  std::shared_ptr<const EpochPlan> plan_ ABSL_GUARDED_BY(mu_);
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;  // bumped by StartEpoch
  int64_t next_to_claim_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t next_to_return_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<int64_t, Batch> ready_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  std::vector<std::thread> workers_;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_BATCH_LOADER_H_
