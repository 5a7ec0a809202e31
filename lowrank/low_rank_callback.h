// Low-rank training by projection: the chosen layers' weights are kept at a
// rank r through fine-tuning (projected gradient descent onto the matrices
// of rank <= r; lowrank/factorization.h has the projection).
//   OnEpochBegin(start_epoch)  choose each layer's rank from its RankRule and
//                              the trained weight's spectrum, project W (SVD);
//   OnStepEnd                  project W again after every optimizer step,
//                              tracking the rank-r subspace (RankProjector:
//                              one block power step, no SVD).
// The model keeps its architecture while it trains (no module surgery, so
// every model of the zoo works, checkpoints and resume included), and its
// final weights are exactly rank r: the exported ONNX layer splits into two
// without further loss (lowrank/onnx_factorize.h), in -> r -> out.
//
// A layer's weight is the matrix [out, in] of a Linear, or a Conv's kernel
// reshaped to [Cout, Cin * kh * kw] (its second factor is then a Conv with
// the original kernel size into r channels, the first a 1x1 Conv); with a
// spatial rule, a Conv's spatial matrix [Cin * kh, Cout * kw]
// (factorization.h: a kh x 1 Conv into r channels, then a 1 x kw Conv),
// projected through a permuted copy.
//
// Cost per layer and step: O(rows * cols * rank); for LeNet-5's fc1 at rank
// 23 about 1 ms. (An exact SVD per step cost ~19 ms there: 2.8x slower epochs.)
#ifndef EDGECOMPRESS_LOWRANK_LOW_RANK_CALLBACK_H_
#define EDGECOMPRESS_LOWRANK_LOW_RANK_CALLBACK_H_

#include <torch/nn/module.h>
#include <torch/types.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "lowrank/factorization.h"
#include "training/callback.h"

namespace edgecompress::lowrank {

class LowRankCallback : public training::TrainingCallback {
 public:
  struct Layer {
    std::string name;  // module path: its "<name>.weight" is factorised
    RankRule rule;
    torch::Tensor weight;
    int rows = 0, cols = 0;
    // The spatial split's kernel shape [O, C, kh, kw] and its matrix's copy.
    std::optional<std::array<int, 4>> spatial_kernel;
    std::vector<float> spatial_matrix;
    int rank = 0;  // chosen at start_epoch; 0 before
    std::vector<double> singular_values;  // of the weight at start_epoch
    std::optional<RankProjector> projector;  // from start_epoch on
  };

  // Rules by layer name; the module must outlive the callback. kNotFound
  // naming a layer without a "<name>.weight"; kInvalidArgument for a weight
  // that is not a contiguous float32 CPU tensor of 2 or 4 dimensions, a
  // spatial rule for a Linear, or a negative start epoch.
  static absl::StatusOr<std::unique_ptr<LowRankCallback>> Create(
      torch::nn::Module& module, const std::map<std::string, RankRule>& rules, int start_epoch);

  absl::Status OnEpochBegin(int epoch, int64_t steps_per_epoch) override;
  absl::Status OnStepEnd(const training::StepInfo& step) override;

  const std::vector<Layer>& layers() const { return layers_; }
  int start_epoch() const { return start_epoch_; }
  bool active() const { return active_; }

 private:
  LowRankCallback(std::vector<Layer> layers, int start_epoch)
      : layers_(std::move(layers)), start_epoch_(start_epoch) {}
  absl::Status Project();

  std::vector<Layer> layers_;
  int start_epoch_ = 0;
  bool active_ = false;
};

}  // namespace edgecompress::lowrank

#endif  // EDGECOMPRESS_LOWRANK_LOW_RANK_CALLBACK_H_
