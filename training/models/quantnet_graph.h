// QuantNet's computation as a LayerGraph (see quantnet.h for the
// architecture), without LibTorch: QuantNet::Describe() returns it, and
// framework-free code and tests (bit allocation, the thesis's memory
// reductions) count its layers' parameters without the model.
#ifndef EDGECOMPRESS_TRAINING_MODELS_QUANTNET_GRAPH_H_
#define EDGECOMPRESS_TRAINING_MODELS_QUANTNET_GRAPH_H_

#include <cstdint>

#include "training/models/layer_graph.h"

namespace edgecompress::training {

// Layers named as QuantNet's modules: conv1, conv2, linear1, linear2, linear3.
// The arguments are QuantNetOptions' (1 class: the thesis's sigmoid head).
LayerGraph QuantNetGraph(int64_t num_classes = 1, int64_t input_channels = 3,
                         int64_t input_size = 32);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_QUANTNET_GRAPH_H_
