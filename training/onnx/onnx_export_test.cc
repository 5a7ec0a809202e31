#include "training/onnx/onnx_export.h"

#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet_graph.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Owns the values the ParameterViews of its lookup point into.
class TestParams {
 public:
  TestParams() = default;
  TestParams(TestParams&&) = default;
  TestParams(const TestParams&) = delete;  // a copy's views would point into the original

  void Set(const std::string& name, std::vector<int64_t> shape, std::vector<float> values) {
    storage_.push_back(std::move(values));  // a deque never moves its elements
    lookup_[name] = {std::move(shape), storage_.back()};
  }
  // Distinct values 0.001 * (k + 1) - 0.05, so that a test can see which went where.
  void Fill(const std::string& name, std::vector<int64_t> shape) {
    int64_t size = 1;
    for (int64_t d : shape) size *= d;
    std::vector<float> values(size);
    for (int64_t k = 0; k < size; ++k) values[k] = 0.001f * (k + 1) - 0.05f;
    Set(name, std::move(shape), std::move(values));
  }
  const ParameterLookup& lookup() const { return lookup_; }

 private:
  std::deque<std::vector<float>> storage_;
  ParameterLookup lookup_;
};

TestParams LeNetParams() {
  TestParams params;
  params.Fill("conv1.weight", {6, 1, 5, 5});
  params.Fill("conv1.bias", {6});
  params.Fill("conv2.weight", {16, 6, 5, 5});
  params.Fill("conv2.bias", {16});
  params.Fill("fc1.weight", {120, 400});
  params.Fill("fc1.bias", {120});
  params.Fill("fc2.weight", {84, 120});
  params.Fill("fc2.bias", {84});
  params.Fill("fc3.weight", {10, 84});
  params.Fill("fc3.bias", {10});
  params.Fill("unused.running_mean", {3});  // read by no layer: ignored
  return params;
}

// Every LayerOp but BatchNorm, with non-default attributes:
//   conv 4->6 3x3 stride 2 pad 1 groups 2, no bias   [6, 4, 4]
//   ReLU6 as Clip(0, 6); max-pool 2 stride 1 pad 1   [6, 5, 5]
//   average-pool 3 stride 2 pad 1                    [6, 3, 3]
//   depthwise conv 3x3 pad 2 dilation 2              [6, 3, 3]
//   add(pool, depthwise), global average pool        [6, 1, 1]
//   flatten [6], linear 6->3 without bias            [3]
LayerGraph EveryOp() {
  LayerGraph graph({4, 8, 8});
  std::string x = graph.Conv2d("conv", LayerGraph::kInput,
                               {.in_channels = 4, .out_channels = 6, .kernel_size = 3, .stride = 2,
                                .padding = 1, .groups = 2, .bias = false});
  x = graph.MaxPool(graph.Clip(x, {.min = 0.0f, .max = 6.0f}),
                    {.kernel_size = 2, .stride = 1, .padding = 1});
  const std::string pooled = graph.AveragePool(x, {.kernel_size = 3, .stride = 2, .padding = 1});
  const std::string depthwise =
      graph.Conv2d("dw", pooled,
                   {.in_channels = 6, .out_channels = 6, .kernel_size = 3, .padding = 2,
                    .dilation = 2, .groups = 6});
  x = graph.Flatten(graph.GlobalAveragePool(graph.Add(pooled, depthwise)));
  graph.Linear("fc", x, {.in_features = 6, .out_features = 3, .bias = false});
  return graph;
}

TestParams EveryOpParams() {
  TestParams params;
  params.Fill("conv.weight", {6, 2, 3, 3});
  params.Fill("dw.weight", {6, 1, 3, 3});
  params.Fill("dw.bias", {6});
  params.Fill("fc.weight", {3, 6});
  return params;
}

std::vector<std::string> OpTypes(const onnx::ModelProto& model) {
  std::vector<std::string> types;
  for (const onnx::NodeProto& node : model.graph().node()) types.push_back(node.op_type());
  return types;
}

