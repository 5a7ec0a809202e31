// ONNX graphs written here with the protobuf API, imported and run, against
// plain NCHW loops in double (the ONNX/PyTorch semantics, not XNNPACK's).
// Models exported by PyTorch are checked in onnx_pytorch_test.cc.
#include "inference/onnx_import.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace inference {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// |actual - expected| <= 1e-4 * max(1, |expected|): absolute below 1,
// relative above. XNNPACK accumulates in fp32 in its own order.
constexpr double kTolerance = 1e-4;

unsigned TestSeed() { return testing::UnitTest::GetInstance()->random_seed(); }

std::vector<float> RandomVector(size_t size, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(size);
  for (float& x : v) x = dist(rng);
  return v;
}

size_t NumElements(const std::vector<size_t>& shape) {
  size_t n = 1;
  for (size_t d : shape) n *= d;
  return n;
}

void ExpectClose(absl::Span<const float> actual, absl::Span<const float> expected) {
  ASSERT_EQ(actual.size(), expected.size());
  size_t mismatches = 0, first = 0;
  double max_diff = 0.0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double diff = std::abs(double{actual[i]} - expected[i]);
    max_diff = std::max(max_diff, diff);
    if (!(diff <= kTolerance * std::max(1.0, std::abs(double{expected[i]})))) {
      if (mismatches++ == 0) first = i;
    }
  }
  EXPECT_EQ(mismatches, 0u) << "first at index " << first << ": " << actual[first] << " vs "
                            << expected[first] << " expected; max |diff| " << max_diff;
}

// ---------------------------------------------------------------------------
// Writing ONNX graphs.

class OnnxGraph {
 public:
  explicit OnnxGraph(int64_t opset = 14) {
    model_.set_ir_version(8);
    model_.add_opset_import()->set_version(opset);
    model_.set_producer_name("edgecompress onnx_import_test");
  }

  // dims < 0 are symbolic ("batch").
  OnnxGraph& Input(const std::string& name, const std::vector<int64_t>& dims) {
    Describe(model_.mutable_graph()->add_input(), name, dims);
    return *this;
  }
  OnnxGraph& Output(const std::string& name) {
    Describe(model_.mutable_graph()->add_output(), name, {});
    return *this;
  }
  // Alternates raw_data and float_data so both encodings are exercised.
  OnnxGraph& Initializer(const std::string& name, const std::vector<int64_t>& dims,
                         const std::vector<float>& values) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) t->add_dims(d);
    if (raw_next_) {
      t->set_raw_data(
          std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
    } else {
      for (float v : values) t->add_float_data(v);
    }
    raw_next_ = !raw_next_;
    return *this;
  }
  OnnxGraph& Int64Initializer(const std::string& name, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = model_.mutable_graph()->add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return *this;
  }
  onnx::NodeProto& Node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "") {
    onnx::NodeProto* node = model_.mutable_graph()->add_node();
    node->set_op_type(op);
    node->set_name(name.empty() ? outputs[0] : name);
    for (const std::string& i : inputs) node->add_input(i);
    for (const std::string& o : outputs) node->add_output(o);
    return *node;
  }
  std::string Bytes() const {
    std::string bytes;
    EXPECT_TRUE(model_.SerializeToString(&bytes));
    return bytes;
  }
  onnx::ModelProto& model() { return model_; }

 private:
  static void Describe(onnx::ValueInfoProto* value, const std::string& name,
                       const std::vector<int64_t>& dims) {
    value->set_name(name);
    onnx::TypeProto::Tensor* t = value->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : dims) {
      if (d < 0) {
        t->mutable_shape()->add_dim()->set_dim_param("batch");
      } else {
        t->mutable_shape()->add_dim()->set_dim_value(d);
      }
    }
  }

  onnx::ModelProto model_;
  bool raw_next_ = true;
};

void SetInt(onnx::NodeProto& node, const std::string& name, int64_t value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(value);
}
void SetInts(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (int64_t v : values) a->add_ints(v);
}
void SetFloat(onnx::NodeProto& node, const std::string& name, float value) {
  onnx::AttributeProto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(value);
}

absl::StatusOr<std::vector<float>> ImportAndRun(const std::string& bytes,
                                                const std::vector<float>& input,
                                                OnnxImportOptions options = {}, int num_threads = 1,
                                                OnnxImportStats* stats = nullptr) {
  absl::StatusOr<OnnxModel> model = OnnxModel::ImportBytes(bytes, options);
  if (!model.ok()) return model.status();
  if (stats != nullptr) *stats = model->stats();
  absl::StatusOr<OnnxRuntime> runtime = model->Build(num_threads);
  if (!runtime.ok()) return runtime.status();
  std::vector<float> output(runtime->output_size());
  absl::Status status = runtime->Run(input, absl::MakeSpan(output));
  if (!status.ok()) return status;
  return output;
}

// ---------------------------------------------------------------------------
// NCHW references (ONNX semantics), double accumulators.

