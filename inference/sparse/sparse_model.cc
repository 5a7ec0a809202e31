#include "inference/sparse/sparse_model.h"

#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>
#include <pthreadpool.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "inference/sparse/spmm.h"
#include "inference/xnn_graph.h"
#include "tools/status/status_macros.h"
#include "training/onnx/float_tensor.h"
#include "training/onnx/node_attributes.h"

namespace edgecompress::inference::sparse {
namespace {

struct ThreadpoolDeleter {
  void operator()(pthreadpool* pool) const { pthreadpool_destroy(pool); }
};
using ThreadpoolPtr = std::unique_ptr<pthreadpool, ThreadpoolDeleter>;

size_t NumElements(absl::Span<const size_t> shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

// NHWC and NCHW hold the same memory when there is one pixel or one channel.
bool OrderIsTrivial(const std::array<size_t, 4>& block) {
  return block[1] == 1 || block[2] * block[3] == 1;
}

void NchwToNhwc(const std::array<size_t, 4>& b, const float* src, float* dst) {
  const size_t c_n = b[1], hw = b[2] * b[3];
  for (size_t n = 0; n < b[0]; ++n) {
    const float* s = src + n * c_n * hw;
    float* d = dst + n * c_n * hw;
    for (size_t c = 0; c < c_n; ++c) {
      for (size_t p = 0; p < hw; ++p) d[p * c_n + c] = s[c * hw + p];
    }
  }
}

void NhwcToNchw(const std::array<size_t, 4>& b, const float* src, float* dst) {
  const size_t c_n = b[1], hw = b[2] * b[3];
  for (size_t n = 0; n < b[0]; ++n) {
    const float* s = src + n * c_n * hw;
    float* d = dst + n * c_n * hw;
    for (size_t p = 0; p < hw; ++p) {
      for (size_t c = 0; c < c_n; ++c) d[c * hw + p] = s[p * c_n + c];
    }
  }
}

std::string NodeName(const onnx::GraphProto& graph, int index) {
  const std::string& name = graph.node(index).name();
  return name.empty() ? absl::StrCat("#", index) : name;
}

// The values of a FLOAT tensor, or nullopt where the layer cannot be ours
// (another type, external data, a size that does not match its dims).
std::optional<std::vector<float>> FloatValues(const onnx::TensorProto& tensor) {
  absl::StatusOr<std::vector<float>> values = training::FloatTensorValues(tensor, tensor.name());
  if (!values.ok()) return std::nullopt;
  return *std::move(values);
}

// What the stages need of one chosen layer.
struct SpmmLayer {
  CsrMatrix weights;
  std::vector<float> bias;  // empty for none
  float output_min = -INFINITY, output_max = INFINITY;
  size_t pixels = 0;
  // The ONNX shape of its output: [N, Cout, H, W] or [N, Cout].
  std::vector<size_t> output_shape;
};

struct Stage {
  std::optional<Runtime> xnnpack;   // a dense segment, or
  std::unique_ptr<SpmmLayer> spmm;  // a sparse layer
  size_t input_size = 0, output_size = 0;
};

double SteadySeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

}  // namespace

struct SparseRuntime::State {
  // Declared first so that it is destroyed last: every runtime runs on it.
  ThreadpoolPtr pool;
  int num_threads = 1;
  SpmmKernel kernel = &SpmmPortable;
  std::vector<Stage> stages;
  BoundaryLayout input_layout, output_layout;
  size_t input_size = 0, output_size = 0;
  // The arena: stage k reads buffers[k % 2] and writes buffers[(k + 1) % 2].
  std::vector<float> buffers[2];
  std::vector<float> scratch;  // num_threads * scratch_floats
  size_t scratch_floats = 0;
  std::vector<LayerDecision> decisions;

