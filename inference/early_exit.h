// Early-exit inference (BranchyNet, Teerapittayanon, McDanel and Kung,
// ICPR 2016): a network with side classifiers runs one sample at a time,
// segment by segment; after each side classifier the sample leaves with that
// exit's logits when its softmax confidence, the largest class probability,
// reaches the exit's threshold (BranchyNet uses the entropy; the maximum
// probability is the usual equivalent and reads as a probability).
//
// The model is an ONNX classifier whose first output is the final logits and
// whose other outputs are the side exits' logits, earliest first (what
// training/onnx's ExportOnnx writes with side_outputs). Import splits it
// (onnx_subgraph.h): side exit k's head is the nodes only it needs; the one
// value the head reads from the trunk is branch point k; segment k runs from
// branch point k - 1 (or the input) to branch point k, and the last segment to
// the final logits. Each piece is imported at batch 1 and built once.
//
// Cost of a sample leaving at exit k: segments 0..k and heads 0..k; a sample
// that reaches the end pays every head on its way, BranchyNet's overhead.
#ifndef EDGECOMPRESS_INFERENCE_EARLY_EXIT_H_
#define EDGECOMPRESS_INFERENCE_EARLY_EXIT_H_

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"

namespace edgecompress::inference {

class EarlyExitModel {
 public:
  // kInvalidArgument for a model with fewer than two outputs or a head that
  // reads more than one trunk value; kUnimplemented for a connection around
  // a branch point; import errors naming the piece.
  static absl::StatusOr<EarlyExitModel> Import(const onnx::ModelProto& model, int num_threads);

  EarlyExitModel(EarlyExitModel&&) = default;
  EarlyExitModel& operator=(EarlyExitModel&&) = default;

  int num_exits() const { return static_cast<int>(segments_.size()); }  // side exits + 1
  size_t input_size() const { return segments_.front().input_size(); }
  size_t num_classes() const { return segments_.back().output_size(); }

  struct Result {
    int exit = 0;  // 0 .. num_exits() - 1; the last is the final classifier
    float confidence = 0.0f;
    std::vector<float> logits;
  };

  // One image; `thresholds` has one entry per side exit (a threshold above 1
  // never exits there). kInvalidArgument for sizes that do not match.
  absl::StatusOr<Result> Run(absl::Span<const float> image, absl::Span<const double> thresholds);

  // Every exit's logits for one image, as if no sample left early: what a
  // threshold sweep needs to decide every threshold at once.
  absl::StatusOr<std::vector<std::vector<float>>> RunAllExits(absl::Span<const float> image);

  // The pieces, for timing them one by one: segment k (input, or branch
  // point k - 1, to branch point k or the final logits) and head k.
  OnnxRuntime& segment(int k) { return segments_[k]; }
  OnnxRuntime& head(int k) { return heads_[k]; }

 private:
  EarlyExitModel() = default;

  std::vector<OnnxRuntime> segments_, heads_;
  std::vector<std::vector<float>> trunk_;  // each segment's output
};

// The largest softmax probability of `logits` (stable: shifted by the max).
float SoftmaxConfidence(absl::Span<const float> logits);

}  // namespace edgecompress::inference

#endif  // EDGECOMPRESS_INFERENCE_EARLY_EXIT_H_