struct Nchw {
  std::vector<float> data;
  std::vector<size_t> shape;  // [N, C, H, W] or [N, K]
  float at(size_t n, size_t c, size_t y, size_t x) const {
    return data[((n * shape[1] + c) * shape[2] + y) * shape[3] + x];
  }
};

struct ConvSpec {
  size_t out_channels = 1, kernel_h = 1, kernel_w = 1, groups = 1;
  size_t stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  size_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
};

// weight OIHW [out, in / groups, kh, kw].
Nchw ReferenceConv(const Nchw& x, const ConvSpec& s, const std::vector<float>& weight,
                   const std::vector<float>& bias) {
  const size_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  const size_t group_in = c / s.groups, group_out = s.out_channels / s.groups;
  const size_t oh = (h + s.pad_t + s.pad_b - s.dilation_h * (s.kernel_h - 1) - 1) / s.stride_h + 1;
  const size_t ow = (w + s.pad_l + s.pad_r - s.dilation_w * (s.kernel_w - 1) - 1) / s.stride_w + 1;
  Nchw y{std::vector<float>(n * s.out_channels * oh * ow), {n, s.out_channels, oh, ow}};
  for (size_t b = 0; b < n; ++b) {
    for (size_t o = 0; o < s.out_channels; ++o) {
      const size_t g = o / group_out;
      for (size_t oy = 0; oy < oh; ++oy) {
        for (size_t ox = 0; ox < ow; ++ox) {
          double sum = bias.empty() ? 0.0 : bias[o];
          for (size_t i = 0; i < group_in; ++i) {
            for (size_t ky = 0; ky < s.kernel_h; ++ky) {
              const int64_t iy = static_cast<int64_t>(oy * s.stride_h + ky * s.dilation_h) -
                                 static_cast<int64_t>(s.pad_t);
              if (iy < 0 || iy >= static_cast<int64_t>(h)) continue;
              for (size_t kx = 0; kx < s.kernel_w; ++kx) {
                const int64_t ix = static_cast<int64_t>(ox * s.stride_w + kx * s.dilation_w) -
                                   static_cast<int64_t>(s.pad_l);
                if (ix < 0 || ix >= static_cast<int64_t>(w)) continue;
                sum += double{x.at(b, g * group_in + i, iy, ix)} *
                       weight[((o * group_in + i) * s.kernel_h + ky) * s.kernel_w + kx];
              }
            }
          }
          y.data[((b * s.out_channels + o) * oh + oy) * ow + ox] = static_cast<float>(sum);
        }
      }
    }
  }
  return y;
}

// Per channel (axis 1) of any rank >= 2.
Nchw ReferenceBatchNorm(Nchw x, const std::vector<float>& scale, const std::vector<float>& b,
                        const std::vector<float>& mean, const std::vector<float>& var,
                        float epsilon) {
  const size_t channels = x.shape[1];
  size_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) inner *= x.shape[d];
  for (size_t i = 0; i < x.data.size(); ++i) {
    const size_t c = (i / inner) % channels;
    x.data[i] = static_cast<float>(
        (x.data[i] - double{mean[c]}) / std::sqrt(double{var[c]} + epsilon) * scale[c] + b[c]);
  }
  return x;
}

template <typename F>
Nchw Map(Nchw x, F f) {
  for (float& v : x.data) v = static_cast<float>(f(double{v}));
  return x;
}

double Relu(double v) { return std::max(v, 0.0); }
double HardSwish(double v) { return v * std::min(std::max(v + 3.0, 0.0), 6.0) / 6.0; }
double Sigmoid(double v) { return 1.0 / (1.0 + std::exp(-v)); }

struct PoolSpec {
  size_t kernel_h = 2, kernel_w = 2, stride_h = 1, stride_w = 1;
  size_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  bool ceil_mode = false, count_include_pad = false;
};