  void RunSpmm(const SpmmLayer& layer, const float* x, float* y);
};

namespace {

struct SpmmTask {
  const SpmmProblem* problem;
  SpmmKernel kernel;
  float* scratch;
  size_t scratch_floats;
  size_t tiles, chunks;
  bool by_rows;  // split output channels rather than pixels
};

void RunSpmmChunk(void* context, size_t chunk) {
  const SpmmTask& task = *static_cast<const SpmmTask*>(context);
  float* scratch = task.scratch + chunk * task.scratch_floats;
  if (task.by_rows) {
    // Too few pixel tiles for the threads (late layers, fully connected at
    // batch 1): each chunk computes a range of output channels everywhere.
    SpmmProblem part = *task.problem;
    const size_t rows = part.weights->rows;
    part.first_row = rows * chunk / task.chunks;
    part.end_row = rows * (chunk + 1) / task.chunks;
    if (part.first_row < part.end_row) task.kernel(part, 0, part.pixels, scratch);
    return;
  }
  // Contiguous tile ranges, one per chunk, each with its own scratch.
  const size_t first = task.tiles * chunk / task.chunks;
  const size_t last = task.tiles * (chunk + 1) / task.chunks;
  const size_t begin = first * kSpmmTilePixels;
  const size_t end = std::min(last * kSpmmTilePixels, task.problem->pixels);
  if (begin < end) task.kernel(*task.problem, begin, end, scratch);
}

}  // namespace

void SparseRuntime::State::RunSpmm(const SpmmLayer& layer, const float* x, float* y) {
  SpmmProblem problem{&layer.weights,
                      layer.bias.empty() ? nullptr : layer.bias.data(),
                      layer.output_min,
                      layer.output_max,
                      x,
                      y,
                      layer.pixels};
  const size_t tiles = (layer.pixels + kSpmmTilePixels - 1) / kSpmmTilePixels;
  const size_t threads = static_cast<size_t>(num_threads);
  if (pool == nullptr || threads <= 1) {
    kernel(problem, 0, layer.pixels, scratch.data());
    return;
  }
  SpmmTask task{&problem,
                kernel,
                scratch.data(),
                scratch_floats,
                tiles,
                threads,
                /*by_rows=*/tiles < threads};
  pthreadpool_parallelize_1d(pool.get(), &RunSpmmChunk, &task, task.chunks, /*flags=*/0);
}

// Import-time analysis and Build(); a class so that it can reach the
// private members of SparseModel and SparseRuntime.
class SparseModelBuilder {
 public:
  static absl::Status Analyse(SparseModel& model);
  static absl::StatusOr<SparseRuntime> Build(const SparseModel& model,
                                             const SparseBuildOptions& options);

