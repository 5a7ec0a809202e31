// Cluster-preserving training: Deep Compression's centroid fine-tuning (Han et
// al., ICLR 2016, Sec. 3.3 and Fig. 3; TF-MOT's cluster-preserving training
// keeps the same invariant). At `start_epoch` every chosen weight tensor's
// non-zero weights are clustered (clustering/kmeans.h, linear start) and
// replaced by their centroids; from then on the weights stay tied:
//   OnAfterBackward  each weight's gradient becomes the mean of its
//                    cluster's gradients, and pruned weights (zeros) get
//                    none, so every weight of a cluster takes the same step;
//   OnStepEnd        every weight is set to its cluster's mean, which removes
//                    what the optimizer's per-weight state (momentum started
//                    before the clustering, or Adam's moments) made differ,
//                    and zeros are written back.
// The centroids are therefore what trains, k values per tensor, and the
// exported ONNX holds at most k distinct non-zero values per tensor, which
// tools/compress codes without further loss.
//
// The mean, not the paper's sum ("grouped by the color and summed
// together", the exact gradient of a centroid): with the sum, a centroid
// shared by n weights moves n times as far as a weight would, and at the
// learning rate training was using that diverges (LeNet-5's fc1 has 3,000
// weights per centroid at k = 16 and diverged to chance in one epoch). The
// mean is the sum at a per-centroid learning rate lr / n.
#ifndef EDGECOMPRESS_CLUSTERING_CLUSTER_CALLBACK_H_
#define EDGECOMPRESS_CLUSTERING_CLUSTER_CALLBACK_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "training/callback.h"

namespace edgecompress::clustering {

class ClusterCallback : public training::TrainingCallback {
 public:
  // `parameters` by full name ("fc1.weight"); the module must outlive the
  // callback. kNotFound naming a missing parameter, kInvalidArgument for
  // num_clusters outside [1, 65536], a negative start epoch, or a tensor that
  // is not contiguous float32 on the CPU.
  static absl::StatusOr<std::unique_ptr<ClusterCallback>> Create(
      torch::nn::Module& module, absl::Span<const std::string> parameters, int num_clusters,
      int start_epoch);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnAfterBackward(const training::StepInfo& step) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;

  struct Tensor {
    std::string name;
    torch::Tensor weight;
    std::vector<int64_t> positions;  // of the non-zero weights when clustered
    std::vector<uint16_t> cluster;   // per position
    int clusters = 0;                // min(num_clusters, positions)
  };
  const std::vector<Tensor>& tensors() const { return tensors_; }
  bool clustered() const { return clustered_; }

 private:
  ClusterCallback(std::vector<Tensor> tensors, int num_clusters, int start_epoch)
      : tensors_(std::move(tensors)), num_clusters_(num_clusters), start_epoch_(start_epoch) {}
  absl::Status Cluster();
  void TieWeights();

  std::vector<Tensor> tensors_;
  int num_clusters_ = 16;
  int start_epoch_ = 0;
  bool clustered_ = false;
};

}  // namespace edgecompress::clustering

#endif  // EDGECOMPRESS_CLUSTERING_CLUSTER_CALLBACK_H_
