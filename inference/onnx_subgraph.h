// A piece of an ONNX model as a model of its own: the nodes that compute one
// value from another, with the initializers and Constant nodes they read.
// Early-exit inference (early_exit.h) runs a model as such pieces.
//
// The walk goes backwards from `output`, through producers, and stops at
// `input`, initializers and Constant outputs. Reaching any other graph input
// (or the graph input, when `input` is an inner value) means some node needs
// more than `input`: a skip connection around it, kUnimplemented naming the
// value. The input's and output's types come from the graph's inputs,
// outputs or value_info; an inner `input` without a shape there is
// kInvalidArgument (training/onnx's exporter records every value's shape).
#ifndef EDGECOMPRESS_INFERENCE_ONNX_SUBGRAPH_H_
#define EDGECOMPRESS_INFERENCE_ONNX_SUBGRAPH_H_

#include <onnx/onnx_pb.h>

#include <string>

#include "absl/status/statusor.h"

namespace edgecompress::inference {

absl::StatusOr<onnx::ModelProto> ExtractSubgraph(const onnx::ModelProto& model,
                                                 const std::string& input,
                                                 const std::string& output);

}  // namespace edgecompress::inference

#endif  // EDGECOMPRESS_INFERENCE_ONNX_SUBGRAPH_H_