 private:
  static absl::StatusOr<SpmmLayer> MakeLayer(const SparseModel& model, int candidate);
  static absl::StatusOr<LayerDecision> Measure(const SparseModel& model, int candidate,
                                               const SpmmLayer& layer,
                                               const SparseBuildOptions& options,
                                               SparseRuntime::State& state);
  static absl::StatusOr<OnnxModel> ImportSegment(const SparseModel& model, int first, int last,
                                                 const std::string& input_name,
                                                 const std::vector<size_t>& input_shape,
                                                 const std::string& output_name);
};

// --- Import ------------------------------------------------------------------

absl::Status SparseModelBuilder::Analyse(SparseModel& model) {
  const onnx::GraphProto& graph = model.proto_->graph();
  const int num_nodes = graph.node_size();
  std::map<std::string, const onnx::TensorProto*> initializers;
  for (const onnx::TensorProto& t : graph.initializer()) initializers[t.name()] = &t;
  std::map<std::string, int> constant_nodes;  // output -> Constant node
  std::map<std::string, int> producer;        // output -> node
  std::map<std::string, std::vector<int>> consumers;
  for (int i = 0; i < num_nodes; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    for (const std::string& out : node.output()) {
      producer[out] = i;
      if (node.op_type() == "Constant" && node.domain().empty()) constant_nodes[out] = i;
    }
    for (const std::string& in : node.input()) {
      if (!in.empty()) consumers[in].push_back(i);
    }
  }
  const std::string& graph_output = graph.output(0).name();
  const std::string& graph_input = model.dense_->input_name();
  auto is_free = [&](const std::string& value) {
    return initializers.count(value) > 0 || constant_nodes.count(value) > 0;
  };
  auto last_use = [&](const std::string& value) {
    if (value == graph_output) return INT_MAX;
    auto it = consumers.find(value);
    return it == consumers.end() ? -1 : it->second.back();
  };
  // Non-constant values produced before `boundary` (the input counts as
  // produced at -1) and read at or after it.
  auto live_across = [&](int boundary) {
    std::set<std::string> live;
    auto consider = [&](const std::string& value, int made) {
      if (!value.empty() && !is_free(value) && made < boundary && last_use(value) >= boundary) {
        live.insert(value);
      }
    };
    consider(graph_input, -1);
    for (int i = 0; i < boundary && i < num_nodes; ++i) {
      for (const std::string& out : graph.node(i).output()) consider(out, i);
    }
    return live;
  };
  auto scalar = [&](const std::string& name) -> std::optional<float> {
    const onnx::TensorProto* tensor = nullptr;
    if (auto it = initializers.find(name); it != initializers.end()) tensor = it->second;
    if (auto it = constant_nodes.find(name); it != constant_nodes.end()) {
      const onnx::AttributeProto* value = training::FindAttribute(graph.node(it->second), "value");
      if (value != nullptr && value->has_t()) tensor = &value->t();
    }
    if (tensor == nullptr) return std::nullopt;
    std::optional<std::vector<float>> values = FloatValues(*tensor);
    if (!values.has_value() || values->size() != 1) return std::nullopt;
    return (*values)[0];
  };

  // Shapes at the imported batch size: ONNX shape inference on a copy whose
  // input batch is fixed (value_info from the exporter may be symbolic).
  onnx::ModelProto shaped = *model.proto_;
  shaped.mutable_graph()->clear_value_info();
  for (onnx::ValueInfoProto& input : *shaped.mutable_graph()->mutable_input()) {
    if (input.name() != graph_input) continue;
    onnx::TensorShapeProto* shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    if (shape->dim_size() > 0) shape->mutable_dim(0)->set_dim_value(model.dense_->input_shape()[0]);
  }
  try {
    onnx::shape_inference::InferShapes(shaped);
  } catch (const std::exception& e) {
    // No shapes, no candidates: the model still runs dense.
    shaped.mutable_graph()->clear_value_info();
  }
  std::map<std::string, std::vector<size_t>> shapes;
  auto record = [&](const onnx::ValueInfoProto& info) {
    if (!info.type().has_tensor_type() || !info.type().tensor_type().has_shape()) return;
    std::vector<size_t> dims;
    for (const auto& dim : info.type().tensor_type().shape().dim()) {
      if (!dim.has_dim_value() || dim.dim_value() <= 0) return;
      dims.push_back(static_cast<size_t>(dim.dim_value()));
    }
    shapes[info.name()] = dims;
  };
  for (const auto& info : shaped.graph().value_info()) record(info);
  for (const auto& info : shaped.graph().input()) record(info);
  for (const auto& info : shaped.graph().output()) record(info);

  for (int i = 0; i < num_nodes; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (!node.domain().empty() || (node.op_type() != "Conv" && node.op_type() != "Gemm")) continue;
    if (node.input_size() < 2 || node.output_size() < 1) continue;
    auto weight = initializers.find(node.input(1));
    if (weight == initializers.end()) continue;  // e.g. DequantizeLinear weights: int8 runs dense
    const onnx::TensorProto& w = *weight->second;
    SparseCandidate c;
    c.node = NodeName(graph, i);
    c.op_type = node.op_type();
    const std::string& input = node.input(0);
    auto input_shape = shapes.find(input);
    if (node.op_type() == "Conv") {
      if (w.dims_size() != 4 || w.dims(2) != 1 || w.dims(3) != 1) continue;
      if (training::IntAttribute(node, "group", 1) != 1) continue;
      bool unit = true;
      if (const onnx::AttributeProto* a = training::FindAttribute(node, "strides")) {
        for (int64_t s : a->ints()) unit = unit && s == 1;
      }
      if (const onnx::AttributeProto* a = training::FindAttribute(node, "pads")) {
        for (int64_t p : a->ints()) unit = unit && p == 0;
      }
      if (const onnx::AttributeProto* a = training::FindAttribute(node, "auto_pad")) {
        unit = unit && (a->s() == "NOTSET" || a->s() == "VALID" || a->s().empty());
      }
      if (!unit) continue;
      if (input_shape == shapes.end() || input_shape->second.size() != 4) {
        c.why_not = "input shape unknown";
      } else {
        c.input_shape = input_shape->second;
        c.pixels = input_shape->second[0] * input_shape->second[2] * input_shape->second[3];
      }
    } else {
      if (training::IntAttribute(node, "transA", 0) != 0 || training::IntAttribute(node, "transB", 0) != 1) continue;
      const onnx::AttributeProto* alpha = training::FindAttribute(node, "alpha");
      const onnx::AttributeProto* beta = training::FindAttribute(node, "beta");
      if ((alpha != nullptr && alpha->f() != 1.0f) || (beta != nullptr && beta->f() != 1.0f)) {
        continue;
      }
      if (w.dims_size() != 2) continue;
      if (input_shape == shapes.end() || input_shape->second.size() != 2) {
        c.why_not = "input shape unknown";
      } else {
        c.input_shape = input_shape->second;
        c.pixels = input_shape->second[0];
      }
      // The importer keeps a flattened NHWC map in (h, w, c) order and
      // permutes the Gemm's columns to match; our kernel reads ONNX order.
      std::string source = input;
      while (producer.count(source) > 0) {
        const onnx::NodeProto& p = graph.node(producer[source]);
        if (p.op_type() != "Flatten" && p.op_type() != "Reshape" && p.op_type() != "Squeeze") break;
        source = p.input(0);
      }
      if (auto s = shapes.find(source); s != shapes.end() && s->second.size() == 4 &&
                                        s->second[1] > 1 && s->second[2] * s->second[3] > 1) {
        c.why_not = "reads a flattened feature map with more than one pixel";
      }
    }
    c.output_channels = static_cast<size_t>(w.dims(0));
    c.input_channels = 1;
    for (int d = 1; d < w.dims_size(); ++d) c.input_channels *= static_cast<size_t>(w.dims(d));
    std::optional<std::vector<float>> values = FloatValues(w);
    if (!values.has_value()) continue;
    size_t zeros = 0;
    for (float v : *values) zeros += v == 0.0f;
    c.sparsity = values->empty() ? 0.0 : static_cast<double>(zeros) / values->size();
    if (node.input_size() > 2 && !node.input(2).empty()) {
      auto bias = initializers.find(node.input(2));
      std::optional<std::vector<float>> b;
      if (bias != initializers.end()) b = FloatValues(*bias->second);
      if (!b.has_value() || b->size() != c.output_channels) continue;
    }
    // A Relu or Clip that alone reads the output is fused as the clamp.
    int activation = -1;
    const std::string& out = node.output(0);
    auto readers = consumers.find(out);
    if (out != graph_output && readers != consumers.end() && readers->second.size() == 1 &&
        readers->second[0] == i + 1) {
      const onnx::NodeProto& next = graph.node(i + 1);
      if (next.domain().empty() && next.op_type() == "Relu") activation = i + 1;
      if (next.domain().empty() && next.op_type() == "Clip") {
        bool bounds_known = true;
        for (int k = 1; k < next.input_size(); ++k) {
          bounds_known = bounds_known && (next.input(k).empty() || scalar(next.input(k)));
        }
        if (bounds_known) activation = i + 1;
      }
      if (activation >= 0) c.activation = next.op_type();
    }
    if (c.why_not.empty()) {
      const int end = activation >= 0 ? activation : i;
      const std::set<std::string> before = live_across(i), after = live_across(end + 1);
      const std::string& result = graph.node(end).output(0);
      if (before != std::set<std::string>{input}) {
        c.why_not =
            absl::StrCat("other values are live across it (", absl::StrJoin(before, ", "), ")");
      } else if (after != std::set<std::string>{result}) {
        c.why_not =
            absl::StrCat("other values are live after it (", absl::StrJoin(after, ", "), ")");
      } else {
        c.cuttable = true;
      }
    }
    model.candidates_.push_back(c);
    model.candidate_nodes_.push_back(i);
    model.candidate_activations_.push_back(activation);
  }
  return absl::OkStatus();
}

SparseModel::SparseModel(SparseModel&&) noexcept = default;
SparseModel& SparseModel::operator=(SparseModel&&) noexcept = default;
SparseModel::~SparseModel() = default;

absl::StatusOr<SparseModel> SparseModel::ImportFile(const std::string& path,
                                                    const OnnxImportOptions& options) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream bytes;
  bytes << file.rdbuf();
  return ImportBytes(bytes.str(), options, path);
}

absl::StatusOr<SparseModel> SparseModel::ImportBytes(absl::string_view bytes,
                                                     const OnnxImportOptions& options,
                                                     absl::string_view source) {
  ASSIGN_OR_RETURN(OnnxModel dense, OnnxModel::ImportBytes(bytes, options, source));
  SparseModel model;
  model.source_ = std::string(source);
  model.options_ = options;
  model.options_.batch_size = dense.input_shape()[0];
  model.dense_ = std::make_unique<OnnxModel>(std::move(dense));
  model.proto_ = std::make_unique<onnx::ModelProto>();
  // The dense importer accepted these bytes, so they parse.
  if (!model.proto_->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(absl::StrCat(source, ": not an ONNX ModelProto"));
  }
  RETURN_IF_ERROR(SparseModelBuilder::Analyse(model));
  return model;
}

// --- Build -------------------------------------------------------------------

absl::StatusOr<SpmmLayer> SparseModelBuilder::MakeLayer(const SparseModel& model, int candidate) {
  const onnx::GraphProto& graph = model.proto_->graph();
  const SparseCandidate& c = model.candidates_[candidate];
  const onnx::NodeProto& node = graph.node(model.candidate_nodes_[candidate]);
  auto initializer = [&](const std::string& name) -> const onnx::TensorProto* {
    for (const onnx::TensorProto& t : graph.initializer()) {
      if (t.name() == name) return &t;
    }
    return nullptr;
  };
  auto constant = [&](const std::string& name) -> std::optional<float> {
    const onnx::TensorProto* t = initializer(name);
    for (const onnx::NodeProto& n : graph.node()) {
      if (n.op_type() == "Constant" && n.output_size() > 0 && n.output(0) == name) {
        if (const onnx::AttributeProto* a = training::FindAttribute(n, "value")) t = &a->t();
      }
    }
    if (t == nullptr) return std::nullopt;
    std::optional<std::vector<float>> v = FloatValues(*t);
    if (!v.has_value() || v->size() != 1) return std::nullopt;
    return (*v)[0];
  };
  SpmmLayer layer;
  std::optional<std::vector<float>> w = FloatValues(*initializer(node.input(1)));
  ASSIGN_OR_RETURN(layer.weights, CsrFromDense(*w, c.output_channels, c.input_channels));
  if (node.input_size() > 2 && !node.input(2).empty()) {
    layer.bias = *FloatValues(*initializer(node.input(2)));
  }
  const int activation = model.candidate_activations_[candidate];
  if (activation >= 0) {
    const onnx::NodeProto& act = graph.node(activation);
    layer.output_min = 0.0f;
    if (act.op_type() == "Clip") {
      layer.output_min = -INFINITY;
      if (const onnx::AttributeProto* a = training::FindAttribute(act, "min")) layer.output_min = a->f();
      if (const onnx::AttributeProto* a = training::FindAttribute(act, "max")) layer.output_max = a->f();
      if (act.input_size() > 1 && !act.input(1).empty()) layer.output_min = *constant(act.input(1));
      if (act.input_size() > 2 && !act.input(2).empty()) layer.output_max = *constant(act.input(2));
    }
  }
  layer.pixels = c.pixels;
  layer.output_shape = c.input_shape;
  layer.output_shape[1] = c.output_channels;
  return layer;
}

absl::StatusOr<LayerDecision> SparseModelBuilder::Measure(const SparseModel& model, int candidate,
                                                          const SpmmLayer& layer,
                                                          const SparseBuildOptions& options,
                                                          SparseRuntime::State& state) {
  const SparseCandidate& c = model.candidates_[candidate];
  // The same layer on XNNPACK, as the dense engine would run it.
  ASSIGN_OR_RETURN(GraphBuilder builder, GraphBuilder::Create());
  const size_t k = c.input_channels, o = c.output_channels;
  std::vector<float> dense(o * k, 0.0f);
  for (size_t r = 0; r < o; ++r) {
    for (uint32_t i = layer.weights.row_begin[r]; i < layer.weights.row_begin[r + 1]; ++i) {
      dense[r * k + layer.weights.columns[i]] = layer.weights.values[i];
    }
  }
  ValueId x;
  if (c.op_type == "Conv") {
    ASSIGN_OR_RETURN(x, builder.AddInput({layer.pixels, 1, 1, k}));
    Conv2DParams params;
    params.input_channels = k;
    params.output_channels = o;
    params.kernel_height = params.kernel_width = 1;
    ASSIGN_OR_RETURN(x, builder.AddConv2D(x, params, dense, layer.bias));
  } else {
    ASSIGN_OR_RETURN(x, builder.AddInput({layer.pixels, k}));
    ASSIGN_OR_RETURN(x, builder.AddFullyConnected(x, {k, o}, dense, layer.bias));
  }
  if (std::isfinite(layer.output_min) || std::isfinite(layer.output_max)) {
    ASSIGN_OR_RETURN(x, builder.AddClamp(x, layer.output_min, layer.output_max));
  }
  RETURN_IF_ERROR(builder.MarkOutput(x));
  BuildOptions build;
  build.num_threads = state.num_threads;
  build.shared_threadpool = state.pool.get();
  ASSIGN_OR_RETURN(Runtime runtime, builder.Build(build));

  std::mt19937 rng(static_cast<uint32_t>(options.seed + candidate));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  // Padded so that XNNPACK runs without copying its input, as in the stages.
  std::vector<float> input(layer.pixels * k + Runtime::kInputPaddingFloats, 0.0f),
      out_dense(layer.pixels * o), out_sparse(layer.pixels * o);
  for (size_t i = 0; i < layer.pixels * k; ++i) input[i] = uniform(rng);
  const std::function<double()> now =
      options.clock_seconds ? options.clock_seconds : std::function<double()>(&SteadySeconds);
  std::vector<double> dense_ms, sparse_ms;
  // One untimed run of each (first-touch, caches), then interleaved.
  for (int rep = -1; rep < options.auto_reps; ++rep) {
    double t0 = now();
    RETURN_IF_ERROR(runtime.RunWithPaddedInput(absl::MakeConstSpan(input.data(), layer.pixels * k),
                                               absl::MakeSpan(out_dense)));
    double t1 = now();
    state.RunSpmm(layer, input.data(), out_sparse.data());
    double t2 = now();
    if (rep >= 0) {
      dense_ms.push_back((t1 - t0) * 1e3);
      sparse_ms.push_back((t2 - t1) * 1e3);
    }
  }
  LayerDecision decision;
  decision.node = c.node;
  decision.sparsity = c.sparsity;
  decision.dense_ms = Median(dense_ms);
  decision.sparse_ms = Median(sparse_ms);
  decision.sparse = decision.sparse_ms < (1.0 - options.auto_margin) * decision.dense_ms;
  return decision;
}

absl::StatusOr<OnnxModel> SparseModelBuilder::ImportSegment(const SparseModel& model, int first,
                                                            int last, const std::string& input_name,
                                                            const std::vector<size_t>& input_shape,
                                                            const std::string& output_name) {
  const onnx::ModelProto& proto = *model.proto_;
  const onnx::GraphProto& graph = proto.graph();
  onnx::ModelProto sub;
  sub.set_ir_version(proto.ir_version());
  *sub.mutable_opset_import() = proto.opset_import();
  onnx::GraphProto& g = *sub.mutable_graph();
  g.set_name(absl::StrCat(graph.name(), "_nodes_", first, "_", last));
  // The input keeps the model input's first dimension (a symbol or the
  // declared batch) so that the importer's batch rules apply as they did.
  onnx::ValueInfoProto& in = *g.add_input();
  in.set_name(input_name);
  onnx::TypeProto_Tensor& type = *in.mutable_type()->mutable_tensor_type();
  type.set_elem_type(onnx::TensorProto::FLOAT);
  const onnx::ValueInfoProto* model_input = nullptr;
  for (const onnx::ValueInfoProto& v : graph.input()) {
    if (v.name() == model.dense_->input_name()) model_input = &v;
  }
  for (size_t d = 0; d < input_shape.size(); ++d) {
    onnx::TensorShapeProto_Dimension& dim = *type.mutable_shape()->add_dim();
    if (d == 0 && model_input != nullptr &&
        model_input->type().tensor_type().shape().dim_size() > 0) {
      dim = model_input->type().tensor_type().shape().dim(0);
    } else {
      dim.set_dim_value(static_cast<int64_t>(input_shape[d]));
    }
  }
  g.add_output()->set_name(output_name);
  std::set<std::string> needed;
  std::vector<const onnx::NodeProto*> nodes;
  for (int i = first; i <= last; ++i) {
    const onnx::NodeProto& node = graph.node(i);
    if (node.op_type() == "Constant" && node.domain().empty()) continue;  // added where read
    nodes.push_back(&node);
    for (const std::string& name : node.input()) needed.insert(name);
  }
  for (const onnx::NodeProto& node : graph.node()) {
    if (node.op_type() == "Constant" && node.domain().empty() && node.output_size() > 0 &&
        needed.count(node.output(0)) > 0) {
      *g.add_node() = node;
    }
  }
  for (const onnx::NodeProto* node : nodes) *g.add_node() = *node;
  for (const onnx::TensorProto& t : graph.initializer()) {
    if (needed.count(t.name()) > 0) *g.add_initializer() = t;
  }
  std::string bytes;
  if (!sub.SerializeToString(&bytes)) {
    return absl::InternalError(
        absl::StrCat(model.source_, ": cannot serialize nodes ", first, "..", last));
  }
  return OnnxModel::ImportBytes(bytes, model.options_,
                                absl::StrFormat("%s (nodes %d..%d, '%s' to '%s')", model.source_,
                                                first, last, input_name, output_name));
}

absl::StatusOr<SparseRuntime> SparseModelBuilder::Build(const SparseModel& model,
                                                        const SparseBuildOptions& options) {
  if (options.num_threads < 1) {
    return absl::InvalidArgumentError(absl::StrFormat("%s: num_threads is %d, must be at least 1",
                                                      model.source_, options.num_threads));
  }
  if (options.auto_reps < 1 || !(options.auto_margin >= 0.0 && options.auto_margin < 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: auto_reps %d must be >= 1 and auto_margin %g in [0, 1)", model.source_,
                        options.auto_reps, options.auto_margin));
  }
  auto state = std::make_unique<SparseRuntime::State>();
  state->num_threads = options.num_threads;
  if (options.num_threads > 1) {
    state->pool.reset(pthreadpool_create(static_cast<size_t>(options.num_threads)));
    if (state->pool == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("pthreadpool_create(%d) failed", options.num_threads));
    }
  }
  state->kernel = BestSpmmKernel();
  BuildOptions xnn_options;
  xnn_options.num_threads = options.num_threads;
  xnn_options.shared_threadpool = state->pool.get();
  for (const SparseCandidate& c : model.candidates_) {
    state->scratch_floats =
        std::max(state->scratch_floats, SpmmScratchFloats(c.output_channels, c.input_channels));
  }
  state->scratch.assign(state->scratch_floats * options.num_threads, 0.0f);

  // Which candidates run sparse, with their CSR layers.
  std::map<int, std::unique_ptr<SpmmLayer>> chosen;
  const bool our_kernels =
      kSparseModelUsesOurKernels && options.policy != SparsePolicy::kDense;
  xnn_options.sparse_inference =
      !kSparseModelUsesOurKernels && options.policy != SparsePolicy::kDense;
  for (int k = 0; our_kernels && k < static_cast<int>(model.candidates_.size()); ++k) {
    const SparseCandidate& c = model.candidates_[k];
    if (!c.cuttable) continue;
    ASSIGN_OR_RETURN(SpmmLayer layer, MakeLayer(model, k));
    LayerDecision decision;
    decision.node = c.node;
    decision.sparsity = c.sparsity;
    decision.sparse = true;
    if (options.policy == SparsePolicy::kAuto) {
      ASSIGN_OR_RETURN(decision, Measure(model, k, layer, options, *state));
    }
    state->decisions.push_back(decision);
    if (decision.sparse) chosen[k] = std::make_unique<SpmmLayer>(std::move(layer));
  }

  state->input_layout = model.dense_->input_layout();
  state->input_size = NumElements(state->input_layout.shape);
  const onnx::GraphProto& graph = model.proto_->graph();
  const int num_nodes = graph.node_size();
  std::string boundary = model.dense_->input_name();
  std::vector<size_t> boundary_shape = state->input_layout.shape;
  BoundaryLayout last_layout = state->input_layout;
  size_t max_size = state->input_size;
  int next = 0;  // first node not yet in a stage
  auto has_compute = [&](int first, int last) {
    for (int i = first; i <= last; ++i) {
      if (graph.node(i).op_type() != "Constant") return true;
    }
    return false;
  };
  auto add_segment = [&](int last, const std::string& output_name) -> absl::Status {
    ASSIGN_OR_RETURN(OnnxModel segment,
                     ImportSegment(model, next, last, boundary, boundary_shape, output_name));
    ASSIGN_OR_RETURN(Runtime runtime, segment.graph().Build(xnn_options));
    Stage stage;
    stage.input_size = runtime.input_size();
    stage.output_size = runtime.output_size();
    stage.xnnpack.emplace(std::move(runtime));
    state->stages.push_back(std::move(stage));
    boundary = output_name;
    boundary_shape = segment.output_layout().shape;
    last_layout = segment.output_layout();
    max_size = std::max(max_size, state->stages.back().output_size);
    return absl::OkStatus();
  };
  for (auto& [k, layer] : chosen) {
    const int node = model.candidate_nodes_[k];
    const int activation = model.candidate_activations_[k];
    const std::string& input = graph.node(node).input(0);
    if (next < node && has_compute(next, node - 1)) RETURN_IF_ERROR(add_segment(node - 1, input));
    // The kernel reads NHWC maps and plain [N, K] rows.
    const bool rows_ok = model.candidates_[k].op_type == "Gemm"
                             ? last_layout.shape.size() == 2 && !last_layout.block.has_value()
                             : last_layout.shape.size() == 4;
    if (boundary != input || !rows_ok ||
        NumElements(last_layout.shape) != layer->pixels * layer->weights.cols) {
      return absl::InternalError(absl::StrFormat(
          "%s: node '%s' was found cuttable but its input '%s' arrives as '%s' [%s]", model.source_,
          model.candidates_[k].node, input, boundary, absl::StrJoin(last_layout.shape, ",")));
    }
    Stage stage;
    stage.input_size = layer->pixels * layer->weights.cols;
    stage.output_size = layer->pixels * layer->weights.rows;
    max_size = std::max(max_size, stage.output_size);
    last_layout.shape = layer->output_shape;
    last_layout.block.reset();
    if (layer->output_shape.size() == 4) {
      std::array<size_t, 4> block = {layer->output_shape[0], layer->output_shape[1],
                                     layer->output_shape[2], layer->output_shape[3]};
      if (!OrderIsTrivial(block)) last_layout.block = block;
    }
    boundary_shape = layer->output_shape;
    boundary = graph.node(activation >= 0 ? activation : node).output(0);
    next = (activation >= 0 ? activation : node) + 1;
    stage.spmm = std::move(layer);
    state->stages.push_back(std::move(stage));
  }
  const std::string& graph_output = graph.output(0).name();
  if (next < num_nodes && has_compute(next, num_nodes - 1)) {
    RETURN_IF_ERROR(add_segment(num_nodes - 1, graph_output));
  }
  if (boundary != graph_output) {
    return absl::InternalError(absl::StrFormat("%s: the stages end at '%s', not the output '%s'",
                                               model.source_, boundary, graph_output));
  }
  state->output_layout = last_layout;
  state->output_size = NumElements(state->output_layout.shape);
  for (std::vector<float>& buffer : state->buffers) {
    buffer.assign(max_size + Runtime::kInputPaddingFloats, 0.0f);
  }
  return SparseRuntime(std::move(state));
}

