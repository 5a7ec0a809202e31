// An ONNX model as a memplan GraphSpec: activation sizes from ONNX's own shape
// inference (onnx/shape_inference/implementation.h, Debian's libonnx), with
// data propagation so that shapes computed by Shape/Gather/Concat chains
// (PyTorch's flatten) resolve.
//
//   - Initializers and the outputs of Constant nodes are constants: readable,
//     never planned. Constant nodes leave the schedule.
//   - A graph input's symbolic first dimension becomes `batch`; any other
//     symbolic or unknown dimension left after inference is an error naming
//     the tensor, as is a tensor inference gave no shape or type.
//   - Sizes are elements x the element size of the ONNX data type; string and
//     complex types are errors.
//   - Unnamed nodes are called "<op_type>_<index>".
//   - in_place_capable: elementwise and aliasing ops (Relu, Clip, Add, Mul,
//     BatchNormalization, Reshape, Flatten, ...) whose output is as large as
//     a non-constant input. Noted, never assumed (graph.h).
//   - Control flow (If, Loop, Scan: nodes with graph attributes) is
//     kUnimplemented.
// Takes the model by value because inference rewrites it.
#ifndef EDGECOMPRESS_MEMPLAN_ONNX_GRAPH_H_
#define EDGECOMPRESS_MEMPLAN_ONNX_GRAPH_H_

#include <onnx/onnx_pb.h>

#include <cstdint>

#include "absl/status/statusor.h"
#include "memplan/graph.h"

namespace edgecompress::memplan {

struct OnnxGraphOptions {
  int64_t batch = 1;  // value of a graph input's symbolic first dimension; >= 1
};

// kInvalidArgument naming the tensor or node when sizes cannot be known.
absl::StatusOr<GraphSpec> GraphSpecFromOnnx(onnx::ModelProto model,
                                            const OnnxGraphOptions& options = {});

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_ONNX_GRAPH_H_
