#include "training/models/lenet_graph.h"

#include <string>

namespace edgecompress::training {

LayerGraph LeNet5Graph(int64_t num_classes) {
  LayerGraph graph({1, 28, 28});
  std::string x = graph.Conv2d(
      "conv1", LayerGraph::kInput,
      {.in_channels = 1, .out_channels = 6, .kernel_size = 5, .padding = 2});
  x = graph.MaxPool(graph.Relu(x), {.kernel_size = 2, .stride = 2});
  x = graph.Conv2d("conv2", x, {.in_channels = 6, .out_channels = 16, .kernel_size = 5});
  x = graph.Flatten(graph.MaxPool(graph.Relu(x), {.kernel_size = 2, .stride = 2}));
  x = graph.Relu(graph.Linear("fc1", x, {.in_features = 400, .out_features = 120}));
  x = graph.Relu(graph.Linear("fc2", x, {.in_features = 120, .out_features = 84}));
  graph.Linear("fc3", x, {.in_features = 84, .out_features = num_classes});
  return graph;
}

}  // namespace edgecompress::training
