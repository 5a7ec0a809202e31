#include "clustering/cluster_callback.h"

#include <torch/utils.h>

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clustering/kmeans.h"
#include "tools/status/status_macros.h"

namespace edgecompress::clustering {

absl::StatusOr<std::unique_ptr<ClusterCallback>> ClusterCallback::Create(
    torch::nn::Module& module, absl::Span<const std::string> parameters, int num_clusters,
    int start_epoch) {
  if (num_clusters < 1 || num_clusters > kMaxClusters) {
    return absl::InvalidArgumentError(
        absl::StrCat(num_clusters, " clusters; must be in [1, ", kMaxClusters, "]"));
  }
  if (start_epoch < 0) {
    return absl::InvalidArgumentError(absl::StrCat("start epoch is ", start_epoch));
  }
  const auto named = module.named_parameters();
  std::vector<Tensor> tensors;
  for (const std::string& name : parameters) {
    const torch::Tensor* weight = named.find(name);
    if (weight == nullptr) {
      return absl::NotFoundError(absl::StrCat("no parameter '", name, "' in the model"));
    }
    if (weight->scalar_type() != torch::kFloat32 || !weight->device().is_cpu() ||
        !weight->is_contiguous()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", name, "' is not a contiguous float32 CPU tensor"));
    }
    tensors.push_back({name, *weight, {}, {}, 0});
  }
  return std::unique_ptr<ClusterCallback>(
      new ClusterCallback(std::move(tensors), num_clusters, start_epoch));
}

absl::Status ClusterCallback::Cluster() {
  for (Tensor& tensor : tensors_) {
    const float* w = tensor.weight.data_ptr<float>();
    std::vector<float> nonzero;
    tensor.positions.clear();
    for (int64_t i = 0; i < tensor.weight.numel(); ++i) {
      if (w[i] != 0.0f) {
        tensor.positions.push_back(i);
        nonzero.push_back(w[i]);
      }
    }
    if (nonzero.empty()) continue;
    tensor.clusters = std::min<int>(num_clusters_, static_cast<int>(nonzero.size()));
    absl::StatusOr<KMeansResult> kmeans = KMeans1D(nonzero, {.num_clusters = tensor.clusters});
    if (!kmeans.ok()) {
      return absl::Status(kmeans.status().code(),
                          absl::StrCat(tensor.name, ": ", kmeans.status().message()));
    }
    tensor.cluster = std::move(kmeans->assignments);
  }
  clustered_ = true;
  TieWeights();
  return absl::OkStatus();
}

void ClusterCallback::TieWeights() {
  torch::NoGradGuard no_grad;
  for (Tensor& tensor : tensors_) {
    if (tensor.positions.empty()) continue;
    float* w = tensor.weight.data_ptr<float>();
    std::vector<double> sum(tensor.clusters, 0.0);
    std::vector<int64_t> count(tensor.clusters, 0);
    for (size_t j = 0; j < tensor.positions.size(); ++j) {
      sum[tensor.cluster[j]] += w[tensor.positions[j]];
      ++count[tensor.cluster[j]];
    }
    // Everything not clustered is a pruned weight and stays zero.
    tensor.weight.zero_();
    for (size_t j = 0; j < tensor.positions.size(); ++j) {
      const uint16_t c = tensor.cluster[j];
      w[tensor.positions[j]] = static_cast<float>(sum[c] / count[c]);
    }
  }
}

absl::Status ClusterCallback::OnEpochBegin(int epoch, int64_t /*steps_per_epoch*/) {
  if (epoch >= start_epoch_ && !clustered_) return Cluster();
  return absl::OkStatus();
}

absl::Status ClusterCallback::OnAfterBackward(const training::StepInfo& /*step*/) {
  if (!clustered_) return absl::OkStatus();
  torch::NoGradGuard no_grad;
  for (Tensor& tensor : tensors_) {
    if (!tensor.weight.grad().defined()) continue;
    torch::Tensor grad = tensor.weight.mutable_grad();
    float* g = grad.data_ptr<float>();
    std::vector<double> sum(tensor.clusters, 0.0);
    std::vector<int64_t> count(tensor.clusters, 0);
    for (size_t j = 0; j < tensor.positions.size(); ++j) {
      sum[tensor.cluster[j]] += g[tensor.positions[j]];
      ++count[tensor.cluster[j]];
    }
    grad.zero_();
    for (size_t j = 0; j < tensor.positions.size(); ++j) {
      const uint16_t c = tensor.cluster[j];
      g[tensor.positions[j]] = static_cast<float>(sum[c] / count[c]);
    }
  }
  return absl::OkStatus();
}

absl::Status ClusterCallback::OnStepEnd(const training::StepInfo& /*step*/) {
  if (clustered_) TieWeights();
  return absl::OkStatus();
}

}  // namespace edgecompress::clustering