// PyTorch's pooling: ceil_mode drops a last window that starts in the
// trailing padding; count_include_pad divides by the window clipped to the
// padded input, otherwise by the in-bounds count.
Nchw ReferencePool(bool max, const Nchw& x, const PoolSpec& s) {
  const size_t n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
  auto out_size = [&](size_t in, size_t k, size_t stride, size_t pb, size_t pa) {
    const size_t span = in + pb + pa - k;
    size_t out = (s.ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (s.ceil_mode && (out - 1) * stride >= in + pb) --out;
    return out;
  };
  const size_t oh = out_size(h, s.kernel_h, s.stride_h, s.pad_t, s.pad_b);
  const size_t ow = out_size(w, s.kernel_w, s.stride_w, s.pad_l, s.pad_r);
  Nchw y{std::vector<float>(n * c * oh * ow), {n, c, oh, ow}};
  for (size_t b = 0; b < n; ++b) {
    for (size_t ch = 0; ch < c; ++ch) {
      for (size_t oy = 0; oy < oh; ++oy) {
        for (size_t ox = 0; ox < ow; ++ox) {
          const int64_t y0 = static_cast<int64_t>(oy * s.stride_h) - static_cast<int64_t>(s.pad_t);
          const int64_t x0 = static_cast<int64_t>(ox * s.stride_w) - static_cast<int64_t>(s.pad_l);
          const int64_t y1 = std::min<int64_t>(y0 + s.kernel_h, h + s.pad_b);
          const int64_t x1 = std::min<int64_t>(x0 + s.kernel_w, w + s.pad_r);
          const double padded_count = static_cast<double>((y1 - y0) * (x1 - x0));
          double acc = max ? -std::numeric_limits<double>::infinity() : 0.0;
          int count = 0;
          for (int64_t iy = std::max<int64_t>(y0, 0); iy < std::min<int64_t>(y1, h); ++iy) {
            for (int64_t ix = std::max<int64_t>(x0, 0); ix < std::min<int64_t>(x1, w); ++ix) {
              const double v = x.at(b, ch, iy, ix);
              acc = max ? std::max(acc, v) : acc + v;
              ++count;
            }
          }
          if (!max) acc /= s.count_include_pad ? padded_count : count;
          y.data[((b * c + ch) * oh + oy) * ow + ox] = static_cast<float>(acc);
        }
      }
    }
  }
  return y;
}

Nchw ReferenceGlobalAveragePool(const Nchw& x) {
  const size_t n = x.shape[0], c = x.shape[1], pixels = x.shape[2] * x.shape[3];
  Nchw y{std::vector<float>(n * c), {n, c, 1, 1}};
  for (size_t i = 0; i < n * c; ++i) {
    double sum = 0.0;
    for (size_t p = 0; p < pixels; ++p) sum += x.data[i * pixels + p];
    y.data[i] = static_cast<float>(sum / pixels);
  }
  return y;
}

// Rows of K times weight [outputs, K] (transB = 1 layout) plus bias.
Nchw ReferenceLinear(const Nchw& x, const std::vector<float>& weight, size_t outputs,
                     const std::vector<float>& bias) {
  const size_t k = x.shape.back(), rows = x.data.size() / k;
  Nchw y{std::vector<float>(rows * outputs), x.shape};
  y.shape.back() = outputs;
  for (size_t r = 0; r < rows; ++r) {
    for (size_t o = 0; o < outputs; ++o) {
      double sum = bias.empty() ? 0.0 : bias[o];
      for (size_t i = 0; i < k; ++i) sum += double{x.data[r * k + i]} * weight[o * k + i];
      y.data[r * outputs + o] = static_cast<float>(sum);
    }
  }
  return y;
}

// Same-shape or per-channel ([C] at axis 1) elementwise op.
template <typename F>
Nchw ReferencePerChannel(Nchw x, const std::vector<float>& per_channel, F f) {
  const size_t channels = x.shape[1];
  size_t inner = 1;
  for (size_t d = 2; d < x.shape.size(); ++d) inner *= x.shape[d];
  for (size_t i = 0; i < x.data.size(); ++i) {
    x.data[i] =
        static_cast<float>(f(double{x.data[i]}, double{per_channel[(i / inner) % channels]}));
  }
  return x;
}

Nchw ReferenceSoftmaxRows(Nchw x) {
  const size_t k = x.shape.back();
  for (size_t start = 0; start < x.data.size(); start += k) {
    double max = -std::numeric_limits<double>::infinity(), sum = 0.0;
    for (size_t i = 0; i < k; ++i) max = std::max<double>(max, x.data[start + i]);
    for (size_t i = 0; i < k; ++i) sum += std::exp(x.data[start + i] - max);
    for (size_t i = 0; i < k; ++i) {
      x.data[start + i] = static_cast<float>(std::exp(x.data[start + i] - max) / sum);
    }
  }
  return x;
}

// ---------------------------------------------------------------------------
// Whole graphs.

// conv(3->8, 3x3, pad 1) -> BN (folded) -> Relu -> MaxPool 2x2/2 -> Flatten
// of a 6x6 map (the spatial flatten: Gemm weights permuted at import) ->
// Gemm(transB = 1) -> Softmax; batch 2.
TEST(OnnxImportTest, ConvBatchNormReluPoolGemmSoftmax) {
  std::mt19937 rng(TestSeed());
  ConvSpec conv;
  conv.out_channels = 8;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_t = conv.pad_l = conv.pad_b = conv.pad_r = 1;
  const std::vector<float> w = RandomVector(8 * 3 * 9, -0.5f, 0.5f, rng);
  const std::vector<float> b = RandomVector(8, -0.5f, 0.5f, rng);
  const std::vector<float> gamma = RandomVector(8, 0.5f, 1.5f, rng);
  const std::vector<float> beta = RandomVector(8, -0.5f, 0.5f, rng);
  const std::vector<float> mean = RandomVector(8, -0.5f, 0.5f, rng);
  const std::vector<float> var = RandomVector(8, 0.5f, 2.0f, rng);
  const std::vector<float> fc_w = RandomVector(5 * 8 * 36, -0.2f, 0.2f, rng);
  const std::vector<float> fc_b = RandomVector(5, -0.5f, 0.5f, rng);

  OnnxGraph g;
  g.Input("x", {2, 3, 12, 12}).Output("y");
  g.Initializer("w", {8, 3, 3, 3}, w).Initializer("b", {8}, b);
  g.Initializer("gamma", {8}, gamma).Initializer("beta", {8}, beta);
  g.Initializer("mean", {8}, mean).Initializer("var", {8}, var);
  g.Initializer("fc_w", {5, 288}, fc_w).Initializer("fc_b", {5}, fc_b);
  onnx::NodeProto& c = g.Node("Conv", {"x", "w", "b"}, {"c"});
  SetInts(c, "pads", {1, 1, 1, 1});
  SetInts(c, "kernel_shape", {3, 3});
  SetFloat(g.Node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"}), "epsilon",
           1e-3f);
  g.Node("Relu", {"bn"}, {"r"});
  onnx::NodeProto& pool = g.Node("MaxPool", {"r"}, {"p"});
  SetInts(pool, "kernel_shape", {2, 2});
  SetInts(pool, "strides", {2, 2});
  g.Node("Flatten", {"p"}, {"f"});
  SetInt(g.Node("Gemm", {"f", "fc_w", "fc_b"}, {"fc"}), "transB", 1);
  SetInt(g.Node("Softmax", {"fc"}, {"y"}), "axis", 1);

  const Nchw x{RandomVector(2 * 3 * 12 * 12, -2.0f, 2.0f, rng), {2, 3, 12, 12}};
  Nchw ref = ReferenceConv(x, conv, w, b);
  ref = ReferenceBatchNorm(ref, gamma, beta, mean, var, 1e-3f);
  ref = Map(ref, Relu);
  PoolSpec ps;
  ps.stride_h = ps.stride_w = 2;
  ref = ReferencePool(/*max=*/true, ref, ps);
  ref.shape = {2, 288};
  ref = ReferenceSoftmaxRows(ReferenceLinear(ref, fc_w, 5, fc_b));

  for (int threads : {1, 2}) {
    SCOPED_TRACE(absl::StrFormat("%d threads", threads));
    OnnxImportStats stats;
    absl::StatusOr<std::vector<float>> y = ImportAndRun(g.Bytes(), x.data, {}, threads, &stats);
    ASSERT_THAT(y, IsOk());
    ExpectClose(*y, ref.data);
    EXPECT_EQ(stats.folded_batch_norms, 1);
    EXPECT_EQ(stats.unfolded_batch_norms, 0);
  }
}

// A residual block whose BatchNormalization follows the Add (cannot fold):
// x -> conv3x3 -> Relu -> conv3x3 -> + x -> BN -> GlobalAveragePool ->
// Flatten -> Gemm(transB = 0, alpha 0.5, beta 2).
TEST(OnnxImportTest, ResidualAddAndUnfoldedBatchNorm) {
  std::mt19937 rng(TestSeed());
  const size_t c = 6;
  ConvSpec conv;
  conv.out_channels = c;
  conv.kernel_h = conv.kernel_w = 3;
  conv.pad_t = conv.pad_l = conv.pad_b = conv.pad_r = 1;
  const std::vector<float> w1 = RandomVector(c * c * 9, -0.3f, 0.3f, rng);
  const std::vector<float> w2 = RandomVector(c * c * 9, -0.3f, 0.3f, rng);
  const std::vector<float> b2 = RandomVector(c, -0.3f, 0.3f, rng);
  const std::vector<float> gamma = RandomVector(c, 0.5f, 1.5f, rng);
  const std::vector<float> beta = RandomVector(c, -0.5f, 0.5f, rng);
  const std::vector<float> mean = RandomVector(c, -0.5f, 0.5f, rng);
  const std::vector<float> var = RandomVector(c, 0.5f, 2.0f, rng);
  const std::vector<float> fc_w = RandomVector(c * 4, -1.0f, 1.0f, rng);  // [K = c, N = 4]
  const std::vector<float> fc_b = RandomVector(4, -1.0f, 1.0f, rng);

  OnnxGraph g;
  g.Input("x", {1, c, 7, 9}).Output("y");
  g.Initializer("w1", {6, 6, 3, 3}, w1).Initializer("w2", {6, 6, 3, 3}, w2);
  g.Initializer("b2", {6}, b2);
  g.Initializer("gamma", {6}, gamma).Initializer("beta", {6}, beta);
  g.Initializer("mean", {6}, mean).Initializer("var", {6}, var);
  g.Initializer("fc_w", {6, 4}, fc_w).Initializer("fc_b", {1, 4}, fc_b);
  SetInts(g.Node("Conv", {"x", "w1"}, {"c1"}), "pads", {1, 1, 1, 1});
  g.Node("Relu", {"c1"}, {"r1"});
  SetInts(g.Node("Conv", {"r1", "w2", "b2"}, {"c2"}), "pads", {1, 1, 1, 1});
  g.Node("Add", {"c2", "x"}, {"sum"});
  g.Node("BatchNormalization", {"sum", "gamma", "beta", "mean", "var"}, {"bn"});
  g.Node("GlobalAveragePool", {"bn"}, {"gap"});
  g.Node("Flatten", {"gap"}, {"f"});
  onnx::NodeProto& gemm = g.Node("Gemm", {"f", "fc_w", "fc_b"}, {"y"});
  SetFloat(gemm, "alpha", 0.5f);
  SetFloat(gemm, "beta", 2.0f);

  const Nchw x{RandomVector(c * 7 * 9, -2.0f, 2.0f, rng), {1, c, 7, 9}};
  Nchw ref = Map(ReferenceConv(x, conv, w1, {}), Relu);
  ref = ReferenceConv(ref, conv, w2, b2);
  for (size_t i = 0; i < ref.data.size(); ++i) ref.data[i] += x.data[i];
  ref = ReferenceGlobalAveragePool(ReferenceBatchNorm(ref, gamma, beta, mean, var, 1e-5f));
  ref.shape = {1, c};
  std::vector<float> transposed(4 * c), bias(4);
  for (size_t o = 0; o < 4; ++o) {
    for (size_t i = 0; i < c; ++i) transposed[o * c + i] = 0.5f * fc_w[i * 4 + o];
    bias[o] = 2.0f * fc_b[o];
  }
  ref = ReferenceLinear(ref, transposed, 4, bias);

  OnnxImportStats stats;
  absl::StatusOr<std::vector<float>> y = ImportAndRun(g.Bytes(), x.data, {}, 1, &stats);
  ASSERT_THAT(y, IsOk());
  ExpectClose(*y, ref.data);
  EXPECT_EQ(stats.folded_batch_norms, 0);
  EXPECT_EQ(stats.unfolded_batch_norms, 1);
}

// Depthwise (multiplier 2, stride 2, dilation... ) and grouped convs,
// HardSwish, a squeeze-excite gate (GlobalAveragePool, Conv 1x1, Sigmoid,
// broadcast Mul), Clip with min/max inputs, AveragePool with
// count_include_pad and padding, MaxPool with ceil_mode, a Pad node.
TEST(OnnxImportTest, DepthwiseGroupedPoolingAndGates) {
  std::mt19937 rng(TestSeed());
  const size_t c = 4;
  ConvSpec dw;
  dw.out_channels = 2 * c;
  dw.groups = c;
  dw.kernel_h = dw.kernel_w = 3;
  dw.stride_h = dw.stride_w = 2;
  dw.pad_t = dw.pad_l = 1;
  dw.pad_b = dw.pad_r = 2;
  ConvSpec grouped;
  grouped.out_channels = 6;
  grouped.groups = 2;
  ConvSpec se;
  se.out_channels = 6;
  const std::vector<float> w_dw = RandomVector(2 * c * 9, -0.5f, 0.5f, rng);
  const std::vector<float> b_dw = RandomVector(2 * c, -0.5f, 0.5f, rng);
  const std::vector<float> w_g = RandomVector(6 * 4, -0.5f, 0.5f, rng);  // [6, 8 / 2, 1, 1]
  const std::vector<float> w_se = RandomVector(6 * 6, -0.5f, 0.5f, rng);
  const std::vector<float> b_se = RandomVector(6, -0.5f, 0.5f, rng);

  OnnxGraph g;
  g.Input("x", {2, c, 15, 14}).Output("y");
  g.Initializer("w_dw", {8, 1, 3, 3}, w_dw).Initializer("b_dw", {8}, b_dw);
  g.Initializer("w_g", {6, 4, 1, 1}, w_g);
  g.Initializer("w_se", {6, 6, 1, 1}, w_se).Initializer("b_se", {6}, b_se);
  g.Initializer("lo", {}, {-1.0f}).Initializer("hi", {}, {2.5f});
  g.Int64Initializer("pads", {0, 0, 1, 0, 0, 0, 0, 2});
  onnx::NodeProto& n_dw = g.Node("Conv", {"x", "w_dw", "b_dw"}, {"dw"});
  SetInt(n_dw, "group", 4);
  SetInts(n_dw, "strides", {2, 2});
  SetInts(n_dw, "pads", {1, 1, 2, 2});
  g.Node("HardSwish", {"dw"}, {"hs"});
  SetInt(g.Node("Conv", {"hs", "w_g"}, {"gc"}), "group", 2);
  g.Node("GlobalAveragePool", {"gc"}, {"gap"});
  g.Node("Conv", {"gap", "w_se", "b_se"}, {"se"});
  g.Node("Sigmoid", {"se"}, {"gate"});
  g.Node("Mul", {"gc", "gate"}, {"gated"});
  g.Node("Clip", {"gated", "lo", "hi"}, {"clip"});
  g.Node("Pad", {"clip", "pads"}, {"padded"});  // H + 1 before, W + 2 after
  onnx::NodeProto& avg = g.Node("AveragePool", {"padded"}, {"avg"});
  SetInts(avg, "kernel_shape", {3, 3});
  SetInts(avg, "pads", {1, 1, 1, 1});
  SetInt(avg, "count_include_pad", 1);
  onnx::NodeProto& mp = g.Node("MaxPool", {"avg"}, {"y"});
  SetInts(mp, "kernel_shape", {2, 2});
  SetInts(mp, "strides", {2, 2});
  SetInt(mp, "ceil_mode", 1);

  const Nchw x{RandomVector(2 * c * 15 * 14, -3.0f, 3.0f, rng), {2, c, 15, 14}};
  Nchw ref = Map(ReferenceConv(x, dw, w_dw, b_dw), HardSwish);
  ref = ReferenceConv(ref, grouped, w_g, {});
  Nchw gate = Map(ReferenceConv(ReferenceGlobalAveragePool(ref), se, w_se, b_se), Sigmoid);
  for (size_t i = 0; i < ref.data.size(); ++i) {
    const size_t pixels = ref.shape[2] * ref.shape[3];
    ref.data[i] = std::min(std::max(ref.data[i] * gate.data[i / pixels], -1.0f), 2.5f);
  }
  // Pad: one row on top, two columns on the right, zeros.
  Nchw padded{{}, {ref.shape[0], ref.shape[1], ref.shape[2] + 1, ref.shape[3] + 2}};
  padded.data.assign(NumElements(padded.shape), 0.0f);
  for (size_t nc = 0; nc < ref.shape[0] * ref.shape[1]; ++nc) {
    for (size_t yy = 0; yy < ref.shape[2]; ++yy) {
      for (size_t xx = 0; xx < ref.shape[3]; ++xx) {
        padded.data[(nc * padded.shape[2] + yy + 1) * padded.shape[3] + xx] =
            ref.data[(nc * ref.shape[2] + yy) * ref.shape[3] + xx];
      }
    }
  }
  PoolSpec avg_spec;
  avg_spec.kernel_h = avg_spec.kernel_w = 3;
  avg_spec.pad_t = avg_spec.pad_l = avg_spec.pad_b = avg_spec.pad_r = 1;
  avg_spec.count_include_pad = true;
  ref = ReferencePool(/*max=*/false, padded, avg_spec);
  PoolSpec max_spec;
  max_spec.stride_h = max_spec.stride_w = 2;
  max_spec.ceil_mode = true;
  ref = ReferencePool(/*max=*/true, ref, max_spec);
  ASSERT_EQ(ref.shape, (std::vector<size_t>{2, 6, 5, 5}));  // ceil_mode: 9x10 -> 5x5

  absl::StatusOr<OnnxModel> model = OnnxModel::ImportBytes(g.Bytes());
  ASSERT_THAT(model, IsOk());
  EXPECT_THAT(model->output_shape(), ElementsAre(2, 6, 5, 5));
  absl::StatusOr<std::vector<float>> y = ImportAndRun(g.Bytes(), x.data, {}, 2);
  ASSERT_THAT(y, IsOk());
  ExpectClose(*y, ref.data);
}

// Reshape with a constant shape (0 and -1) flattening an 8-channel 3x3 map
// into MatMul with a constant, and a Reshape to [N, C, H*W] as the output:
// both keep the channels-last order internally and must come out in ONNX order.
TEST(OnnxImportTest, ReshapeToMatMulAndToOutput) {
  std::mt19937 rng(TestSeed());
  ConvSpec conv;
  conv.out_channels = 8;
  const std::vector<float> w = RandomVector(8 * 2, -1.0f, 1.0f, rng);
  const std::vector<float> mm = RandomVector(72 * 3, -0.3f, 0.3f, rng);  // [72, 3]

  const Nchw x{RandomVector(2 * 2 * 3 * 3, -2.0f, 2.0f, rng), {2, 2, 3, 3}};
  const Nchw conv_out = ReferenceConv(x, conv, w, {});
  std::vector<float> mm_t(3 * 72);
  for (size_t o = 0; o < 3; ++o) {
    for (size_t i = 0; i < 72; ++i) mm_t[o * 72 + i] = mm[i * 3 + o];
  }
  Nchw flat = conv_out;
  flat.shape = {2, 72};
  const Nchw matmul = ReferenceLinear(flat, mm_t, 3, {});

  {
    OnnxGraph g;
    g.Input("x", {2, 2, 3, 3}).Output("y");
    g.Initializer("w", {8, 2, 1, 1}, w).Initializer("mm", {72, 3}, mm);
    g.Int64Initializer("shape", {0, -1});
    g.Node("Conv", {"x", "w"}, {"c"});
    g.Node("Reshape", {"c", "shape"}, {"r"});
    g.Node("MatMul", {"r", "mm"}, {"y"});
    absl::StatusOr<std::vector<float>> y = ImportAndRun(g.Bytes(), x.data);
    ASSERT_THAT(y, IsOk());
    ExpectClose(*y, matmul.data);
  }
  {
    OnnxGraph g;
    g.Input("x", {2, 2, 3, 3}).Output("y");
    g.Initializer("w", {8, 2, 1, 1}, w);
    g.Int64Initializer("shape", {2, 8, 9});
    g.Node("Conv", {"x", "w"}, {"c"});
    g.Node("Reshape", {"c", "shape"}, {"r"});
    g.Node("Relu", {"r"}, {"y"});  // elementwise on the lazily reshaped value
    absl::StatusOr<OnnxModel> model = OnnxModel::ImportBytes(g.Bytes());
    ASSERT_THAT(model, IsOk());
    EXPECT_THAT(model->output_shape(), ElementsAre(2, 8, 9));
    absl::StatusOr<std::vector<float>> y = ImportAndRun(g.Bytes(), x.data);
    ASSERT_THAT(y, IsOk());
    ExpectClose(*y, Map(conv_out, Relu).data);
  }
}

// The batch dimension may be symbolic; the import fixes it.
TEST(OnnxImportTest, BatchSizeOverride) {
  std::mt19937 rng(TestSeed());
  const std::vector<float> w = RandomVector(4 * 3, -1.0f, 1.0f, rng);
  OnnxGraph g;
  g.Input("x", {-1, 3}).Output("y");
  g.Initializer("w", {4, 3}, w);
  SetInt(g.Node("Gemm", {"x", "w"}, {"y"}), "transB", 1);
  EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dimension 0 is symbolic ('batch'); set "
                                 "OnnxImportOptions::batch_size")));
  for (size_t batch : {1, 5}) {
    OnnxImportOptions options;
    options.batch_size = batch;
    absl::StatusOr<OnnxModel> model = OnnxModel::ImportBytes(g.Bytes(), options);
    ASSERT_THAT(model, IsOk());
    EXPECT_THAT(model->input_shape(), ElementsAre(batch, 3));
    EXPECT_THAT(model->output_shape(), ElementsAre(batch, 4));
    const Nchw x{RandomVector(batch * 3, -1.0f, 1.0f, rng), {batch, 3}};
    absl::StatusOr<std::vector<float>> y = ImportAndRun(g.Bytes(), x.data, options);
    ASSERT_THAT(y, IsOk());
    ExpectClose(*y, ReferenceLinear(x, w, 4, {}).data);
  }
}

