// Reading an ONNX node's attributes by name, for the passes that inspect or
// rewrite graphs (quantization's QDQ export, the sparse engine's importer,
// lowrank's splitting, partition's tile models).
#ifndef EDGECOMPRESS_TRAINING_ONNX_NODE_ATTRIBUTES_H_
#define EDGECOMPRESS_TRAINING_ONNX_NODE_ATTRIBUTES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/strings/string_view.h"

namespace onnx {
class AttributeProto;
class NodeProto;
}  // namespace onnx

namespace edgecompress::training {

// The attribute called `name`, or nullptr when the node has none.
const onnx::AttributeProto* FindAttribute(const onnx::NodeProto& node, absl::string_view name);

// Its integer value, or `fallback` (the operator's default) when absent.
int64_t IntAttribute(const onnx::NodeProto& node, absl::string_view name, int64_t fallback);

// Its integer list (kernel_shape, strides, pads, ...), or nullopt when absent.
std::optional<std::vector<int64_t>> IntsAttribute(const onnx::NodeProto& node,
                                                  absl::string_view name);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_ONNX_NODE_ATTRIBUTES_H_
