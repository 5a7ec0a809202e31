#include "training/onnx/float_tensor.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

onnx::TensorProto Tensor(std::vector<int64_t> dims) {
  onnx::TensorProto tensor;
  tensor.set_name("w");
  tensor.set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tensor.add_dims(d);
  return tensor;
}

TEST(FloatTensorTest, ReadsRawDataAndFloatData) {
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, -1.0f};
  onnx::TensorProto raw = Tensor({2, 3});
  raw.set_raw_data(values.data(), values.size() * sizeof(float));
  absl::StatusOr<std::vector<float>> read = FloatTensorValues(raw, "w");
  ASSERT_THAT(read.status(), IsOk());
  EXPECT_EQ(*read, values);
  onnx::TensorProto listed = Tensor({3});
  for (float v : {4.0f, 5.0f, 6.0f}) listed.add_float_data(v);
  EXPECT_THAT(*FloatTensorValues(listed, "w"), ElementsAre(4.0f, 5.0f, 6.0f));
  // A scalar (no dims) holds one value.
  onnx::TensorProto scalar = Tensor({});
  scalar.add_float_data(2.5f);
  EXPECT_THAT(*FloatTensorValues(scalar, "w"), ElementsAre(2.5f));
}

// The writer replaces whatever the tensor held (here listed float_data of
// another shape and name) and the reader gets the values back.
TEST(FloatTensorTest, SetFloatTensorReplacesTheTensor) {
  onnx::TensorProto tensor = Tensor({3});
  tensor.set_name("old");
  for (float v : {4.0f, 5.0f, 6.0f}) tensor.add_float_data(v);
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f};
  SetFloatTensor(tensor, "w", {2, 2}, values);
  EXPECT_EQ(tensor.name(), "w");
  EXPECT_THAT(tensor.dims(), ElementsAre(2, 2));
  EXPECT_EQ(tensor.float_data_size(), 0);
  EXPECT_EQ(*FloatTensorValues(tensor, "w"), values);
}

TEST(FloatTensorTest, NamesWhatIsWrong) {
  onnx::TensorProto ints = Tensor({2});
  ints.set_data_type(onnx::TensorProto::INT64);
  EXPECT_THAT(FloatTensorValues(ints, "weight 'w'").status().message(),
              HasSubstr("weight 'w' is not FLOAT (data_type 7)"));
  onnx::TensorProto short_raw = Tensor({2, 2});
  short_raw.set_raw_data(std::string(12, '\0'));
  EXPECT_THAT(FloatTensorValues(short_raw, "w").status().message(),
              HasSubstr("w has 12 bytes of raw_data for 4 floats"));
  onnx::TensorProto short_list = Tensor({2, 2});
  short_list.add_float_data(1.0f);
  EXPECT_THAT(FloatTensorValues(short_list, "w").status().message(),
              HasSubstr("w has 1 floats for dims of 4"));
  onnx::TensorProto external = Tensor({2});
  external.set_data_location(onnx::TensorProto::EXTERNAL);
  EXPECT_THAT(FloatTensorValues(external, "w").status().message(),
              HasSubstr("w is stored in an external file"));
  EXPECT_THAT(FloatTensorValues(Tensor({2, -1}), "w").status().message(),
              HasSubstr("w has a negative dimension"));
}

}  // namespace
}  // namespace edgecompress::training
