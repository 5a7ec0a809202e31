// A model's computation as an ordered list of layers, without LibTorch.
//
// LibTorch's C++ API has no tracer, so every ImageClassifier describes its
// own forward pass in this form, and everything that must know how layers
// connect reads it instead of the torch module:
//   - ONNX export (parameters are looked up by the layer's `name`),
//   - FLOPs and parameter accounting (CountMacs, InferShapes),
//   - structured pruning, whose thinning must find the BatchNorm and the
//     next layer that consume a pruned convolution's output channels,
//   - memory planning (tensor sizes and lifetimes).
// The description and the module must compute the same function; the ONNX
// round-trip tests check that for every model in the zoo.
//
// Conventions:
//   - Values are named; the graph input is `input` with a [C, H, W] shape
//     (the batch dimension is implicit and free). Layer outputs are named by
//     the builder: the layer's name when it has parameters, else "<op>_<k>".
//   - `name` of a layer with parameters is its torch module path
//     ("layer1.0.conv1"): its tensors are "<name>.weight", "<name>.bias" and,
//     for BatchNorm, "<name>.running_mean" / "<name>.running_var".
//   - Convolutions and pools are square (one kernel, stride, padding for both
//     axes), as in every model of the zoo; padding is symmetric.
//   - Layers are in topological order: a layer reads only the input and
//     outputs of layers before it.
#ifndef EDGECOMPRESS_TRAINING_MODELS_LAYER_GRAPH_H_
#define EDGECOMPRESS_TRAINING_MODELS_LAYER_GRAPH_H_

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgecompress::training {

struct Conv2dAttrs {
  int64_t in_channels = 0, out_channels = 0;
  int64_t kernel_size = 1, stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
};

struct BatchNormAttrs {
  int64_t channels = 0;
  double epsilon = 1e-5;
};

struct LinearAttrs {
  int64_t in_features = 0, out_features = 0;
  bool bias = true;
};

struct PoolAttrs {
  int64_t kernel_size = 2, stride = 2, padding = 0;
};

// y = min(max(x, min), max): ReLU6 is {0, 6}.
struct ClipAttrs {
  float min = 0.0f, max = 6.0f;
};

enum class LayerOp {
  kConv2d,             // Conv2dAttrs; [C, H, W] -> [out, H', W']
  kBatchNorm,          // BatchNormAttrs; inference form, foldable into the conv before it
  kLinear,             // LinearAttrs; [in] -> [out]
  kRelu,
  kClip,               // ClipAttrs
  kMaxPool,            // PoolAttrs
  kAveragePool,        // PoolAttrs; padding counts as zeros (count_include_pad)
  kGlobalAveragePool,  // [C, H, W] -> [C, 1, 1]
  kFlatten,            // [C, H, W] -> [C * H * W]
  kAdd,                // two inputs of the same shape (residual connections)
};

absl::string_view LayerOpName(LayerOp op);  // "conv2d", "batch_norm", ...

struct Layer {
  LayerOp op;
  std::string name;                 // module path for layers with parameters
  std::vector<std::string> inputs;  // value names
  std::string output;               // value name
  std::variant<std::monostate, Conv2dAttrs, BatchNormAttrs, LinearAttrs, PoolAttrs, ClipAttrs>
      attrs;
};

// A value's shape without the batch dimension: [C, H, W] or [features].
using Shape = std::vector<int64_t>;

class LayerGraph {
 public:
  // `input_shape` is [C, H, W] of one sample.
  explicit LayerGraph(Shape input_shape);

  // Builders: append a layer reading `input` and return its output's name.
  // They record only; Validate() and InferShapes() check consistency.
  std::string Conv2d(absl::string_view name, absl::string_view input, const Conv2dAttrs& attrs);
  std::string BatchNorm(absl::string_view name, absl::string_view input,
                        const BatchNormAttrs& attrs);
  std::string Linear(absl::string_view name, absl::string_view input, const LinearAttrs& attrs);
  std::string Relu(absl::string_view input);
  std::string Clip(absl::string_view input, const ClipAttrs& attrs);
  std::string MaxPool(absl::string_view input, const PoolAttrs& attrs);
  std::string AveragePool(absl::string_view input, const PoolAttrs& attrs);
  std::string GlobalAveragePool(absl::string_view input);
  std::string Flatten(absl::string_view input);
  std::string Add(absl::string_view a, absl::string_view b);
  void SetOutput(absl::string_view value) { output_ = std::string(value); }
  // An early exit's logits (a side classifier of an early-exit network):
  // values the model also outputs, in order from the earliest. The graph
  // output stays the final classifier's; ExportOnnx adds side outputs only
  // when asked.
  void AddSideOutput(absl::string_view value) { side_outputs_.emplace_back(value); }

  static constexpr absl::string_view kInput = "input";
  const Shape& input_shape() const { return input_shape_; }
  const std::vector<Layer>& layers() const { return layers_; }
  const std::string& output() const { return output_; }
  const std::vector<std::string>& side_outputs() const { return side_outputs_; }

  // The layers that read `value`, by index into layers().
  std::vector<int> Consumers(absl::string_view value) const;

 private:
  std::string Append(LayerOp op, absl::string_view name, std::vector<std::string> inputs,
                     decltype(Layer::attrs) attrs);

  Shape input_shape_;
  std::vector<Layer> layers_;
  std::string output_;
  std::vector<std::string> side_outputs_;
};

// Shapes of every value, in the order: input, then each layer's output.
// kInvalidArgument naming the layer for an undefined or duplicate value,
// channel or feature counts that do not match, a kernel larger than its
// padded input, Add of different shapes, or a missing output or side output.
absl::StatusOr<std::vector<Shape>> InferShapes(const LayerGraph& graph);

// Multiply-accumulates of one forward pass of one sample, per conv and linear
// layer: out_channels * H' * W' * (in_channels / groups) * k^2, and in * out.
// Element-wise layers, BatchNorm and pooling are not counted, as in
// Distiller's and the papers' "MACs". A sparse model's effective count is
// macs * (non-zero weights / weights) per layer, assuming a sparse kernel
// skips every zero weight.
struct LayerMacs {
  int layer = 0;        // index into LayerGraph::layers()
  std::string name;
  int64_t macs = 0;
  int64_t weights = 0;  // elements of "<name>.weight"
};
absl::StatusOr<std::vector<LayerMacs>> MacsPerLayer(const LayerGraph& graph);

// The sum of MacsPerLayer.
absl::StatusOr<int64_t> CountMacs(const LayerGraph& graph);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_LAYER_GRAPH_H_
