#include "training/data/batch_loader.h"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "tools/status/status_macros.h"
#include "training/data/portable_random.h"

namespace edgecompress::training {

absl::StatusOr<std::unique_ptr<BatchLoader>> BatchLoader::Create(
    const ImageDataset* data, const BatchLoaderOptions& options) {
  if (data == nullptr) return absl::InvalidArgumentError("BatchLoader: the dataset is null");
  RETURN_IF_ERROR(ValidateImageDataset(*data));
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrFormat("BatchLoaderOptions: batch_size %d is below 1", options.batch_size));
  }
  if (options.num_workers < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("BatchLoaderOptions: num_workers %d is negative", options.num_workers));
  }
  if (options.prefetch_batches < 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "BatchLoaderOptions: prefetch_batches %d is below 1", options.prefetch_batches));
  }
  ASSIGN_OR_RETURN(
      ImageAugmenter augmenter,
      ImageAugmenter::Create(data->channels, data->height, data->width, options.augment_options));
  // Not make_unique: the constructor is private.
  return std::unique_ptr<BatchLoader>(new BatchLoader(*data, options, std::move(augmenter)));
}

BatchLoader::BatchLoader(const ImageDataset& data, const BatchLoaderOptions& options,
                         ImageAugmenter augmenter)
    : data_(data),
      options_(options),
      augmenter_(std::move(augmenter)),
      num_batches_(options.drop_last ? data.size / options.batch_size
                                     : (data.size + options.batch_size - 1) / options.batch_size) {
  for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

BatchLoader::~BatchLoader() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  work_available_.SignalAll();
  for (std::thread& worker : workers_) worker.join();
}

absl::Status BatchLoader::StartEpoch(int epoch) {
  if (epoch < 0) {
    return absl::OutOfRangeError(absl::StrFormat("BatchLoader: epoch %d is negative", epoch));
  }
  // The plan is built outside the lock; workers only ever read a plan through
  // their own shared_ptr, so replacing plan_ cannot pull it from under them.
  auto plan = std::make_shared<EpochPlan>();
  plan->epoch_seed = MixSeed(options_.seed, static_cast<uint64_t>(epoch));
  plan->order.resize(data_.size);
  std::iota(plan->order.begin(), plan->order.end(), 0);
  if (options_.shuffle) {
    SplitMix64 rng(MixSeed(plan->epoch_seed, kOrderStream));
    Shuffle(absl::MakeSpan(plan->order), rng);
  }
  {
    absl::MutexLock lock(&mu_);
    plan_ = std::move(plan);
    ++generation_;  // batches of the old epoch still being built are dropped on arrival
    next_to_claim_ = 0;
    next_to_return_ = 0;
    ready_.clear();
  }
  work_available_.SignalAll();
  return absl::OkStatus();
}

std::optional<Batch> BatchLoader::Next() {
  absl::MutexLock lock(&mu_);
  if (plan_ == nullptr || next_to_return_ >= num_batches_) return std::nullopt;
  const int64_t index = next_to_return_;
  if (workers_.empty()) {
    ++next_to_return_;
    const std::shared_ptr<const EpochPlan> plan = plan_;
    mu_.Unlock();  // building needs no lock, and no other thread touches the state
    Batch batch = Build(*plan, index);
    mu_.Lock();
    return batch;
  }
  while (ready_.find(index) == ready_.end()) batch_ready_.Wait(&mu_);
  auto node = ready_.extract(index);
  next_to_return_ = index + 1;
  work_available_.SignalAll();  // the window moved: one more batch may be claimed
  return std::move(node.mapped());
}

bool BatchLoader::HasWorkLocked() const {
  // Batches next_to_return_ .. next_to_return_ + prefetch - 1 may be ready or
  // in flight; nothing beyond.
  return plan_ != nullptr && next_to_claim_ < num_batches_ &&
         next_to_claim_ < next_to_return_ + options_.prefetch_batches;
}

void BatchLoader::WorkerLoop() {
  absl::MutexLock lock(&mu_);
  for (;;) {
    while (!stopping_ && !HasWorkLocked()) work_available_.Wait(&mu_);
    if (stopping_) return;
    const int64_t index = next_to_claim_++;
    const std::shared_ptr<const EpochPlan> plan = plan_;
    const uint64_t generation = generation_;
    mu_.Unlock();
    Batch batch = Build(*plan, index);
    mu_.Lock();
    if (generation == generation_) {
      ready_.emplace(index, std::move(batch));
      batch_ready_.SignalAll();
    }
  }
}

Batch BatchLoader::Build(const EpochPlan& plan, int64_t index) const {
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, data_.size);
  const int64_t image_bytes = data_.image_bytes();
  Batch batch;
  batch.index = index;
  batch.size = end - begin;
  batch.images.resize(batch.size * image_bytes);
  batch.labels.resize(batch.size);
  for (int64_t j = 0; j < batch.size; ++j) {
    const int64_t source = plan.order[begin + j];
    const absl::Span<const uint8_t> image(&data_.pixels[source * image_bytes], image_bytes);
    const absl::Span<float> out(&batch.images[j * image_bytes], image_bytes);
    if (options_.augment) {
      SplitMix64 rng(MixSeed(plan.epoch_seed, static_cast<uint64_t>(source)));
      augmenter_.Augment(image, rng, out);
    } else {
      augmenter_.Normalize(image, out);
    }
    batch.labels[j] = data_.labels[source];
  }
  return batch;
}

}  // namespace edgecompress::training
