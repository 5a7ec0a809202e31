#include "training/batch_source.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/strings/str_format.h"

namespace edgecompress::training {

TensorDataset ToTensorDataset(const ImageDataset& dataset, float mean, float stddev) {
  // from_blob does not copy; to(kFloat) makes the owned copy we keep.
  torch::Tensor pixels = torch::from_blob(
      const_cast<uint8_t*>(dataset.pixels.data()),
      {dataset.size, dataset.channels, dataset.height, dataset.width}, torch::kUInt8);
  torch::Tensor labels =
      torch::from_blob(const_cast<uint8_t*>(dataset.labels.data()), {dataset.size}, torch::kUInt8);
  return {pixels.to(torch::kFloat).div_(255.0f).sub_(mean).div_(stddev), labels.to(torch::kLong)};
}

TensorDataset ToTensorDataset(const ImageDataset& dataset, const std::vector<float>& mean,
                              const std::vector<float>& stddev) {
  TensorDataset tensors = ToTensorDataset(dataset, 0.0f, 1.0f);
  const auto channel_view = [&](const std::vector<float>& values) {
    return torch::tensor(values).view({1, static_cast<int64_t>(values.size()), 1, 1});
  };
  tensors.images.sub_(channel_view(mean)).div_(channel_view(stddev));
  return tensors;
}

InMemoryBatchSource::InMemoryBatchSource(const TensorDataset& data, int64_t batch_size,
                                         uint64_t seed)
    : data_(data), batch_size_(batch_size), seed_(seed) {}

int64_t InMemoryBatchSource::batches_per_epoch() const {
  return (data_.images.size(0) + batch_size_ - 1) / batch_size_;
}

absl::Status InMemoryBatchSource::StartEpoch(int epoch) {
  if (epoch < 0) return absl::OutOfRangeError(absl::StrFormat("epoch %d is negative", epoch));
  // A large odd multiplier spreads (seed, epoch) pairs over the seed space.
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(
      seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  order_ = torch::randperm(data_.images.size(0), generator, torch::kLong);
  next_ = 0;
  return absl::OkStatus();
}

std::optional<TensorBatch> InMemoryBatchSource::Next() {
  const int64_t size = data_.images.size(0);
  if (!order_.defined() || next_ >= size) return std::nullopt;
  const torch::Tensor indices = order_.slice(0, next_, std::min(next_ + batch_size_, size));
  next_ += batch_size_;
  return TensorBatch{data_.images.index_select(0, indices), data_.labels.index_select(0, indices)};
}

LoaderBatchSource::LoaderBatchSource(std::unique_ptr<BatchLoader> loader)
    : loader_(std::move(loader)) {}

std::optional<TensorBatch> LoaderBatchSource::Next() {
  std::optional<Batch> batch = loader_->Next();
  if (!batch.has_value()) return std::nullopt;
  const ImageDataset& data = loader_->dataset();
  auto owned = std::make_shared<Batch>(*std::move(batch));
  torch::Tensor images = torch::from_blob(
      owned->images.data(), {owned->size, data.channels, data.height, data.width},
      [owned](void*) {}, torch::kFloat);
  torch::Tensor labels =
      torch::from_blob(owned->labels.data(), {owned->size}, [owned](void*) {}, torch::kLong);
  return TensorBatch{std::move(images), std::move(labels)};
}

}  // namespace edgecompress::training
