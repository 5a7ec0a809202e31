#include "pruning/thinning.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <numeric>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/status/status_macros.h"

namespace edgecompress::pruning {
namespace {

using training::Layer;
using training::LayerGraph;
using training::LayerOp;

// "conv 'layer1.0.conv2'" or "add 'add_12'": how messages name a layer.
std::string Describe(const Layer& layer) {
  return absl::StrCat(training::LayerOpName(layer.op), " '",
                      layer.name.empty() ? layer.output : layer.name, "'");
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status CheckKeptFilters(const Layer& conv, const std::vector<int64_t>& kept) {
  const auto& attrs = std::get<training::Conv2dAttrs>(conv.attrs);
  if (kept.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(conv), " would keep no filters"));
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    if (kept[i] < 0 || kept[i] >= attrs.out_channels) {
      return absl::OutOfRangeError(absl::StrFormat("%s has %d filters; cannot keep filter %d",
                                                   Describe(conv), attrs.out_channels, kept[i]));
    }
    if (i > 0 && kept[i] <= kept[i - 1]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "filters to keep in %s must be ascending without repeats: %d after %d", Describe(conv),
          kept[i], kept[i - 1]));
    }
  }
  return absl::OkStatus();
}

// Collects the plan's entries by layer index while the walk records them.
class PlanBuilder {
 public:
  explicit PlanBuilder(const LayerGraph& graph) : graph_(graph) {}

  void SetOutputs(int layer, std::vector<int64_t> kept) {
    std::optional<std::vector<int64_t>>& slot = Entry(layer).kept_outputs;
    // Only an Add joins two channel sets, and the walk refuses those, so a
    // layer is reached from one pruned conv only.
    assert(!slot.has_value() || *slot == kept);
    slot = std::move(kept);
  }
  void SetInputs(int layer, std::vector<int64_t> kept) {
    std::optional<std::vector<int64_t>>& slot = Entry(layer).kept_inputs;
    assert(!slot.has_value() || *slot == kept);
    slot = std::move(kept);
  }

  ThinningPlan Build() && {
    ThinningPlan plan;
    for (auto& [index, entry] : entries_) plan.layers.push_back(std::move(entry));
    return plan;
  }

 private:
  LayerThinning& Entry(int layer) {
    auto [it, inserted] = entries_.try_emplace(layer);
    if (inserted) {
      it->second.layer = layer;
      it->second.name = graph_.layers()[layer].name;
      it->second.op = graph_.layers()[layer].op;
    }
    return it->second;
  }

  const LayerGraph& graph_;
  std::map<int, LayerThinning> entries_;  // ordered by index: graph order
};

// Steps 2 to 4 of the header for the channels `kept` of `conv`'s output.
absl::Status Walk(const LayerGraph& graph, const std::map<std::string, training::Shape>& shapes,
                  const Layer& conv, std::vector<int64_t> kept, PlanBuilder& plan) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> pending = {
      {conv.output, std::move(kept)}};
  while (!pending.empty()) {
    auto [value, indices] = std::move(pending.back());
    pending.pop_back();
    if (value == graph.output()) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "cannot thin %s: its channels reach the model output '%s'", Describe(conv), value));
    }
    for (int consumer : graph.Consumers(value)) {
      const Layer& layer = graph.layers()[consumer];
      switch (layer.op) {
        case LayerOp::kBatchNorm:
          plan.SetOutputs(consumer, indices);
          pending.emplace_back(layer.output, indices);
          break;
        case LayerOp::kRelu:
        case LayerOp::kClip:
        case LayerOp::kMaxPool:
        case LayerOp::kAveragePool:
        case LayerOp::kGlobalAveragePool:
          pending.emplace_back(layer.output, indices);
          break;
        case LayerOp::kFlatten: {
          const training::Shape& shape = shapes.at(value);
          int64_t block = 1;
          for (size_t d = 1; d < shape.size(); ++d) block *= shape[d];
          std::vector<int64_t> features;
          features.reserve(indices.size() * block);
          for (int64_t c : indices) {
            for (int64_t i = 0; i < block; ++i) features.push_back(c * block + i);
          }
          pending.emplace_back(layer.output, std::move(features));
          break;
        }
        case LayerOp::kConv2d: {
          const auto& attrs = std::get<training::Conv2dAttrs>(layer.attrs);
          if (attrs.groups != 1) {
            return absl::FailedPreconditionError(absl::StrFormat(
                "cannot thin %s: its channels flow into %s, a grouped convolution (groups %d) "
                "whose groups would have to shrink with them",
                Describe(conv), Describe(layer), attrs.groups));
          }
          plan.SetInputs(consumer, indices);
          break;
        }
        case LayerOp::kLinear:
          plan.SetInputs(consumer, indices);
          break;
        case LayerOp::kAdd:
          return absl::FailedPreconditionError(absl::StrFormat(
              "cannot thin %s: its channels flow into %s, a residual connection whose other "
              "input would have to lose the same channels",
              Describe(conv), Describe(layer)));
      }
    }
  }
  return absl::OkStatus();
}

