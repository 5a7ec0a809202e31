// The values of an ONNX FLOAT tensor (an initializer, a Constant's value),
// from raw_data (little-endian, as ONNX stores it; x86 and aarch64 are
// little-endian) or from float_data, whichever the tensor uses, and the
// writer of such a tensor. Shared by every pass that writes or rewrites
// initializers (the exporter, quantization's QDQ export and BatchNorm
// folding, tools/compress's weight sharing, lowrank's splitting).
#ifndef EDGECOMPRESS_TRAINING_ONNX_FLOAT_TENSOR_H_
#define EDGECOMPRESS_TRAINING_ONNX_FLOAT_TENSOR_H_

#include <vector>

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace onnx {
class TensorProto;
}  // namespace onnx

namespace edgecompress::training {

// kInvalidArgument starting with `what` (say, "node 'fc' (Gemm) weight
// 'fc.weight'") for another data type, data in an external file, a negative
// dimension, or a raw_data or float_data size that does not match the dims.
absl::StatusOr<std::vector<float>> FloatTensorValues(const onnx::TensorProto& tensor,
                                                     absl::string_view what);

// Makes `tensor` (whatever it held) the FLOAT tensor `name` of shape `dims`
// with `values` as raw_data.
void SetFloatTensor(onnx::TensorProto& tensor, const std::string& name,
                    absl::Span<const int64_t> dims, absl::Span<const float> values);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_ONNX_FLOAT_TENSOR_H_
