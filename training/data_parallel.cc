#include "training/data_parallel.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/utils.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {
namespace {

std::vector<torch::Tensor> ModelTensors(ImageClassifier& model) {
  std::vector<torch::Tensor> tensors = model.parameters();
  for (const torch::Tensor& buffer : model.buffers()) tensors.push_back(buffer);
  return tensors;
}

}  // namespace

GradientAllReduce::GradientAllReduce(ImageClassifier& model, const DataParallelOptions& options,
                                     c10::intrusive_ptr<c10d::ProcessGroupGloo> group)
    : model_(model), options_(options), group_(std::move(group)) {}

GradientAllReduce::~GradientAllReduce() = default;

absl::StatusOr<std::unique_ptr<GradientAllReduce>> GradientAllReduce::Create(
    ImageClassifier& model, const DataParallelOptions& options) {
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "rank %d is not in a world of size %d", options.rank, options.world_size));
  }
  if (options.master_port < 1 || options.master_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrFormat("master port %d is not a TCP port", options.master_port));
  }
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = options.world_size;
    store_options.timeout = options.timeout;
    auto store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
    gloo_options->devices.push_back(
        c10d::ProcessGroupGloo::createDeviceForHostname(options.master_addr));
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, options.rank,
                                                             options.world_size, gloo_options);
    // Start identical: rank 0's tensors everywhere.
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> tensors = ModelTensors(model);
    for (torch::Tensor& tensor : tensors) {
      std::vector<torch::Tensor> one = {tensor.detach()};
      group->broadcast(one)->wait();
    }
    return std::unique_ptr<GradientAllReduce>(new GradientAllReduce(model, options, group));
  } catch (const std::exception& error) {
    return absl::UnavailableError(absl::StrCat("data-parallel rendezvous at ", options.master_addr,
                                               ":", options.master_port, " as rank ",
                                               options.rank, " failed: ", error.what()));
  }
}

absl::Status GradientAllReduce::OnAfterBackward(const StepInfo& step) {
  if (options_.world_size == 1) return absl::OkStatus();
  std::vector<torch::Tensor> grads;
  for (torch::Tensor& parameter : model_.parameters()) {
    if (!parameter.mutable_grad().defined()) {
      parameter.mutable_grad() = torch::zeros_like(parameter);
    }
    grads.push_back(parameter.mutable_grad());
  }
  try {
    // One flat buffer, one all-reduce: far fewer round trips than one per
    // tensor (DDP's buckets do the same).
    std::vector<torch::Tensor> flat = {torch::cat(
        [&] {
          std::vector<torch::Tensor> views;
          for (const torch::Tensor& grad : grads) views.push_back(grad.reshape(-1));
          return views;
        }())};
    group_->allreduce(flat)->wait();
    flat[0].div_(options_.world_size);
    int64_t offset = 0;
    for (torch::Tensor& grad : grads) {
      grad.copy_(flat[0].slice(0, offset, offset + grad.numel()).view_as(grad));
      offset += grad.numel();
    }
  } catch (const std::exception& error) {
    return absl::UnavailableError(absl::StrFormat(
        "gradient all-reduce failed at epoch %d step %d (rank %d of %d): %s", step.epoch + 1,
        step.step + 1, options_.rank, options_.world_size, error.what()));
  }
  return absl::OkStatus();
}

ShardedBatchSource::ShardedBatchSource(std::unique_ptr<BatchSource> global,
                                       int64_t whole_batches, int64_t global_batch_size,
                                       int rank, int world_size)
    : global_(std::move(global)), whole_batches_(whole_batches),
      global_batch_size_(global_batch_size), rank_(rank), world_size_(world_size) {}

std::optional<TensorBatch> ShardedBatchSource::Next() {
  std::optional<TensorBatch> batch = global_->Next();
  if (!batch.has_value() || batch->labels.size(0) < global_batch_size_) return std::nullopt;
  const int64_t slice = global_batch_size_ / world_size_;
  return TensorBatch{batch->images.slice(0, rank_ * slice, (rank_ + 1) * slice),
                     batch->labels.slice(0, rank_ * slice, (rank_ + 1) * slice)};
}

absl::StatusOr<std::unique_ptr<ShardedBatchSource>> ShardBatchSource(
    std::unique_ptr<BatchSource> global, int64_t num_samples, int64_t global_batch_size,
    int rank, int world_size) {
  if (world_size < 1 || rank < 0 || rank >= world_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("rank %d is not in a world of size %d", rank, world_size));
  }
  if (global_batch_size < world_size || global_batch_size % world_size != 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "global batch %d does not split evenly over %d processes", global_batch_size, world_size));
  }
  return std::make_unique<ShardedBatchSource>(std::move(global), num_samples / global_batch_size,
                                              global_batch_size, rank, world_size);
}

absl::StatusOr<std::unique_ptr<ShardedBatchSource>> MakeShardedBatchSource(
    const TensorDataset& data, int64_t global_batch_size, uint64_t seed, int rank,
    int world_size) {
  // InMemoryBatchSource needs a positive batch size; ShardBatchSource says
  // what is wrong with any other.
  auto global = std::make_unique<InMemoryBatchSource>(
      data, std::max<int64_t>(global_batch_size, 1), seed);
  return ShardBatchSource(std::move(global), data.images.size(0), global_batch_size, rank,
                          world_size);
}

}  // namespace edgecompress::training