// The entries of `plan` checked against `graph`: same index, name and op.
absl::Status CheckPlan(const LayerGraph& graph, const ThinningPlan& plan) {
  for (const LayerThinning& entry : plan.layers) {
    if (entry.layer < 0 || entry.layer >= static_cast<int>(graph.layers().size()) ||
        graph.layers()[entry.layer].name != entry.name ||
        graph.layers()[entry.layer].op != entry.op) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "the plan's layer %d '%s' is not in this graph", entry.layer, entry.name));
    }
  }
  return absl::OkStatus();
}

int64_t NumElements(const std::vector<int64_t>& shape) {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

// The tensors of one affected layer with the shapes the original graph gives
// them; `selected_dims` says which dims thinning selects along.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool select_outputs = false;  // dim 0 by kept_outputs
  bool select_inputs = false;   // dim 1 by kept_inputs
  bool zero_removed = false;    // ZeroRemovedChannels zeroes removed dim-0 entries
};

std::vector<TensorSpec> TensorSpecs(const Layer& layer) {
  const std::string& n = layer.name;
  switch (layer.op) {
    case LayerOp::kConv2d: {
      const auto& a = std::get<training::Conv2dAttrs>(layer.attrs);
      std::vector<TensorSpec> specs = {
          {n + ".weight", {a.out_channels, a.in_channels / a.groups, a.kernel_size, a.kernel_size},
           true, true, true}};
      if (a.bias) specs.push_back({n + ".bias", {a.out_channels}, true, false, true});
      return specs;
    }
    case LayerOp::kBatchNorm: {
      const int64_t c = std::get<training::BatchNormAttrs>(layer.attrs).channels;
      return {{n + ".weight", {c}, true, false, true},
              {n + ".bias", {c}, true, false, true},
              {n + ".running_mean", {c}, true, false, false},
              {n + ".running_var", {c}, true, false, false}};
    }
    case LayerOp::kLinear: {
      const auto& a = std::get<training::LinearAttrs>(layer.attrs);
      return {{n + ".weight", {a.out_features, a.in_features}, false, true, false}};
    }
    default:
      return {};
  }
}

// Finds every tensor the plan touches and checks its shape.
absl::Status CheckTensors(const LayerGraph& graph, const ThinningPlan& plan,
                          const TensorMap& tensors) {
  RETURN_IF_ERROR(CheckPlan(graph, plan));
  for (const LayerThinning& entry : plan.layers) {
    for (const TensorSpec& spec : TensorSpecs(graph.layers()[entry.layer])) {
      const auto it = tensors.find(spec.name);
      if (it == tensors.end()) {
        return absl::NotFoundError(absl::StrCat("no tensor '", spec.name, "' to thin"));
      }
      if (it->second.shape != spec.shape) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "tensor '%s' has shape %s, the graph says %s", spec.name,
            ShapeString(it->second.shape), ShapeString(spec.shape)));
      }
      if (static_cast<int64_t>(it->second.values.size()) != NumElements(spec.shape)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "tensor '%s' has %d values for shape %s", spec.name, it->second.values.size(),
            ShapeString(spec.shape)));
      }
    }
  }
  return absl::OkStatus();
}

std::vector<int64_t> AllIndices(int64_t n) {
  std::vector<int64_t> all(n);
  std::iota(all.begin(), all.end(), int64_t{0});
  return all;
}

