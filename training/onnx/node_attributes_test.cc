#include "training/onnx/node_attributes.h"

#include "gtest/gtest.h"
#include "onnx/onnx_pb.h"

namespace edgecompress::training {
namespace {

TEST(NodeAttributesTest, FindsByNameOrFallsBack) {
  onnx::NodeProto node;
  onnx::AttributeProto* group = node.add_attribute();
  group->set_name("group");
  group->set_type(onnx::AttributeProto::INT);
  group->set_i(4);
  onnx::AttributeProto* pads = node.add_attribute();
  pads->set_name("pads");
  pads->set_type(onnx::AttributeProto::INTS);
  pads->add_ints(1);
  pads->add_ints(2);
  EXPECT_EQ(FindAttribute(node, "pads"), pads);
  EXPECT_EQ(FindAttribute(node, "strides"), nullptr);
  EXPECT_EQ(IntAttribute(node, "group", 1), 4);
  EXPECT_EQ(IntAttribute(node, "transB", 7), 7);
  EXPECT_EQ(IntsAttribute(node, "pads"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(IntsAttribute(node, "strides"), std::nullopt);
}

}  // namespace
}  // namespace edgecompress::training