absl::StatusOr<SparseRuntime> SparseModel::Build(const SparseBuildOptions& options) const {
  return SparseModelBuilder::Build(*this, options);
}

// --- Run ---------------------------------------------------------------------

SparseRuntime::SparseRuntime(std::unique_ptr<State> state) : state_(std::move(state)) {}
SparseRuntime::SparseRuntime(SparseRuntime&&) noexcept = default;
SparseRuntime& SparseRuntime::operator=(SparseRuntime&&) noexcept = default;
SparseRuntime::~SparseRuntime() = default;

size_t SparseRuntime::input_size() const { return state_->input_size; }
size_t SparseRuntime::output_size() const { return state_->output_size; }
int SparseRuntime::num_threads() const { return state_->num_threads; }
absl::Span<const LayerDecision> SparseRuntime::decisions() const { return state_->decisions; }
const char* SparseRuntime::kernel_name() const {
  return kSparseModelUsesOurKernels ? SpmmKernelName(state_->kernel) : "xnnpack_nchw";
}

int SparseRuntime::num_xnnpack_stages() const {
  int n = 0;
  for (const Stage& stage : state_->stages) n += stage.xnnpack.has_value();
  return n;
}

int SparseRuntime::num_sparse_stages() const {
  return static_cast<int>(state_->stages.size()) - num_xnnpack_stages();
}