const onnx::NodeProto& Node(const onnx::ModelProto& model, const std::string& name) {
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.name() == name) return node;
  }
  ADD_FAILURE() << "no node " << name;
  static const onnx::NodeProto* const kEmpty = new onnx::NodeProto();
  return *kEmpty;
}

std::vector<std::string> Inputs(const onnx::NodeProto& node) {
  return {node.input().begin(), node.input().end()};
}

const onnx::AttributeProto* Attribute(const onnx::NodeProto& node, const std::string& name) {
  for (const onnx::AttributeProto& attribute : node.attribute()) {
    if (attribute.name() == name) return &attribute;
  }
  return nullptr;
}

std::vector<int64_t> Ints(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attribute = Attribute(node, name);
  if (attribute == nullptr) return {};
  return {attribute->ints().begin(), attribute->ints().end()};
}

int64_t Int(const onnx::NodeProto& node, const std::string& name) {
  const onnx::AttributeProto* attribute = Attribute(node, name);
  return attribute == nullptr ? -1 : attribute->i();
}

struct Tensor {
  std::vector<int64_t> dims;
  std::vector<float> values;
};

Tensor Initializer(const onnx::ModelProto& model, const std::string& name) {
  for (const onnx::TensorProto& tensor : model.graph().initializer()) {
    if (tensor.name() != name) continue;
    EXPECT_EQ(tensor.data_type(), onnx::TensorProto::FLOAT) << name;
    EXPECT_EQ(tensor.float_data_size(), 0) << name << ": values belong in raw_data";
    Tensor result{{tensor.dims().begin(), tensor.dims().end()},
                  std::vector<float>(tensor.raw_data().size() / sizeof(float))};
    std::memcpy(result.values.data(), tensor.raw_data().data(), tensor.raw_data().size());
    return result;
  }
  ADD_FAILURE() << "no initializer " << name;
  return {};
}

std::vector<std::string> InitializerNames(const onnx::ModelProto& model) {
  std::vector<std::string> names;
  for (const onnx::TensorProto& tensor : model.graph().initializer()) {
    names.push_back(tensor.name());
  }
  return names;
}

// Dimensions as text: "batch" for the symbolic one, else the number.
std::vector<std::string> Dims(const onnx::ValueInfoProto& value) {
  std::vector<std::string> dims;
  for (const auto& dim : value.type().tensor_type().shape().dim()) {
    dims.push_back(dim.has_dim_param() ? dim.dim_param() : std::to_string(dim.dim_value()));
  }
  return dims;
}