// ---------------------------------------------------------------------------
// Errors: one line naming the node and what is wrong; never a crash.

OnnxGraph TinyConvGraph() {
  OnnxGraph g;
  g.Input("x", {1, 2, 4, 4}).Output("y");
  g.Initializer("w", {3, 2, 1, 1}, std::vector<float>(6, 0.5f));
  g.Node("Conv", {"x", "w"}, {"c"}, "conv1");
  g.Node("Relu", {"c"}, {"y"}, "relu1");
  return g;
}

TEST(OnnxImportTest, ErrorsNameTheNodeAndTheProblem) {
  {
    OnnxGraph g = TinyConvGraph();
    g.model().mutable_graph()->mutable_node(1)->set_op_type("LSTM");
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes(), {}, "m.onnx"),
                StatusIs(absl::StatusCode::kUnimplemented,
                         "m.onnx: node 'relu1' (LSTM): operator not supported"));
  }
  {
    OnnxGraph g = TinyConvGraph();
    g.model().mutable_graph()->mutable_node(0)->set_input(1, "missing");
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("node 'conv1' (Conv): input 'missing' is not produced by an "
                                   "earlier node, an initializer or the graph input")));
  }
  {
    OnnxGraph g = TinyConvGraph();
    g.model().mutable_graph()->mutable_initializer(0)->set_data_type(onnx::TensorProto::BFLOAT16);
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr("node 'conv1' (Conv): initializer 'w' has data type BFLOAT16")));
  }
  {
    OnnxGraph g = TinyConvGraph();
    g.model().mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(20);
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("initializer 'w' has shape [3, 2, 1, 1] (6 elements) but "
                                   "raw_data holds 5")));
  }
  {
    OnnxGraph g = TinyConvGraph();
    SetInts(*g.model().mutable_graph()->mutable_node(0), "strides", {0, 1});
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("node 'conv1' (Conv): strides[0] is 0")));
  }
  {
    OnnxGraph g = TinyConvGraph();
    g.model().mutable_graph()->mutable_initializer(0)->set_dims(1, 5);
    g.model().mutable_graph()->mutable_initializer(0)->mutable_raw_data()->resize(15 * 4);
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         HasSubstr("node 'conv1' (Conv): weight [3, 5, 1, 1] with group 1 does "
                                   "not fit input [1, 2, 4, 4]")));
  }
  {
    // A spatial reshape that needs a real transpose before a MatMul.
    OnnxGraph g = TinyConvGraph();
    g.Int64Initializer("shape", {1, 3, 16});
    g.Initializer("mm", {16, 2}, std::vector<float>(32, 1.0f));
    g.model().mutable_graph()->mutable_output(0)->set_name("z");
    g.Node("Reshape", {"y", "shape"}, {"r"}, "to_rows");
    g.Node("MatMul", {"r", "mm"}, {"z"}, "rows_mm");
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr("node 'rows_mm' (MatMul): input of shape [1, 3, 16] is held "
                                   "channels-last")));
  }
  {
    OnnxGraph g = TinyConvGraph();
    g.model().mutable_graph()->mutable_node(0)->set_input(1, "x");
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kUnimplemented,
                         HasSubstr("node 'conv1' (Conv): input 1 'x' is computed at run time")));
  }
  {
    OnnxGraph g = TinyConvGraph();
    g.Input("second", {1, 2});
    EXPECT_THAT(OnnxModel::ImportBytes(g.Bytes()),
                StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("2 inputs")));
  }
  EXPECT_THAT(OnnxModel::ImportBytes("this is not a protobuf", {}, "junk.onnx"),
              StatusIs(absl::StatusCode::kDataLoss,
                       "junk.onnx: not an ONNX model (protobuf ModelProto parsing failed)"));
  EXPECT_THAT(OnnxModel::ImportFile("/nonexistent/model.onnx"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/model.onnx")));
}

TEST(OnnxImportTest, ImportFileNamesTheFile) {
  const std::string path = absl::StrFormat("%s/garbage.onnx", testing::TempDir());
  std::ofstream(path, std::ios::binary) << std::string("\x0a\xff\xff\xff\xff\x0f", 6);
  EXPECT_THAT(OnnxModel::ImportFile(path),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path + ": not an ONNX model")));
  const std::string good = absl::StrFormat("%s/good.onnx", testing::TempDir());
  std::ofstream(good, std::ios::binary) << TinyConvGraph().Bytes();
  absl::StatusOr<OnnxModel> model = OnnxModel::ImportFile(good);
  ASSERT_THAT(model, IsOk());
  EXPECT_EQ(model->input_name(), "x");
  EXPECT_EQ(model->output_name(), "y");
}