absl::Status SparseRuntime::Run(absl::Span<const float> input, absl::Span<float> output) {
  if (state_ == nullptr) {
    return absl::FailedPreconditionError("SparseRuntime::Run on a moved-from runtime");
  }
  State& s = *state_;
  if (input.size() != s.input_size || output.size() != s.output_size) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SparseRuntime::Run: %d input and %d output floats, expected %d and %d",
                        input.size(), output.size(), s.input_size, s.output_size));
  }
  if (s.input_layout.block.has_value()) {
    NchwToNhwc(*s.input_layout.block, input.data(), s.buffers[0].data());
  } else {
    std::copy(input.begin(), input.end(), s.buffers[0].begin());
  }
  for (size_t k = 0; k < s.stages.size(); ++k) {
    Stage& stage = s.stages[k];
    float* in = s.buffers[k % 2].data();
    float* out = s.buffers[(k + 1) % 2].data();
    if (stage.xnnpack.has_value()) {
      // The arena's buffers are padded and never move: no input copy.
      RETURN_IF_ERROR(stage.xnnpack->RunWithPaddedInput(absl::MakeConstSpan(in, stage.input_size),
                                                        absl::MakeSpan(out, stage.output_size)));
    } else {
      s.RunSpmm(*stage.spmm, in, out);
    }
  }
  const float* result = s.buffers[s.stages.size() % 2].data();
  if (s.output_layout.block.has_value()) {
    NhwcToNchw(*s.output_layout.block, result, output.data());
  } else {
    std::copy(result, result + s.output_size, output.begin());
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::inference::sparse
