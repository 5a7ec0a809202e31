#include "inference/sparse/sparse_model.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inference/onnx_import.h"
#include "inference/sparse/random_pruned_models.h"
#include "tools/status/status_matchers.h"
#include "training/models/layer_graph.h"

namespace edgecompress::inference::sparse {
namespace {

using ::edgecompress::IsOk;
using ::edgecompress::StatusIs;
using ::testing::HasSubstr;
using training::LayerGraph;

std::string Serialize(const LayerGraph& graph, double sparsity) {
  RandomPruneOptions options;
  options.sparsity = sparsity;
  absl::StatusOr<onnx::ModelProto> model = RandomPrunedModel(graph, options);
  EXPECT_THAT(model.status(), IsOk());
  return model.ok() ? model->SerializeAsString() : "";
}

std::vector<float> RandomInput(size_t n) {
  std::mt19937 rng(::testing::UnitTest::GetInstance()->random_seed());
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

// The dense engine's output (OnnxRuntime) for `input`.
std::vector<float> DenseOutput(const std::string& bytes, size_t batch,
                               const std::vector<float>& input) {
  absl::StatusOr<OnnxModel> model = OnnxModel::ImportBytes(bytes, {.batch_size = batch});
  EXPECT_THAT(model.status(), IsOk());
  absl::StatusOr<OnnxRuntime> runtime = model->Build(1);
  EXPECT_THAT(runtime.status(), IsOk());
  std::vector<float> out(runtime->output_size());
  EXPECT_THAT(runtime->Run(input, absl::MakeSpan(out)), IsOk());
  return out;
}

void ExpectClose(absl::Span<const float> actual, absl::Span<const float> expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    ASSERT_NEAR(actual[i], expected[i], 1e-4 * std::max(1.0f, std::abs(expected[i]))) << "at " << i;
  }
}

// `n` sparse stages where our kernels run, none where XNNPACK's sparse path
// takes the whole model as one runtime.
int SparseStages(int n) { return kSparseModelUsesOurKernels ? n : 0; }

// Runs `bytes` under every policy, batch and thread count and compares with
// the dense engine; returns the kSparse runtime's sparse stage count.
int ExpectMatchesDense(const std::string& bytes) {
  int sparse_stages = -1;
  for (size_t batch : {1, 3}) {
    absl::StatusOr<SparseModel> model = SparseModel::ImportBytes(bytes, {.batch_size = batch});
    EXPECT_THAT(model.status(), IsOk());
    if (!model.ok()) return -1;
    size_t input_size = 1;
    for (size_t d : model->input_shape()) input_size *= d;
    const std::vector<float> input = RandomInput(input_size);
    const std::vector<float> expected = DenseOutput(bytes, batch, input);
    for (int threads : {1, 2}) {
      for (SparsePolicy policy :
           {SparsePolicy::kDense, SparsePolicy::kSparse, SparsePolicy::kAuto}) {
        SCOPED_TRACE(::testing::Message() << "batch " << batch << " threads " << threads
                                          << " policy " << static_cast<int>(policy));
        SparseBuildOptions options;
        options.num_threads = threads;
        options.policy = policy;
        options.auto_reps = 1;
        absl::StatusOr<SparseRuntime> runtime = model->Build(options);
        EXPECT_THAT(runtime.status(), IsOk());
        if (!runtime.ok()) return -1;
        std::vector<float> out(runtime->output_size());
        // Twice: the arena's buffers are reused between runs.
        for (int run = 0; run < 2; ++run) {
          EXPECT_THAT(runtime->Run(input, absl::MakeSpan(out)), IsOk());
          ExpectClose(out, expected);
        }
        if (policy == SparsePolicy::kDense) {
          EXPECT_EQ(runtime->num_sparse_stages(), 0);
        }
        if (policy == SparsePolicy::kSparse) sparse_stages = runtime->num_sparse_stages();
      }
    }
  }
  return sparse_stages;
}

// conv 3x3, pointwise, depthwise stride 2, pointwise, pool, fc: the
// MobileNet pattern in small, every pointwise and the fc cuttable.
LayerGraph SmallChain() {
  LayerGraph graph({8, 10, 10});
  std::string x = graph.Conv2d(
      "conv", LayerGraph::kInput,
      {.in_channels = 8, .out_channels = 16, .kernel_size = 3, .padding = 1, .bias = false});
  x = graph.Relu(graph.BatchNorm("bn", x, {.channels = 16}));
  x = graph.Conv2d("pw1", x, {.in_channels = 16, .out_channels = 32, .bias = false});
  x = graph.Clip(graph.BatchNorm("pw1_bn", x, {.channels = 32}), {0.0f, 6.0f});
  x = graph.Conv2d("dw", x,
                   {.in_channels = 32,
                    .out_channels = 32,
                    .kernel_size = 3,
                    .stride = 2,
                    .padding = 1,
                    .groups = 32});
  x = graph.Conv2d("pw2", x, {.in_channels = 32, .out_channels = 24});
  x = graph.Relu(x);
  x = graph.Flatten(graph.GlobalAveragePool(x));
  graph.SetOutput(graph.Linear("fc", x, {.in_features = 24, .out_features = 10}));
  return graph;
}

TEST(SparseModelTest, SmallChainMatchesDense) {
  const std::string bytes = Serialize(SmallChain(), 0.8);
  absl::StatusOr<SparseModel> model = SparseModel::ImportBytes(bytes, {.batch_size = 1});
  ASSERT_THAT(model.status(), IsOk());
  ASSERT_EQ(model->candidates().size(), 3u);  // pw1, pw2, fc
  for (const SparseCandidate& c : model->candidates()) {
    EXPECT_TRUE(c.cuttable) << c.node << ": " << c.why_not;
    EXPECT_NEAR(c.sparsity, 0.8, 0.01) << c.node;
  }
  EXPECT_EQ(model->candidates()[0].activation, "Clip");
  EXPECT_EQ(model->candidates()[1].activation, "Relu");
  EXPECT_EQ(model->candidates()[0].pixels, 100u);
  EXPECT_EQ(model->candidates()[1].pixels, 25u);
  EXPECT_EQ(ExpectMatchesDense(bytes), SparseStages(3));
}

// A pointwise layer on the graph input and another as the graph output:
// the NCHW <-> NHWC conversions at the boundary go through our kernel.
TEST(SparseModelTest, SparseFirstAndLastLayers) {
  LayerGraph graph({16, 5, 5});
  std::string x = graph.Conv2d("pw_in", LayerGraph::kInput, {.in_channels = 16, .out_channels = 8});
  x = graph.Relu(x);
  x = graph.Conv2d("conv", x,
                   {.in_channels = 8, .out_channels = 8, .kernel_size = 3, .padding = 1});
  graph.SetOutput(graph.Conv2d("pw_out", x, {.in_channels = 8, .out_channels = 12}));
  EXPECT_EQ(ExpectMatchesDense(Serialize(graph, 0.5)), SparseStages(2));
}

// A pointwise layer inside a residual block has the block's input live
// beside it: not cuttable, it stays dense; the one after the Add is cuttable.
TEST(SparseModelTest, ResidualPointwiseStaysDense) {
  LayerGraph graph({8, 6, 6});
  std::string y = graph.Conv2d("inner", LayerGraph::kInput, {.in_channels = 8, .out_channels = 8});
  std::string x = graph.Relu(graph.Add(graph.Relu(y), LayerGraph::kInput));
  graph.SetOutput(graph.Conv2d("after", x, {.in_channels = 8, .out_channels = 4}));
  const std::string bytes = Serialize(graph, 0.9);
  absl::StatusOr<SparseModel> model = SparseModel::ImportBytes(bytes, {.batch_size = 1});
  ASSERT_THAT(model.status(), IsOk());
  ASSERT_EQ(model->candidates().size(), 2u);
  EXPECT_FALSE(model->candidates()[0].cuttable);
  EXPECT_THAT(model->candidates()[0].why_not, HasSubstr("live"));
  EXPECT_TRUE(model->candidates()[1].cuttable) << model->candidates()[1].why_not;
  EXPECT_EQ(ExpectMatchesDense(bytes), SparseStages(1));
}

// ResNet-20: 3x3 convolutions and strided 1x1 projections are not ours;
// only the fc is a candidate.
TEST(SparseModelTest, ResNet20MatchesDense) {
  absl::StatusOr<LayerGraph> graph = ResNet20Graph(/*input_size=*/8);
  ASSERT_THAT(graph.status(), IsOk());
  RandomPruneOptions options;
  options.prune_all_convs = true;
  absl::StatusOr<onnx::ModelProto> model = RandomPrunedModel(*graph, options);
  ASSERT_THAT(model.status(), IsOk());
  EXPECT_EQ(ExpectMatchesDense(model->SerializeAsString()), SparseStages(1));
}

// The model the benchmark measures, small: MobileNet-v1 at width 0.25 on
// 32x32, pointwise and fc weights 90% zero: 13 pointwise layers and the fc.
TEST(SparseModelTest, PrunedMobileNetMatchesDense) {
  absl::StatusOr<LayerGraph> graph =
      MobileNetV1Graph({.input_size = 32, .width_multiplier = 0.25, .num_classes = 10});
  ASSERT_THAT(graph.status(), IsOk());
  const std::string bytes = Serialize(*graph, 0.9);
  EXPECT_EQ(ExpectMatchesDense(bytes), SparseStages(14));
}

// A clock whose dense runs take 2 ms and sparse runs 1 ms (or the reverse):
// kAuto follows the measurement.
TEST(SparseModelTest, AutoFollowsTheMeasurement) {
  if (!kSparseModelUsesOurKernels) GTEST_SKIP() << "kAuto measures our kernels (x86-64)";
  const std::string bytes = Serialize(SmallChain(), 0.8);
  absl::StatusOr<SparseModel> model = SparseModel::ImportBytes(bytes, {.batch_size = 1});
  ASSERT_THAT(model.status(), IsOk());
  for (bool sparse_faster : {true, false}) {
    SCOPED_TRACE(sparse_faster);
    // Each repetition reads the clock three times: before dense, between, after sparse.
    int calls = 0;
    double now = 0;
    SparseBuildOptions options;
    options.policy = SparsePolicy::kAuto;
    options.clock_seconds = [&] {
      const int phase = calls++ % 3;
      if (phase == 1) now += sparse_faster ? 2e-3 : 1e-3;  // the dense run ended
      if (phase == 2) now += sparse_faster ? 1e-3 : 2e-3;  // the sparse run ended
      if (phase == 0) now += 1.0;
      return now;
    };
    absl::StatusOr<SparseRuntime> runtime = model->Build(options);
    ASSERT_THAT(runtime.status(), IsOk());
    ASSERT_EQ(runtime->decisions().size(), 3u);
    for (const LayerDecision& d : runtime->decisions()) {
      EXPECT_EQ(d.sparse, sparse_faster) << d.node;
      EXPECT_NEAR(d.dense_ms, sparse_faster ? 2.0 : 1.0, 1e-6);
    }
    EXPECT_EQ(runtime->num_sparse_stages(), sparse_faster ? 3 : 0);
    // conv | pw1 | dw | pw2 | pool, flatten | fc
    EXPECT_EQ(runtime->num_xnnpack_stages(), sparse_faster ? 3 : 1);
  }
}

TEST(SparseModelTest, BadInputIsAnError) {
  EXPECT_THAT(SparseModel::ImportBytes("not a model", {}, "junk.onnx").status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("junk.onnx")));
  EXPECT_THAT(SparseModel::ImportFile("/nonexistent/m.onnx").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/m.onnx")));
  absl::StatusOr<SparseModel> model =
      SparseModel::ImportBytes(Serialize(SmallChain(), 0.5), {.batch_size = 1});
  ASSERT_THAT(model.status(), IsOk());
  SparseBuildOptions options;
  options.num_threads = 0;
  EXPECT_THAT(model->Build(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options.num_threads = 1;
  options.auto_margin = 1.0;
  EXPECT_THAT(model->Build(options).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  options.auto_margin = 0.1;
  options.policy = SparsePolicy::kSparse;
  absl::StatusOr<SparseRuntime> runtime = model->Build(options);
  ASSERT_THAT(runtime.status(), IsOk());
  std::vector<float> input(runtime->input_size() - 1), output(runtime->output_size());
  EXPECT_THAT(runtime->Run(input, absl::MakeSpan(output)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::inference::sparse
