#include "memplan/onnx_graph.h"

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

void SetShape(onnx::ValueInfoProto& value, int32_t elem_type,
              const std::vector<std::string>& dims) {
  value.mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
  auto* shape = value.mutable_type()->mutable_tensor_type()->mutable_shape();
  for (const std::string& dim : dims) {
    if (!dim.empty() && isdigit(dim[0])) {
      shape->add_dim()->set_dim_value(std::stoll(dim));
    } else {
      shape->add_dim()->set_dim_param(dim);
    }
  }
}

onnx::NodeProto* AddNode(onnx::GraphProto& graph, const std::string& name,
                         const std::string& type, const std::vector<std::string>& inputs,
                         const std::vector<std::string>& outputs) {
  onnx::NodeProto* node = graph.add_node();
  node->set_name(name);
  node->set_op_type(type);
  for (const std::string& input : inputs) node->add_input(input);
  for (const std::string& output : outputs) node->add_output(output);
  return node;
}

// x [N,3,8,8] -> Conv(W [4,3,3,3], pads 1) -> c [N,4,8,8] -> Relu -> r ->
// Reshape(shape from a Constant node, [-1, 256]) -> y [N,256]; fp32.
onnx::ModelProto SmallModel() {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto& graph = *model.mutable_graph();
  graph.set_name("small");
  SetShape(*graph.add_input(), onnx::TensorProto::FLOAT, {"N", "3", "8", "8"});
  graph.mutable_input(0)->set_name("x");
  onnx::TensorProto* weights = graph.add_initializer();
  weights->set_name("W");
  weights->set_data_type(onnx::TensorProto::FLOAT);
  for (int dim : {4, 3, 3, 3}) weights->add_dims(dim);
  for (int i = 0; i < 4 * 3 * 3 * 3; ++i) weights->add_float_data(0.0f);
  onnx::NodeProto* conv = AddNode(graph, "conv", "Conv", {"x", "W"}, {"c"});
  onnx::AttributeProto* pads = conv->add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  for (int pad : {1, 1, 1, 1}) pads->add_ints(pad);
  AddNode(graph, "", "Relu", {"c"}, {"r"});
  onnx::NodeProto* constant = AddNode(graph, "shape_const", "Constant", {}, {"shape"});
  onnx::AttributeProto* value = constant->add_attribute();
  value->set_name("value");
  value->set_type(onnx::AttributeProto::TENSOR);
  value->mutable_t()->set_data_type(onnx::TensorProto::INT64);
  value->mutable_t()->add_dims(2);
  value->mutable_t()->add_int64_data(-1);
  value->mutable_t()->add_int64_data(256);
  AddNode(graph, "reshape", "Reshape", {"r", "shape"}, {"y"});
  SetShape(*graph.add_output(), onnx::TensorProto::FLOAT, {"N", "256"});
  graph.mutable_output(0)->set_name("y");
  return model;
}

TEST(OnnxGraphTest, SizesFromShapeInferenceWithTheBatchSet) {
  absl::StatusOr<GraphSpec> spec = GraphSpecFromOnnx(SmallModel(), {.batch = 2});
  ASSERT_THAT(spec, IsOk());
  ASSERT_EQ(spec->tensors.size(), 4u);
  // fp32: x 2*3*8*8*4 = 1536; c, r, y 2*4*8*8*4 = 2048.
  EXPECT_EQ(spec->tensors[0].name, "x");
  EXPECT_EQ(spec->tensors[0].size_bytes, 1536);
  EXPECT_EQ(spec->tensors[1].size_bytes, 2048);
  EXPECT_EQ(spec->tensors[2].size_bytes, 2048);
  EXPECT_EQ(spec->tensors[3].name, "y");
  EXPECT_EQ(spec->tensors[3].size_bytes, 2048);
  // The Constant node leaves the schedule; the unnamed Relu gets a name.
  ASSERT_EQ(spec->operators.size(), 3u);
  EXPECT_EQ(spec->operators[0].name, "conv");
  EXPECT_FALSE(spec->operators[0].in_place_capable);
  EXPECT_EQ(spec->operators[1].name, "Relu_1");
  EXPECT_TRUE(spec->operators[1].in_place_capable);
  EXPECT_TRUE(spec->operators[2].in_place_capable);  // Reshape aliases its input
  EXPECT_THAT(spec->inputs, ElementsAre("x"));
  EXPECT_THAT(spec->outputs, ElementsAre("y"));
  EXPECT_THAT(spec->constants, ElementsAre("W", "shape"));
  EXPECT_THAT(Graph::Create(*spec), IsOk());
}

TEST(OnnxGraphTest, DefaultBatchIsOne) {
  absl::StatusOr<GraphSpec> spec = GraphSpecFromOnnx(SmallModel());
  ASSERT_THAT(spec, IsOk());
  EXPECT_EQ(spec->tensors[0].size_bytes, 768);
}

TEST(OnnxGraphTest, UnknownSizesAndControlFlowAreErrors) {
  onnx::ModelProto symbolic = SmallModel();
  symbolic.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()
      ->mutable_shape()->mutable_dim(2)->set_dim_param("H");
  EXPECT_THAT(GraphSpecFromOnnx(symbolic),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tensor 'x' has a symbolic dimension 'H'")));

  onnx::ModelProto strings;
  strings.set_ir_version(7);
  strings.add_opset_import()->set_version(13);
  SetShape(*strings.mutable_graph()->add_input(), onnx::TensorProto::STRING, {"2"});
  strings.mutable_graph()->mutable_input(0)->set_name("words");
  AddNode(*strings.mutable_graph(), "copy", "Identity", {"words"}, {"same"});
  strings.mutable_graph()->add_output()->set_name("same");
  EXPECT_THAT(GraphSpecFromOnnx(strings),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("tensor 'words' has ONNX type 8, which has no fixed size")));

  onnx::ModelProto control_flow = SmallModel();
  onnx::NodeProto* branch = AddNode(*control_flow.mutable_graph(), "branch", "If", {"x"}, {"z"});
  onnx::AttributeProto* then_branch = branch->add_attribute();
  then_branch->set_name("then_branch");
  then_branch->set_type(onnx::AttributeProto::GRAPH);
  then_branch->mutable_g()->set_name("then");
  EXPECT_THAT(GraphSpecFromOnnx(control_flow),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("node 'branch' (If)")));

  EXPECT_THAT(GraphSpecFromOnnx(SmallModel(), {.batch = 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("batch is 0")));
}

}  // namespace
}  // namespace edgecompress::memplan