// Copies the entries of `tensor` at rows `rows` (dim 0) and, for tensors of
// two or more dims, columns `cols` (dim 1), keeping the rest of each entry.
FloatTensor Select(const FloatTensor& tensor, const std::vector<int64_t>& rows,
                   const std::vector<int64_t>& cols) {
  FloatTensor out;
  out.shape = tensor.shape;
  out.shape[0] = static_cast<int64_t>(rows.size());
  if (tensor.shape.size() == 1) {
    for (int64_t r : rows) out.values.push_back(tensor.values[r]);
    return out;
  }
  out.shape[1] = static_cast<int64_t>(cols.size());
  int64_t inner = 1;
  for (size_t d = 2; d < tensor.shape.size(); ++d) inner *= tensor.shape[d];
  const int64_t row_stride = tensor.shape[1] * inner;
  out.values.reserve(rows.size() * cols.size() * inner);
  for (int64_t r : rows) {
    for (int64_t c : cols) {
      const auto begin = tensor.values.begin() + r * row_stride + c * inner;
      out.values.insert(out.values.end(), begin, begin + inner);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<ThinningPlan> PlanThinning(
    const LayerGraph& graph, const std::map<std::string, std::vector<int64_t>>& kept_filters) {
  ASSIGN_OR_RETURN(const std::vector<training::Shape> ordered, training::InferShapes(graph));
  std::map<std::string, training::Shape> shapes = {
      {std::string(LayerGraph::kInput), ordered[0]}};
  std::map<std::string, int> by_name;
  for (int i = 0; i < static_cast<int>(graph.layers().size()); ++i) {
    shapes[graph.layers()[i].output] = ordered[i + 1];
    if (!graph.layers()[i].name.empty()) by_name[graph.layers()[i].name] = i;
  }
  for (const auto& [name, kept] : kept_filters) {
    const auto it = by_name.find(name);
    if (it == by_name.end()) {
      return absl::NotFoundError(absl::StrCat("no layer named '", name, "' to thin"));
    }
    const Layer& layer = graph.layers()[it->second];
    if (layer.op != LayerOp::kConv2d) {
      return absl::InvalidArgumentError(
          absl::StrCat(Describe(layer), " is not a convolution: only conv filters are thinned"));
    }
    RETURN_IF_ERROR(CheckKeptFilters(layer, kept));
  }
  PlanBuilder plan(graph);
  // In graph order, so the first refusal is the earliest layer's.
  for (int i = 0; i < static_cast<int>(graph.layers().size()); ++i) {
    const Layer& layer = graph.layers()[i];
    const auto it = layer.name.empty() ? kept_filters.end() : kept_filters.find(layer.name);
    if (it == kept_filters.end()) continue;
    const auto& attrs = std::get<training::Conv2dAttrs>(layer.attrs);
    if (static_cast<int64_t>(it->second.size()) == attrs.out_channels) continue;  // nothing goes
    if (attrs.groups != 1) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "cannot thin %s: it is a grouped convolution (groups %d), whose filters are tied to "
          "its input channels",
          Describe(layer), attrs.groups));
    }
    plan.SetOutputs(i, it->second);
    RETURN_IF_ERROR(Walk(graph, shapes, layer, it->second, plan));
  }
  return std::move(plan).Build();
}

