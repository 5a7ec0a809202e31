// LeNet-5's computation as a LayerGraph (see lenet.h for the architecture),
// without LibTorch: LeNet5::Describe() returns it, and framework-free code
// and tests (pruning recipes, ONNX export) use it without the model.
#ifndef EDGECOMPRESS_TRAINING_MODELS_LENET_GRAPH_H_
#define EDGECOMPRESS_TRAINING_MODELS_LENET_GRAPH_H_

#include <cstdint>

#include "training/models/layer_graph.h"

namespace edgecompress::training {

// Layers named as LeNet5's modules: conv1, conv2, fc1, fc2, fc3.
LayerGraph LeNet5Graph(int64_t num_classes = 10);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_LENET_GRAPH_H_