TEST(OnnxExportTest, LowersLeNet) {
  const TestParams params = LeNetParams();
  absl::StatusOr<onnx::ModelProto> model = ExportOnnx(LeNet5Graph(), params.lookup());
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ(model->ir_version(), onnx::IR_VERSION);
  ASSERT_THAT(model->opset_import(), SizeIs(1));
  EXPECT_EQ(model->opset_import(0).domain(), "");
  EXPECT_EQ(model->opset_import(0).version(), 13);
  EXPECT_THAT(OpTypes(*model), ElementsAre("Conv", "Relu", "MaxPool", "Conv", "Relu", "MaxPool",
                                           "Flatten", "Gemm", "Relu", "Gemm", "Relu", "Gemm"));

  const onnx::GraphProto& graph = model->graph();
  ASSERT_THAT(graph.input(), SizeIs(1));
  EXPECT_EQ(graph.input(0).name(), "input");
  EXPECT_THAT(Dims(graph.input(0)), ElementsAre("batch", "1", "28", "28"));
  ASSERT_THAT(graph.output(), SizeIs(1));
  EXPECT_EQ(graph.output(0).name(), "logits");
  EXPECT_THAT(Dims(graph.output(0)), ElementsAre("batch", "10"));
  EXPECT_THAT(graph.value_info(), SizeIs(11));  // every node output but the logits

  EXPECT_THAT(InitializerNames(*model),
              ElementsAre("conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight",
                          "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"));
  EXPECT_THAT(Initializer(*model, "conv2.weight").dims, ElementsAre(16, 6, 5, 5));
  EXPECT_THAT(Initializer(*model, "fc1.weight").dims, ElementsAre(120, 400));
  EXPECT_THAT(Initializer(*model, "fc3.bias").dims, ElementsAre(10));
  const ParameterView& conv1 = params.lookup().at("conv1.weight");
  EXPECT_THAT(Initializer(*model, "conv1.weight").values, ElementsAreArray(conv1.values));

  const onnx::NodeProto& conv = Node(*model, "conv1");
  EXPECT_THAT(Inputs(conv), ElementsAre("input", "conv1.weight", "conv1.bias"));
  EXPECT_THAT(Ints(conv, "kernel_shape"), ElementsAre(5, 5));
  EXPECT_THAT(Ints(conv, "strides"), ElementsAre(1, 1));
  EXPECT_THAT(Ints(conv, "pads"), ElementsAre(2, 2, 2, 2));
  EXPECT_THAT(Ints(conv, "dilations"), ElementsAre(1, 1));
  EXPECT_EQ(Int(conv, "group"), 1);
  const onnx::NodeProto& pool = graph.node(2);
  EXPECT_THAT(Ints(pool, "kernel_shape"), ElementsAre(2, 2));
  EXPECT_THAT(Ints(pool, "strides"), ElementsAre(2, 2));
  EXPECT_THAT(Ints(pool, "pads"), ElementsAre(0, 0, 0, 0));
  EXPECT_EQ(Int(graph.node(6), "axis"), 1);  // Flatten keeps the batch
  const onnx::NodeProto& fc3 = Node(*model, "fc3");
  EXPECT_THAT(Inputs(fc3), ElementsAre("relu_10", "fc3.weight", "fc3.bias"));
  EXPECT_EQ(fc3.output(0), "logits");
  EXPECT_EQ(Int(fc3, "transB"), 1);
}

TEST(OnnxExportTest, LowersEveryOpWithItsAttributes) {
  const TestParams params = EveryOpParams();
  absl::StatusOr<onnx::ModelProto> model = ExportOnnx(EveryOp(), params.lookup());
  ASSERT_THAT(model, IsOk());
  EXPECT_THAT(OpTypes(*model), ElementsAre("Conv", "Clip", "MaxPool", "AveragePool", "Conv", "Add",
                                           "GlobalAveragePool", "Flatten", "Gemm"));
  const onnx::NodeProto& conv = Node(*model, "conv");
  EXPECT_THAT(Inputs(conv), ElementsAre("input", "conv.weight"));  // no bias
  EXPECT_THAT(Ints(conv, "strides"), ElementsAre(2, 2));
  EXPECT_THAT(Ints(conv, "pads"), ElementsAre(1, 1, 1, 1));
  EXPECT_EQ(Int(conv, "group"), 2);
  EXPECT_THAT(Initializer(*model, "conv.weight").dims, ElementsAre(6, 2, 3, 3));

  const onnx::NodeProto& clip = Node(*model, "clip_1");
  EXPECT_THAT(Inputs(clip), ElementsAre("conv", "clip_1.min", "clip_1.max"));
  const Tensor min = Initializer(*model, "clip_1.min");
  const Tensor max = Initializer(*model, "clip_1.max");
  EXPECT_THAT(min.dims, ElementsAre());  // scalars
  EXPECT_THAT(min.values, ElementsAre(0.0f));
  EXPECT_THAT(max.values, ElementsAre(6.0f));

  const onnx::NodeProto& max_pool = Node(*model, "max_pool_2");
  EXPECT_THAT(Ints(max_pool, "strides"), ElementsAre(1, 1));
  EXPECT_THAT(Ints(max_pool, "pads"), ElementsAre(1, 1, 1, 1));
  const onnx::NodeProto& average_pool = Node(*model, "average_pool_3");
  EXPECT_THAT(Ints(average_pool, "kernel_shape"), ElementsAre(3, 3));
  EXPECT_THAT(Ints(average_pool, "strides"), ElementsAre(2, 2));
  EXPECT_THAT(Ints(average_pool, "pads"), ElementsAre(1, 1, 1, 1));
  EXPECT_EQ(Int(average_pool, "count_include_pad"), 1);

  const onnx::NodeProto& depthwise = Node(*model, "dw");
  EXPECT_THAT(Inputs(depthwise), ElementsAre("average_pool_3", "dw.weight", "dw.bias"));
  EXPECT_THAT(Ints(depthwise, "dilations"), ElementsAre(2, 2));
  EXPECT_THAT(Ints(depthwise, "pads"), ElementsAre(2, 2, 2, 2));
  EXPECT_EQ(Int(depthwise, "group"), 6);
  EXPECT_THAT(Initializer(*model, "dw.weight").dims, ElementsAre(6, 1, 3, 3));

  EXPECT_THAT(Inputs(Node(*model, "add_5")), ElementsAre("average_pool_3", "dw"));
  const onnx::NodeProto& fc = Node(*model, "fc");
  EXPECT_THAT(Inputs(fc), ElementsAre("flatten_7", "fc.weight"));
  EXPECT_EQ(Int(fc, "transB"), 1);
  EXPECT_THAT(Dims(model->graph().output(0)), ElementsAre("batch", "3"));
}

