#include "training/models/quantnet_graph.h"

#include <string>

namespace edgecompress::training {

LayerGraph QuantNetGraph(int64_t num_classes, int64_t input_channels, int64_t input_size) {
  // Two 3x3 stride-2 convolutions with padding 1 halve the side, rounding up.
  const int64_t side = (((input_size + 1) / 2) + 1) / 2;
  LayerGraph graph({input_channels, input_size, input_size});
  std::string x = graph.Conv2d("conv1", LayerGraph::kInput,
                               {.in_channels = input_channels, .out_channels = 32,
                                .kernel_size = 3, .stride = 2, .padding = 1});
  x = graph.Conv2d("conv2", graph.Relu(x),
                   {.in_channels = 32, .out_channels = 64, .kernel_size = 3, .stride = 2,
                    .padding = 1});
  x = graph.Flatten(graph.Relu(x));  // dropout: the identity at inference
  x = graph.Relu(
      graph.Linear("linear1", x, {.in_features = 64 * side * side, .out_features = 128}));
  x = graph.Relu(graph.Linear("linear2", x, {.in_features = 128, .out_features = 16}));
  graph.Linear("linear3", x, {.in_features = 16, .out_features = num_classes});
  return graph;
}

}  // namespace edgecompress::training
