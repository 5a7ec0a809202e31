#include "training/models/graph_executor.h"

#include <torch/torch.h>

#include <cassert>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "tools/status/status_macros.h"

namespace edgecompress::training {
namespace {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> sizes;
  bool parameter = true;  // else a buffer
};

// The tensors a layer reads from the module, with their sizes.
std::vector<NamedTensor> LayerTensors(const Layer& layer) {
  std::vector<NamedTensor> tensors;
  const auto add = [&](absl::string_view suffix, std::vector<int64_t> sizes, bool parameter) {
    tensors.push_back({absl::StrCat(layer.name, ".", suffix), std::move(sizes), parameter});
  };
  switch (layer.op) {
    case LayerOp::kConv2d: {
      const auto& a = std::get<Conv2dAttrs>(layer.attrs);
      add("weight", {a.out_channels, a.in_channels / a.groups, a.kernel_size, a.kernel_size}, true);
      if (a.bias) add("bias", {a.out_channels}, true);
      break;
    }
    case LayerOp::kBatchNorm: {
      const auto& a = std::get<BatchNormAttrs>(layer.attrs);
      add("weight", {a.channels}, true);
      add("bias", {a.channels}, true);
      add("running_mean", {a.channels}, false);
      add("running_var", {a.channels}, false);
      break;
    }
    case LayerOp::kLinear: {
      const auto& a = std::get<LinearAttrs>(layer.attrs);
      add("weight", {a.out_features, a.in_features}, true);
      if (a.bias) add("bias", {a.out_features}, true);
      break;
    }
    default:
      break;
  }
  return tensors;
}

std::string LayerLabel(const Layer& layer, int index) {
  return absl::StrFormat("layer %d (%s %s)", index, LayerOpName(layer.op), layer.name);
}

// The module's tensor for `name`; the inputs were checked by CheckGraphTensors.
torch::Tensor Get(const torch::OrderedDict<std::string, torch::Tensor>& tensors,
                  const std::string& name) {
  const torch::Tensor* tensor = tensors.find(name);
  assert(tensor != nullptr);
  return *tensor;
}

torch::Tensor RunLayer(const Layer& layer, const std::vector<torch::Tensor>& in,
                       const torch::OrderedDict<std::string, torch::Tensor>& parameters,
                       const torch::OrderedDict<std::string, torch::Tensor>& buffers) {
  const std::string& n = layer.name;
  switch (layer.op) {
    case LayerOp::kConv2d: {
      const auto& a = std::get<Conv2dAttrs>(layer.attrs);
      return torch::conv2d(in[0], Get(parameters, n + ".weight"),
                           a.bias ? Get(parameters, n + ".bias") : torch::Tensor(), a.stride,
                           a.padding, a.dilation, a.groups);
    }
    case LayerOp::kBatchNorm: {
      const auto& a = std::get<BatchNormAttrs>(layer.attrs);
      return torch::batch_norm(in[0], Get(parameters, n + ".weight"), Get(parameters, n + ".bias"),
                               Get(buffers, n + ".running_mean"), Get(buffers, n + ".running_var"),
                               /*training=*/false, /*momentum=*/0.0, a.epsilon,
                               /*cudnn_enabled=*/false);
    }
    case LayerOp::kLinear: {
      const auto& a = std::get<LinearAttrs>(layer.attrs);
      return torch::linear(in[0], Get(parameters, n + ".weight"),
                           a.bias ? Get(parameters, n + ".bias") : torch::Tensor());
    }
    case LayerOp::kRelu:
      return torch::relu(in[0]);
    case LayerOp::kClip: {
      const auto& a = std::get<ClipAttrs>(layer.attrs);
      return torch::clamp(in[0], a.min, a.max);
    }
    case LayerOp::kMaxPool: {
      const auto& a = std::get<PoolAttrs>(layer.attrs);
      return torch::max_pool2d(in[0], a.kernel_size, a.stride, a.padding);
    }
    case LayerOp::kAveragePool: {
      const auto& a = std::get<PoolAttrs>(layer.attrs);
      return torch::avg_pool2d(in[0], a.kernel_size, a.stride, a.padding, /*ceil_mode=*/false,
                               /*count_include_pad=*/true);
    }
    case LayerOp::kGlobalAveragePool:
      return in[0].mean({2, 3}, /*keepdim=*/true);
    case LayerOp::kFlatten:
      return in[0].flatten(1);
    case LayerOp::kAdd:
      return in[0] + in[1];
  }
  assert(false && "unknown LayerOp");
  return torch::Tensor();
}

}  // namespace

absl::Status CheckGraphTensors(const LayerGraph& graph, const torch::nn::Module& module) {
  const auto parameters = module.named_parameters();
  const auto buffers = module.named_buffers();
  std::set<std::string> named;
  const std::vector<Layer>& layers = graph.layers();
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    for (const NamedTensor& expected : LayerTensors(layers[i])) {
      const torch::Tensor* tensor =
          (expected.parameter ? parameters : buffers).find(expected.name);
      if (tensor == nullptr || !tensor->defined()) {
        return absl::NotFoundError(absl::StrFormat(
            "%s names %s '%s', which the module lacks", LayerLabel(layers[i], i),
            expected.parameter ? "parameter" : "buffer", expected.name));
      }
      if (tensor->sizes() != torch::IntArrayRef(expected.sizes)) {
        return absl::InvalidArgumentError(absl::StrFormat(
            "%s expects '%s' of size [%s], the module's is %s", LayerLabel(layers[i], i),
            expected.name, absl::StrJoin(expected.sizes, ", "), c10::str(tensor->sizes())));
      }
      named.insert(expected.name);
    }
  }
  for (const auto& parameter : parameters) {
    if (named.count(parameter.key()) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "module parameter '", parameter.key(), "' is named by no layer of the graph"));
    }
  }
  return absl::OkStatus();
}

int64_t GraphParameterCount(const LayerGraph& graph) {
  int64_t count = 0;
  for (const Layer& layer : graph.layers()) {
    for (const NamedTensor& tensor : LayerTensors(layer)) {
      if (!tensor.parameter) continue;
      int64_t elements = 1;
      for (int64_t size : tensor.sizes) elements *= size;
      count += elements;
    }
  }
  return count;
}

absl::StatusOr<torch::Tensor> RunLayerGraph(const LayerGraph& graph,
                                            const torch::nn::Module& module,
                                            const torch::Tensor& images) {
  RETURN_IF_ERROR(CheckGraphTensors(graph, module));
  RETURN_IF_ERROR(InferShapes(graph).status());
  const Shape& input = graph.input_shape();
  if (images.dim() != 4 || images.sizes().slice(1) != torch::IntArrayRef(input)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "images of size %s do not match the graph's input [batch, %s]",
        c10::str(images.sizes()), absl::StrJoin(input, ", ")));
  }
  const auto parameters = module.named_parameters();
  const auto buffers = module.named_buffers();
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor, std::less<>> values = {
      {std::string(LayerGraph::kInput), images}};
  const std::vector<Layer>& layers = graph.layers();
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    std::vector<torch::Tensor> inputs;
    for (const std::string& name : layers[i].inputs) inputs.push_back(values.at(name));
    try {
      values[layers[i].output] = RunLayer(layers[i], inputs, parameters, buffers);
    } catch (const c10::Error& e) {
      return absl::InvalidArgumentError(
          absl::StrCat(LayerLabel(layers[i], i), ": ", e.what_without_backtrace()));
    }
  }
  return values.at(graph.output());
}

}  // namespace edgecompress::training