// conv 1->2 1x1 with bias, then BatchNorm (epsilon 1e-5); per channel
// s = gamma / sqrt(var + eps), w' = w s, b' = (b - mean) s + beta:
//   channel 0: w 2, b 1, gamma 3, beta 0.5, mean 2, var 4:
//     s = 3 / sqrt(4.00001) = 1.4999981; w' = 2.9999963; b' = -1.4999981 + 0.5 = -0.9999981
//   channel 1: w -1, b 0, gamma 0.5, beta -1, mean 1, var 0.25:
//     s = 0.5 / sqrt(0.25001) = 0.99998; w' = -0.99998; b' = -0.99998 - 1 = -1.99998
TEST(OnnxExportTest, FoldsBatchNormIntoTheConvBeforeIt) {
  LayerGraph graph({1, 2, 2});
  const std::string conv =
      graph.Conv2d("conv", LayerGraph::kInput, {.in_channels = 1, .out_channels = 2});
  graph.BatchNorm("bn", conv, {.channels = 2, .epsilon = 1e-5});
  TestParams params;
  params.Set("conv.weight", {2, 1, 1, 1}, {2.0f, -1.0f});
  params.Set("conv.bias", {2}, {1.0f, 0.0f});
  params.Set("bn.weight", {2}, {3.0f, 0.5f});
  params.Set("bn.bias", {2}, {0.5f, -1.0f});
  params.Set("bn.running_mean", {2}, {2.0f, 1.0f});
  params.Set("bn.running_var", {2}, {4.0f, 0.25f});

  absl::StatusOr<onnx::ModelProto> model = ExportOnnx(graph, params.lookup());
  ASSERT_THAT(model, IsOk());
  EXPECT_THAT(OpTypes(*model), ElementsAre("Conv"));
  EXPECT_THAT(Inputs(model->graph().node(0)), ElementsAre("input", "conv.weight", "conv.bias"));
  EXPECT_EQ(model->graph().node(0).output(0), "logits");  // the BatchNorm's value
  EXPECT_THAT(InitializerNames(*model), ElementsAre("conv.weight", "conv.bias"));
  const Tensor w = Initializer(*model, "conv.weight");
  const Tensor b = Initializer(*model, "conv.bias");
  EXPECT_THAT(w.dims, ElementsAre(2, 1, 1, 1));
  ASSERT_THAT(w.values, SizeIs(2));
  ASSERT_THAT(b.values, SizeIs(2));
  EXPECT_NEAR(w.values[0], 2.9999963, 1e-6);
  EXPECT_NEAR(w.values[1], -0.99998, 1e-6);
  EXPECT_NEAR(b.values[0], -0.9999981, 1e-6);
  EXPECT_NEAR(b.values[1], -1.99998, 1e-6);
}

