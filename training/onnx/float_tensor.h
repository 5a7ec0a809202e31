// The values of an ONNX FLOAT tensor (an initializer, a Constant's value),
// from raw_data (little-endian, as ONNX stores it; x86 and aarch64 are
// little-endian) or from float_data, whichever the tensor uses. Shared by
// every pass that rewrites initializers (quantization's QDQ export and
// BatchNorm folding, tools/compress's weight sharing, lowrank's splitting).
#ifndef EDGECOMPRESS_TRAINING_ONNX_FLOAT_TENSOR_H_
#define EDGECOMPRESS_TRAINING_ONNX_FLOAT_TENSOR_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace onnx {
class TensorProto;
}  // namespace onnx

namespace edgecompress::training {

// kInvalidArgument starting with `what` (say, "node 'fc' (Gemm) weight
// 'fc.weight'") for another data type, data in an external file, a negative
// dimension, or a raw_data or float_data size that does not match the dims.
absl::StatusOr<std::vector<float>> FloatTensorValues(const onnx::TensorProto& tensor,
                                                     absl::string_view what);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_ONNX_FLOAT_TENSOR_H_