absl::StatusOr<LayerGraph> ThinGraph(const LayerGraph& graph, const ThinningPlan& plan) {
  RETURN_IF_ERROR(CheckPlan(graph, plan));
  std::map<int, const LayerThinning*> changes;
  for (const LayerThinning& entry : plan.layers) changes[entry.layer] = &entry;
  LayerGraph thinned(graph.input_shape());
  for (int i = 0; i < static_cast<int>(graph.layers().size()); ++i) {
    const Layer& layer = graph.layers()[i];
    const auto it = changes.find(i);
    const LayerThinning* change = it == changes.end() ? nullptr : it->second;
    const auto count = [](const std::optional<std::vector<int64_t>>& kept, int64_t whole) {
      return kept.has_value() ? static_cast<int64_t>(kept->size()) : whole;
    };
    std::string output;
    switch (layer.op) {
      case LayerOp::kConv2d: {
        training::Conv2dAttrs attrs = std::get<training::Conv2dAttrs>(layer.attrs);
        if (change != nullptr) {
          attrs.out_channels = count(change->kept_outputs, attrs.out_channels);
          attrs.in_channels = count(change->kept_inputs, attrs.in_channels);
        }
        output = thinned.Conv2d(layer.name, layer.inputs[0], attrs);
        break;
      }
      case LayerOp::kBatchNorm: {
        training::BatchNormAttrs attrs = std::get<training::BatchNormAttrs>(layer.attrs);
        if (change != nullptr) attrs.channels = count(change->kept_outputs, attrs.channels);
        output = thinned.BatchNorm(layer.name, layer.inputs[0], attrs);
        break;
      }
      case LayerOp::kLinear: {
        training::LinearAttrs attrs = std::get<training::LinearAttrs>(layer.attrs);
        if (change != nullptr) attrs.in_features = count(change->kept_inputs, attrs.in_features);
        output = thinned.Linear(layer.name, layer.inputs[0], attrs);
        break;
      }
      case LayerOp::kRelu:
        output = thinned.Relu(layer.inputs[0]);
        break;
      case LayerOp::kClip:
        output = thinned.Clip(layer.inputs[0], std::get<training::ClipAttrs>(layer.attrs));
        break;
      case LayerOp::kMaxPool:
        output = thinned.MaxPool(layer.inputs[0], std::get<training::PoolAttrs>(layer.attrs));
        break;
      case LayerOp::kAveragePool:
        output = thinned.AveragePool(layer.inputs[0], std::get<training::PoolAttrs>(layer.attrs));
        break;
      case LayerOp::kGlobalAveragePool:
        output = thinned.GlobalAveragePool(layer.inputs[0]);
        break;
      case LayerOp::kFlatten:
        output = thinned.Flatten(layer.inputs[0]);
        break;
      case LayerOp::kAdd:
        output = thinned.Add(layer.inputs[0], layer.inputs[1]);
        break;
    }
    // The builder names outputs by op and position, so a replay in the same
    // order reproduces every value name.
    assert(output == layer.output);
  }
  thinned.SetOutput(graph.output());
  RETURN_IF_ERROR(training::InferShapes(thinned).status());
  return thinned;
}

absl::Status ThinTensors(const LayerGraph& graph, const ThinningPlan& plan, TensorMap& tensors) {
  RETURN_IF_ERROR(CheckTensors(graph, plan, tensors));
  for (const LayerThinning& entry : plan.layers) {
    for (const TensorSpec& spec : TensorSpecs(graph.layers()[entry.layer])) {
      FloatTensor& tensor = tensors.at(spec.name);
      const std::vector<int64_t> rows = spec.select_outputs && entry.kept_outputs.has_value()
                                            ? *entry.kept_outputs
                                            : AllIndices(spec.shape[0]);
      const std::vector<int64_t> cols =
          spec.shape.size() < 2 ? std::vector<int64_t>()
          : spec.select_inputs && entry.kept_inputs.has_value() ? *entry.kept_inputs
                                                                : AllIndices(spec.shape[1]);
      tensor = Select(tensor, rows, cols);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::map<std::string, std::vector<uint8_t>>> RemovedChannelMasks(
    const LayerGraph& graph, const ThinningPlan& plan) {
  RETURN_IF_ERROR(CheckPlan(graph, plan));
  std::map<std::string, std::vector<uint8_t>> masks;
  for (const LayerThinning& entry : plan.layers) {
    if (!entry.kept_outputs.has_value()) continue;
    for (const TensorSpec& spec : TensorSpecs(graph.layers()[entry.layer])) {
      if (!spec.zero_removed) continue;
      const int64_t row = NumElements(spec.shape) / spec.shape[0];
      std::vector<uint8_t> mask(NumElements(spec.shape), 0);
      for (int64_t r : *entry.kept_outputs) {
        std::fill(mask.begin() + r * row, mask.begin() + (r + 1) * row, uint8_t{1});
      }
      masks[spec.name] = std::move(mask);
    }
  }
  return masks;
}

absl::Status ZeroRemovedChannels(const LayerGraph& graph, const ThinningPlan& plan,
                                 TensorMap& tensors) {
  RETURN_IF_ERROR(CheckTensors(graph, plan, tensors));
  ASSIGN_OR_RETURN(const auto masks, RemovedChannelMasks(graph, plan));
  for (const auto& [name, mask] : masks) {
    std::vector<float>& values = tensors.at(name).values;
    for (size_t i = 0; i < mask.size(); ++i) {
      if (mask[i] == 0) values[i] = 0.0f;
    }
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::pruning