// A convolution without bias gains one: with epsilon 0, gamma 2, beta 1,
// mean 3, var 1: s = 2, w' = 1.5 * 2 = 3, b' = (0 - 3) * 2 + 1 = -5, exactly.
// The zero weight stays zero: folding keeps a pruned convolution sparse.
TEST(OnnxExportTest, FoldingGivesABiaslessConvABias) {
  LayerGraph graph({2, 3, 3});
  const std::string conv = graph.Conv2d(
      "conv", LayerGraph::kInput, {.in_channels = 2, .out_channels = 1, .bias = false});
  graph.Relu(graph.BatchNorm("bn", conv, {.channels = 1, .epsilon = 0.0}));
  TestParams params;
  params.Set("conv.weight", {1, 2, 1, 1}, {1.5f, 0.0f});
  params.Set("bn.weight", {1}, {2.0f});
  params.Set("bn.bias", {1}, {1.0f});
  params.Set("bn.running_mean", {1}, {3.0f});
  params.Set("bn.running_var", {1}, {1.0f});

  absl::StatusOr<onnx::ModelProto> model = ExportOnnx(graph, params.lookup());
  ASSERT_THAT(model, IsOk());
  EXPECT_THAT(OpTypes(*model), ElementsAre("Conv", "Relu"));
  EXPECT_THAT(Inputs(model->graph().node(0)), ElementsAre("input", "conv.weight", "conv.bias"));
  EXPECT_EQ(model->graph().node(0).output(0), "bn");
  EXPECT_THAT(Inputs(model->graph().node(1)), ElementsAre("bn"));
  EXPECT_THAT(Initializer(*model, "conv.weight").values, ElementsAre(3.0f, 0.0f));
  EXPECT_THAT(Initializer(*model, "conv.bias").values, ElementsAre(-5.0f));
}