// Truncations at every length and random byte corruptions of a real graph:
// every import returns a status; the ones that succeed also build and run.
TEST(OnnxImportTest, TruncatedAndCorruptedFilesNeverCrash) {
  std::mt19937 rng(TestSeed());
  OnnxGraph g;
  g.Input("x", {1, 3, 8, 8}).Output("y");
  g.Initializer("w", {4, 3, 3, 3}, RandomVector(108, -1.0f, 1.0f, rng));
  g.Initializer("gamma", {4}, {1, 2, 3, 4}).Initializer("beta", {4}, {0, 0, 1, 1});
  g.Initializer("mean", {4}, {0, 1, 0, 1}).Initializer("var", {4}, {1, 1, 2, 2});
  g.Initializer("fc", {2, 4}, RandomVector(8, -1.0f, 1.0f, rng));
  g.Int64Initializer("shape", {1, -1});
  SetInts(g.Node("Conv", {"x", "w"}, {"c"}), "pads", {1, 1, 1, 1});
  g.Node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, {"bn"});
  g.Node("Relu", {"bn"}, {"r"});
  g.Node("GlobalAveragePool", {"r"}, {"gap"});
  g.Node("Reshape", {"gap", "shape"}, {"flat"});
  SetInt(g.Node("Gemm", {"flat", "fc"}, {"y"}), "transB", 1);
  const std::string bytes = g.Bytes();
  ASSERT_THAT(OnnxModel::ImportBytes(bytes), IsOk());

  int imported = 0, rejected = 0;
  auto try_import = [&](const std::string& candidate) {
    absl::StatusOr<OnnxModel> model = OnnxModel::ImportBytes(candidate, {}, "fuzz.onnx");
    if (!model.ok()) {
      ++rejected;
      EXPECT_THAT(std::string(model.status().message()), HasSubstr("fuzz.onnx: "));
      EXPECT_EQ(std::string(model.status().message()).find('\n'), std::string::npos);
      return;
    }
    ++imported;
    // Build only graphs of sane size: a corrupted dimension can be legal and huge.
    size_t largest = 0;
    for (ValueId v = 0; v < model->graph().num_values(); ++v) {
      size_t n = 1;
      for (size_t d : model->graph().shape(v)) n *= d;
      largest = std::max(largest, n);
    }
    if (largest > (1u << 20)) return;
    absl::StatusOr<OnnxRuntime> runtime = model->Build(1);
    if (!runtime.ok()) return;
    std::vector<float> input(runtime->input_size(), 0.5f), output(runtime->output_size());
    EXPECT_THAT(runtime->Run(input, absl::MakeSpan(output)), IsOk());
  };
  for (size_t length = 0; length < bytes.size(); ++length) try_import(bytes.substr(0, length));
  std::uniform_int_distribution<size_t> position(0, bytes.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string corrupted = bytes;
    const int flips = 1 + trial % 4;
    for (int f = 0; f < flips; ++f) corrupted[position(rng)] = static_cast<char>(byte(rng));
    try_import(corrupted);
  }
  for (int trial = 0; trial < 200; ++trial) {
    std::string garbage(1 + trial * 3, '\0');
    for (char& ch : garbage) ch = static_cast<char>(byte(rng));
    try_import(garbage);
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(imported, 0);  // some corruptions only touch weights
}

}  // namespace
}  // namespace inference
}  // namespace edgecompress
