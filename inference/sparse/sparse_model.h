// Whole-model sparse inference on x86: an ONNX model runs as a sequence of
// stages, XNNPACK runtimes for the dense parts and our SpMM kernels (spmm.h)
// for the pruned 1x1 convolutions and fully connected layers between them.
//
//   ASSIGN_OR_RETURN(SparseModel model, SparseModel::ImportFile("m90.onnx", {.batch_size = 1}));
//   ASSIGN_OR_RETURN(SparseRuntime runtime, model.Build({.num_threads = 2}));
//   RETURN_IF_ERROR(runtime.Run(image_nchw, absl::MakeSpan(logits)));  // as OnnxRuntime::Run
//
// How it works:
//   1. Import validates the whole model with the dense importer
//      (onnx_import.h; same errors) and lists the candidate layers: a Conv
//      with a constant [Cout, Cin, 1, 1] weight, group 1, stride 1, no
//      padding; or a Gemm (transA 0, transB 1, alpha = beta = 1) with a
//      constant weight; each with an optional constant bias and, when it is
//      the only reader, a Relu or Clip after it (fused as the kernel's clamp).
//      A candidate is cuttable when the model can be split around it: the
//      only value live across its start is its input, and across its end its
//      (activated) output. Chains (MobileNet-v1) cut everywhere; a 1x1
//      convolution inside a residual block (another value is live) stays
//      dense. Shapes come from ONNX shape inference at the imported batch.
//   2. Build() chooses the layers that run sparse (SparsePolicy), then cuts
//      the ONNX graph at them: each run of nodes between two chosen layers
//      becomes its own ModelProto (with the initializers and Constant nodes
//      it reads), imported and built as an XNNPACK runtime on one shared
//      pthreadpool. The chosen layers become CSR matrices.
//   3. Run() moves the input into the graph layout (NCHW -> NHWC for images,
//      as OnnxRuntime does), runs the stages through two ping-pong buffers
//      allocated once at Build() (the arena; nothing is allocated per run),
//      and writes the output in the ONNX layout.
//
// Why NHWC at the stage boundaries: XNNPACK's dense path is NHWC, so keeping
// NHWC costs no layout conversion between stages; the SpMM kernel gets its
// NCHW-style inner loop by transposing 64-pixel tiles in cache (spmm.h).
// XNNPACK's own sparse path instead converts the whole body to NCHW, which
// only pays when all of it can run there.
//
// Per-layer choice (SparsePolicy::kAuto): a one-time micro-measurement at
// Build(). For each cuttable candidate, the layer alone as an XNNPACK runtime
// (1x1 convolution or fully connected, with its clamp) and as our kernel run
// interleaved on random data of the layer's real shape, auto_reps times each
// on the shared pool; the layer runs sparse when median(sparse) <
// (1 - auto_margin) * median(dense). The margin pays for the cut (each
// extra XNNPACK stage copies its input once). A model with no sparse layer is
// one XNNPACK runtime, the dense engine exactly. The measurement depends on
// the machine's load at Build(); decisions() records it.
//
// aarch64: Debian's XNNPACK does take its NCHW sparse path there, so on
// non-x86 builds kSparse and kAuto build the model as one XNNPACK runtime
// with BuildOptions::sparse_inference (XNN_FLAG_SPARSE_INFERENCE) and no cuts.
//
// Guarantees: outputs equal the dense engine's up to float rounding (1e-4 in
// the tests, on small graphs and on a pruned MobileNet-v1); every error is a
// status naming the model source and the node. Not done: BatchNormalization
// after a chosen layer is not folded into it (our exporter and PyTorch fold
// it before); int8 models run dense; a Gemm whose input is a flattened NHWC
// map with H * W > 1 is not a candidate (its columns are permuted).
//
// Cost: Import parses the model twice (dense importer, then our copy) and
// runs ONNX shape inference. Build() imports every segment (O(model)),
// packs the chosen weights as CSR (O(weights)) and, under kAuto, runs each
// candidate 2 * auto_reps times (about 1-2 ms per layer of a MobileNet at
// 224). Run(): the stages plus one copy of the input and output.
#ifndef EDGECOMPRESS_INFERENCE_SPARSE_SPARSE_MODEL_H_
#define EDGECOMPRESS_INFERENCE_SPARSE_SPARSE_MODEL_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "inference/onnx_import.h"

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace edgecompress::inference::sparse {

enum class SparsePolicy {
  kDense,   // no layer on our kernels: one XNNPACK runtime
  kSparse,  // every cuttable candidate on our kernels, whatever its sparsity
  kAuto,    // the cuttable candidates that measure faster (see the top)
};

struct SparseBuildOptions {
  int num_threads = 1;  // one pthreadpool for all stages; 1 runs on the caller
  SparsePolicy policy = SparsePolicy::kAuto;
  int auto_reps = 7;         // kAuto: timed runs per layer and engine, >= 1
  double auto_margin = 0.1;  // kAuto: in [0, 1)
  uint64_t seed = 1;         // kAuto: the random measurement data
  // kAuto: a monotonic clock in seconds; null is std::chrono::steady_clock.
  std::function<double()> clock_seconds;
};

// A layer our kernels can run.
struct SparseCandidate {
  std::string node;        // the Conv or Gemm node's name (or "#<index>" when unnamed)
  std::string op_type;     // "Conv" or "Gemm"
  std::string activation;  // "", "Relu" or "Clip"
  size_t output_channels = 0, input_channels = 0;
  size_t pixels = 0;                // N * H * W (Gemm: N)
  std::vector<size_t> input_shape;  // ONNX: [N, Cin, H, W] or [N, Cin]; empty if unknown
  double sparsity = 0;              // zero weights / all weights
  bool cuttable = false;
  std::string why_not;  // when not cuttable
};

// What Build() decided for one candidate.
struct LayerDecision {
  std::string node;
  double sparsity = 0;
  bool sparse = false;
  double dense_ms = -1, sparse_ms = -1;  // kAuto's medians; -1 when not measured
};

class SparseRuntime;

// Whether kSparse and kAuto run our SpMM kernels between cuts (x86-64), or
// hand the whole model to XNNPACK's NCHW sparse path (elsewhere; see above).
#if defined(__x86_64__)
inline constexpr bool kSparseModelUsesOurKernels = true;
#else
inline constexpr bool kSparseModelUsesOurKernels = false;
#endif

class SparseModel {
 public:
  // Errors as OnnxModel::ImportFile / ImportBytes (the model must import
  // there), prefixed by the path or `source`.
  static absl::StatusOr<SparseModel> ImportFile(const std::string& path,
                                                const OnnxImportOptions& options = {});
  static absl::StatusOr<SparseModel> ImportBytes(absl::string_view bytes,
                                                 const OnnxImportOptions& options = {},
                                                 absl::string_view source = "<bytes>");

  SparseModel(SparseModel&&) noexcept;
  SparseModel& operator=(SparseModel&&) noexcept;
  ~SparseModel();

  // kInvalidArgument for num_threads < 1 or bad kAuto settings; errors of
  // the segment imports (naming the model and node) or XNNPACK.
  absl::StatusOr<SparseRuntime> Build(const SparseBuildOptions& options) const;

  absl::Span<const SparseCandidate> candidates() const { return candidates_; }
  const OnnxModel& dense() const { return *dense_; }
  absl::Span<const size_t> input_shape() const { return dense_->input_shape(); }
  absl::Span<const size_t> output_shape() const { return dense_->output_shape(); }

 private:
  SparseModel() = default;
  friend class SparseModelBuilder;

  std::string source_;
  OnnxImportOptions options_;
  std::unique_ptr<OnnxModel> dense_;
  std::unique_ptr<onnx::ModelProto> proto_;
  std::vector<SparseCandidate> candidates_;
  std::vector<int> candidate_nodes_;        // node index of each candidate
  std::vector<int> candidate_activations_;  // node index of its fused activation, or -1
};

// A built model. Not thread-safe (one per thread); movable, not copyable.
class SparseRuntime {
 public:
  SparseRuntime(SparseRuntime&&) noexcept;
  SparseRuntime& operator=(SparseRuntime&&) noexcept;
  ~SparseRuntime();

  // As OnnxRuntime::Run: input_size() floats in the ONNX layout in,
  // output_size() floats in the ONNX layout out; kInvalidArgument otherwise.
  absl::Status Run(absl::Span<const float> input, absl::Span<float> output);

  size_t input_size() const;
  size_t output_size() const;
  int num_threads() const;
  // Stages run per Run(): XNNPACK segments plus sparse layers.
  int num_xnnpack_stages() const;
  int num_sparse_stages() const;
  absl::Span<const LayerDecision> decisions() const;
  // SpmmKernelName of our kernel in use, or "xnnpack_nchw" where XNNPACK's
  // sparse path runs the model (then decisions() is empty).
  const char* kernel_name() const;

 private:
  friend class SparseModel;
  friend class SparseModelBuilder;
  struct State;
  explicit SparseRuntime(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace edgecompress::inference::sparse

#endif  // EDGECOMPRESS_INFERENCE_SPARSE_SPARSE_MODEL_H_