// When the convolution's output is needed elsewhere, or the BatchNorm does not
// follow a convolution, or folding is off, the BatchNorm stays a node.
TEST(OnnxExportTest, KeepsBatchNormNodesThatCannotFold) {
  struct Case {
    const char* name;
    LayerGraph graph;
    bool fold;
    std::vector<std::string> op_types;
  };
  const Conv2dAttrs conv_attrs = {
      .in_channels = 2, .out_channels = 2, .kernel_size = 3, .padding = 1};
  const BatchNormAttrs bn_attrs = {.channels = 2, .epsilon = 1e-3};
  std::vector<Case> cases;
  {  // the conv output also feeds the Add
    LayerGraph graph({2, 4, 4});
    const std::string conv = graph.Conv2d("conv", LayerGraph::kInput, conv_attrs);
    graph.Add(conv, graph.BatchNorm("bn", conv, bn_attrs));
    cases.push_back({"conv read twice", graph, true, {"Conv", "BatchNormalization", "Add"}});
  }
  {  // BatchNorm after an Add, as at the end of a pre-activation block
    LayerGraph graph({2, 4, 4});
    const std::string conv = graph.Conv2d("conv", LayerGraph::kInput, conv_attrs);
    graph.BatchNorm("bn", graph.Add(conv, LayerGraph::kInput), bn_attrs);
    cases.push_back({"after add", graph, true, {"Conv", "Add", "BatchNormalization"}});
  }
  {  // BatchNorm of the graph input
    LayerGraph graph({2, 4, 4});
    graph.Conv2d("conv", graph.BatchNorm("bn", LayerGraph::kInput, bn_attrs), conv_attrs);
    cases.push_back({"of the input", graph, true, {"BatchNormalization", "Conv"}});
  }
  {  // the conv output is the graph output
    LayerGraph graph({2, 4, 4});
    const std::string conv = graph.Conv2d("conv", LayerGraph::kInput, conv_attrs);
    graph.BatchNorm("bn", conv, bn_attrs);
    graph.SetOutput(conv);
    cases.push_back({"conv is the output", graph, true, {"Conv", "BatchNormalization"}});
  }
  {  // foldable, but folding is off
    LayerGraph graph({2, 4, 4});
    graph.BatchNorm("bn", graph.Conv2d("conv", LayerGraph::kInput, conv_attrs), bn_attrs);
    cases.push_back({"folding off", graph, false, {"Conv", "BatchNormalization"}});
  }
  TestParams params;
  params.Fill("conv.weight", {2, 2, 3, 3});
  params.Fill("conv.bias", {2});
  params.Set("bn.weight", {2}, {1.5f, 0.5f});
  params.Set("bn.bias", {2}, {0.1f, 0.2f});
  params.Set("bn.running_mean", {2}, {0.3f, 0.4f});
  params.Set("bn.running_var", {2}, {2.0f, 3.0f});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    OnnxExportOptions options;
    options.fold_batch_norm = c.fold;
    absl::StatusOr<onnx::ModelProto> model = ExportOnnx(c.graph, params.lookup(), options);
    ASSERT_THAT(model, IsOk());
    EXPECT_THAT(OpTypes(*model), ElementsAreArray(c.op_types));
    const onnx::NodeProto& bn = Node(*model, "bn");
    EXPECT_THAT(Inputs(bn), SizeIs(5));
    EXPECT_EQ(bn.input(1), "bn.weight");
    EXPECT_EQ(bn.input(4), "bn.running_var");
    ASSERT_NE(Attribute(bn, "epsilon"), nullptr);
    EXPECT_FLOAT_EQ(Attribute(bn, "epsilon")->f(), 1e-3f);
    EXPECT_THAT(Initializer(*model, "bn.running_var").values, ElementsAre(2.0f, 3.0f));
    EXPECT_THAT(Initializer(*model, "conv.weight").values,
                ElementsAreArray(params.lookup().at("conv.weight").values));  // unfolded
  }
}

TEST(OnnxExportTest, NamesTheOutputAsAsked) {
  const TestParams params = LeNetParams();
  OnnxExportOptions options;
  options.output_name = "scores";
  options.graph_name = "lenet";
  absl::StatusOr<onnx::ModelProto> model = ExportOnnx(LeNet5Graph(), params.lookup(), options);
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ(model->graph().name(), "lenet");
  EXPECT_EQ(model->graph().output(0).name(), "scores");
  EXPECT_EQ(model->graph().node(11).output(0), "scores");
}

// ONNX's own shape inference, run on the model without our value_info, must
// agree with every shape LayerGraph gave (a conv and a pool attribute that
// disagreed would show here before any runtime runs the model).
TEST(OnnxExportTest, OnnxShapeInferenceAgreesWithLayerGraph) {
  const TestParams lenet_params = LeNetParams();
  const TestParams every_op_params = EveryOpParams();
  const std::vector<std::pair<LayerGraph, const TestParams*>> graphs = {
      {LeNet5Graph(), &lenet_params}, {EveryOp(), &every_op_params}};
  for (const auto& [graph, params] : graphs) {
    absl::StatusOr<onnx::ModelProto> model = ExportOnnx(graph, params->lookup());
    ASSERT_THAT(model, IsOk());
    onnx::ModelProto inferred = *model;
    inferred.mutable_graph()->clear_value_info();
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type_val=*/true,
                                                                   /*strict_mode_val=*/1));
    std::map<std::string, std::vector<std::string>> inferred_dims;
    for (const onnx::ValueInfoProto& value : inferred.graph().value_info()) {
      inferred_dims[value.name()] = Dims(value);
    }
    ASSERT_EQ(inferred_dims.size(), static_cast<size_t>(model->graph().value_info_size()));
    for (const onnx::ValueInfoProto& value : model->graph().value_info()) {
      EXPECT_EQ(inferred_dims[value.name()], Dims(value)) << value.name();
    }
  }
}

