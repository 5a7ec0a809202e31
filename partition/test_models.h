// Models for the partition tests: a small MobileNet-style stem exported
// through training/onnx, and a helper that runs any model on inference/.
#ifndef EDGECOMPRESS_PARTITION_TEST_MODELS_H_
#define EDGECOMPRESS_PARTITION_TEST_MODELS_H_

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <vector>

#include "absl/types/span.h"

namespace edgecompress::partition {

// Input [N, 3, 30, 30], output [N, 5]; five spatial layers before the global
// average pool (test_models.cc lists them), deterministic weights.
onnx::ModelProto StemModel();

// The model's output for `input` at `batch`; a test failure (and an empty
// result) when it does not import or run.
std::vector<float> RunModel(const onnx::ModelProto& model, absl::Span<const float> input,
                            size_t batch);

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_TEST_MODELS_H_
