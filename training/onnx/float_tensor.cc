#include "training/onnx/float_tensor.h"

#include <cstdint>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "onnx/onnx_pb.h"

namespace edgecompress::training {

absl::StatusOr<std::vector<float>> FloatTensorValues(const onnx::TensorProto& tensor,
                                                     absl::string_view what) {
  if (tensor.data_type() != onnx::TensorProto::FLOAT) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is not FLOAT (data_type ", tensor.data_type(), ")"));
  }
  if (tensor.has_data_location() &&
      tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is stored in an external file"));
  }
  int64_t n = 1;
  for (int64_t d : tensor.dims()) n *= d;
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat(what, " has a negative dimension"));
  std::vector<float> values(static_cast<size_t>(n));
  if (tensor.has_raw_data()) {
    if (tensor.raw_data().size() != values.size() * sizeof(float)) {
      return absl::InvalidArgumentError(absl::StrCat(what, " has ", tensor.raw_data().size(),
                                                     " bytes of raw_data for ", n, " floats"));
    }
    std::memcpy(values.data(), tensor.raw_data().data(), tensor.raw_data().size());
  } else if (tensor.float_data_size() == n) {
    values.assign(tensor.float_data().begin(), tensor.float_data().end());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " has ", tensor.float_data_size(), " floats for dims of ", n));
  }
  return values;
}

void SetFloatTensor(onnx::TensorProto& tensor, const std::string& name,
                    absl::Span<const int64_t> dims, absl::Span<const float> values) {
  tensor.Clear();
  tensor.set_name(name);
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tensor.add_dims(d);
  tensor.set_raw_data(values.data(), values.size() * sizeof(float));
}

}  // namespace edgecompress::training