TEST(OnnxExportTest, RejectsMissingOrMisshapenParameters) {
  struct Case {
    const char* name;
    std::vector<int64_t> shape;  // empty: leave the parameter out
    int64_t values;
    const char* message;
  };
  const Case cases[] = {
      {"missing", {}, 0, "missing parameter 'conv2.weight' of layer conv2"},
      {"wrong shape", {16, 6, 3, 3}, 16 * 6 * 9,
       "parameter 'conv2.weight' has shape [16, 6, 3, 3]; layer conv2 needs [16, 6, 5, 5]"},
      {"transposed", {6, 16, 5, 5}, 2400, "conv2.weight"},
      {"too few values", {16, 6, 5, 5}, 2399,
       "parameter 'conv2.weight' has 2399 values; its shape [16, 6, 5, 5] needs 2400"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TestParams params = LeNetParams();
    ParameterLookup lookup = params.lookup();
    lookup.erase("conv2.weight");
    std::vector<float> values(c.values);
    if (!c.shape.empty()) lookup["conv2.weight"] = {c.shape, values};
    EXPECT_THAT(ExportOnnx(LeNet5Graph(), lookup),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.message)));
  }
}

TEST(OnnxExportTest, RejectsAMissingBatchNormStatistic) {
  LayerGraph graph({1, 4, 4});
  graph.BatchNorm("bn",
                  graph.Conv2d("conv", LayerGraph::kInput, {.in_channels = 1, .out_channels = 2}),
                  {.channels = 2});
  TestParams params;
  params.Fill("conv.weight", {2, 1, 1, 1});
  params.Fill("conv.bias", {2});
  params.Fill("bn.weight", {2});
  params.Fill("bn.bias", {2});
  params.Fill("bn.running_mean", {2});
  for (bool fold : {true, false}) {
    SCOPED_TRACE(fold ? "folded" : "node");
    OnnxExportOptions options;
    options.fold_batch_norm = fold;
    EXPECT_THAT(ExportOnnx(graph, params.lookup(), options),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'bn.running_var'")));
  }
}

TEST(OnnxExportTest, RejectsBadGraphsAndOutputNames) {
  const TestParams params = LeNetParams();
  LayerGraph bad({1, 28, 28});
  bad.Linear("fc", bad.Flatten(LayerGraph::kInput), {.in_features = 100, .out_features = 10});
  EXPECT_THAT(ExportOnnx(bad, params.lookup()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expects [100] features")));
  LayerGraph empty({1, 28, 28});
  empty.SetOutput(LayerGraph::kInput);
  EXPECT_THAT(ExportOnnx(empty, params.lookup()), StatusIs(absl::StatusCode::kInvalidArgument));

  for (const char* name : {"", "input", "relu_1", "fc2"}) {
    SCOPED_TRACE(name);
    OnnxExportOptions options;
    options.output_name = name;
    EXPECT_THAT(ExportOnnx(LeNet5Graph(), params.lookup(), options),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output_name")));
  }
  OnnxExportOptions options;
  options.output_name = "fc3";  // the output's own LayerGraph name is fine
  EXPECT_THAT(ExportOnnx(LeNet5Graph(), params.lookup(), options), IsOk());
}

TEST(OnnxExportTest, CheckerFailureIsInternal) {
  const TestParams params = LeNetParams();
  absl::StatusOr<onnx::ModelProto> model = ExportOnnx(LeNet5Graph(), params.lookup());
  ASSERT_THAT(model, IsOk());
  EXPECT_THAT(CheckOnnxModel(*model), IsOk());
  model->mutable_graph()->mutable_node(1)->set_op_type("NoSuchOperator");
  EXPECT_THAT(CheckOnnxModel(*model),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("NoSuchOperator")));
}

}  // namespace
}  // namespace edgecompress::training
