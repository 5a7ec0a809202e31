#include "training/ops/batch_norm.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "training/ops/avx2_clone.h"

namespace edgecompress::training {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows (pixels) per block: the unit of parallel work and of float
// accumulation before a sum is added to its double total.
constexpr int64_t kRowsPerBlock = 256;

// Calls body(block, first_row, end_row) for every block of an M x C matrix,
// in parallel. The blocks depend on M alone, not on the thread count.
template <typename Body>
void ForEachBlock(int64_t rows, const Body& body) {
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      body(b, b * kRowsPerBlock, std::min(rows, (b + 1) * kRowsPerBlock));
    }
  });
}

// The per-row loops below run over a pixel's contiguous channels without
// branches (ReLU's mask is a select: a branch on it mispredicts half the
// time), so the compiler vectorises them.

// s += x - origin and q += (x - origin)^2 over `rows` rows of `c` channels.
EDGECOMPRESS_AVX2_CLONE
void AddShiftedSums(const float* __restrict x, int64_t rows, int64_t c,
                    const float* __restrict origin, float* __restrict s, float* __restrict q) {
  for (int64_t m = 0; m < rows; ++m, x += c) {
    for (int64_t j = 0; j < c; ++j) {
      const float d = x[j] - origin[j];
      s[j] += d;
      q[j] += d * d;
    }
  }
}

// out = relu?(x * scale + shift [+ residual]); `residual` may be null.
EDGECOMPRESS_AVX2_CLONE
void Normalize(const float* __restrict x, const float* __restrict residual, int64_t rows,
               int64_t c, const float* __restrict scale, const float* __restrict shift, bool relu,
               float* __restrict out) {
  const float floor = relu ? 0.0f : -std::numeric_limits<float>::infinity();
  for (int64_t m = 0; m < rows; ++m, x += c, out += c) {
    if (residual != nullptr) {
      for (int64_t j = 0; j < c; ++j) {
        out[j] = std::max(x[j] * scale[j] + shift[j] + residual[j], floor);
      }
      residual += c;
    } else {
      for (int64_t j = 0; j < c; ++j) out[j] = std::max(x[j] * scale[j] + shift[j], floor);
    }
  }
}

// With g = dy where y > 0 (or everywhere without relu): s += g and
// q += g * (x - mean).
EDGECOMPRESS_AVX2_CLONE
void AddGradSums(const float* __restrict dy, const float* __restrict y, const float* __restrict x,
                 int64_t rows, int64_t c, const float* __restrict mean, bool relu,
                 float* __restrict s, float* __restrict q) {
  const float floor = relu ? 0.0f : -std::numeric_limits<float>::infinity();
  for (int64_t m = 0; m < rows; ++m, dy += c, y += c, x += c) {
    for (int64_t j = 0; j < c; ++j) {
      const float g = y[j] > floor ? dy[j] : 0.0f;
      s[j] += g;
      q[j] += g * (x[j] - mean[j]);
    }
  }
}

// dx = a * (g - b - (x - mean) * k); dr = g when `dr` is not null.
EDGECOMPRESS_AVX2_CLONE
void GradInput(const float* __restrict dy, const float* __restrict y, const float* __restrict x,
               int64_t rows, int64_t c, const float* __restrict mean, const float* __restrict a,
               const float* __restrict b, const float* __restrict k, bool relu,
               float* __restrict dx, float* __restrict dr) {
  const float floor = relu ? 0.0f : -std::numeric_limits<float>::infinity();
  for (int64_t m = 0; m < rows; ++m, dy += c, y += c, x += c, dx += c) {
    for (int64_t j = 0; j < c; ++j) {
      const float g = y[j] > floor ? dy[j] : 0.0f;
      dx[j] = a[j] * (g - b[j] - (x[j] - mean[j]) * k[j]);
    }
    if (dr != nullptr) {
      for (int64_t j = 0; j < c; ++j) dr[j] = y[j] > floor ? dy[j] : 0.0f;
      dr += c;
    }
  }
}

// Per-channel sums of a rows x channels matrix: add(first_row, end_row, s, q)
// adds a block's terms to float sums, which are totalled in double in block
// order.
template <typename AddBlock>
void ChannelSums(int64_t rows, int64_t channels, const AddBlock& add, std::vector<double>& first,
                 std::vector<double>& second) {
  const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
  std::vector<float> partial(blocks * 2 * channels, 0.0f);
  ForEachBlock(rows, [&](int64_t b, int64_t begin, int64_t end) {
    float* s = partial.data() + b * 2 * channels;
    add(begin, end, s, s + channels);
  });
  first.assign(channels, 0.0);
  second.assign(channels, 0.0);
  for (int64_t b = 0; b < blocks; ++b) {
    const float* s = partial.data() + b * 2 * channels;
    for (int64_t c = 0; c < channels; ++c) {
      first[c] += s[c];
      second[c] += s[channels + c];
    }
  }
}

at::Tensor FloatVector(const std::vector<float>& values) {
  return at::tensor(at::ArrayRef<float>(values), at::TensorOptions().dtype(at::kFloat));
}

class FusedBatchNorm : public torch::autograd::Function<FusedBatchNorm> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input,
                            const c10::optional<at::Tensor>& residual_input,
                            const at::Tensor& weight, const at::Tensor& bias,
                            at::Tensor running_mean, at::Tensor running_var, double momentum,
                            double eps, bool relu) {
    constexpr auto kNhwc = at::MemoryFormat::ChannelsLast;
    const at::Tensor x = input.contiguous(kNhwc);
    const bool has_residual = residual_input.has_value();
    const at::Tensor residual = has_residual ? residual_input->contiguous(kNhwc) : at::Tensor();
    const int64_t channels = x.size(1), rows = x.numel() / channels;
    const float* xp = x.data_ptr<float>();

    // Sums of d = x - x[0]: the shift keeps E[d^2] - E[d]^2 from cancelling
    // when |mean| >> std.
    const std::vector<float> origin(xp, xp + channels);
    std::vector<double> sum, sum_sq;
    ChannelSums(
        rows, channels,
        [&](int64_t begin, int64_t end, float* s, float* q) {
          AddShiftedSums(xp + begin * channels, end - begin, channels, origin.data(), s, q);
        },
        sum, sum_sq);

    const float* gamma = weight.data_ptr<float>();
    const float* beta = bias.data_ptr<float>();
    float* rmean = running_mean.data_ptr<float>();
    float* rvar = running_var.data_ptr<float>();
    std::vector<float> mean(channels), invstd(channels), scale(channels), shift(channels);
    for (int64_t c = 0; c < channels; ++c) {
      const double d_mean = sum[c] / rows;
      const double var = std::max(0.0, sum_sq[c] / rows - d_mean * d_mean);
      mean[c] = static_cast<float>(origin[c] + d_mean);
      invstd[c] = static_cast<float>(1.0 / std::sqrt(var + eps));
      scale[c] = gamma[c] * invstd[c];
      shift[c] = beta[c] - mean[c] * scale[c];
      rmean[c] = static_cast<float>((1 - momentum) * rmean[c] + momentum * mean[c]);
      rvar[c] = static_cast<float>((1 - momentum) * rvar[c] + momentum * var * rows / (rows - 1));
    }

    at::Tensor out = at::empty_like(x);
    float* op = out.data_ptr<float>();
    const float* rp = has_residual ? residual.data_ptr<float>() : nullptr;
    ForEachBlock(rows, [&](int64_t, int64_t begin, int64_t end) {
      Normalize(xp + begin * channels, rp != nullptr ? rp + begin * channels : nullptr,
                end - begin, channels, scale.data(), shift.data(), relu, op + begin * channels);
    });

    ctx->save_for_backward({x, out, weight});
    ctx->saved_data["mean"] = FloatVector(mean);
    ctx->saved_data["invstd"] = FloatVector(invstd);
    ctx->saved_data["relu"] = relu;
    ctx->saved_data["has_residual"] = has_residual;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const variable_list saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &out = saved[1], &weight = saved[2];
    const at::Tensor mean_tensor = ctx->saved_data["mean"].toTensor();
    const at::Tensor invstd_tensor = ctx->saved_data["invstd"].toTensor();
    const bool relu = ctx->saved_data["relu"].toBool();
    const bool has_residual = ctx->saved_data["has_residual"].toBool();
    const at::Tensor grad_out = grad_outputs[0].contiguous(at::MemoryFormat::ChannelsLast);

    const int64_t channels = x.size(1), rows = x.numel() / channels;
    const float* xp = x.data_ptr<float>();
    const float* yp = out.data_ptr<float>();
    const float* dy = grad_out.data_ptr<float>();
    const float* mean = mean_tensor.data_ptr<float>();
    const float* invstd = invstd_tensor.data_ptr<float>();
    const float* gamma = weight.data_ptr<float>();
    std::vector<double> sum_g, sum_gx;
    ChannelSums(
        rows, channels,
        [&](int64_t begin, int64_t end, float* s, float* q) {
          const int64_t i = begin * channels;
          AddGradSums(dy + i, yp + i, xp + i, end - begin, channels, mean, relu, s, q);
        },
        sum_g, sum_gx);

    std::vector<float> a(channels), b(channels), k(channels);
    at::Tensor grad_weight = at::empty({channels}, x.options());
    at::Tensor grad_bias = at::empty({channels}, x.options());
    float* dgamma = grad_weight.data_ptr<float>();
    float* dbeta = grad_bias.data_ptr<float>();
    for (int64_t c = 0; c < channels; ++c) {
      dgamma[c] = static_cast<float>(sum_gx[c] * invstd[c]);
      dbeta[c] = static_cast<float>(sum_g[c]);
      a[c] = gamma[c] * invstd[c];
      b[c] = static_cast<float>(sum_g[c] / rows);
      k[c] = static_cast<float>(invstd[c] * invstd[c] * sum_gx[c] / rows);
    }
    at::Tensor grad_x = at::empty_like(x);
    // Without relu the residual's gradient is dout itself.
    at::Tensor grad_residual;
    if (has_residual) grad_residual = relu ? at::empty_like(x) : grad_out;
    float* dx = grad_x.data_ptr<float>();
    float* dr = has_residual && relu ? grad_residual.data_ptr<float>() : nullptr;
    ForEachBlock(rows, [&](int64_t, int64_t begin, int64_t end) {
      const int64_t i = begin * channels;
      GradInput(dy + i, yp + i, xp + i, end - begin, channels, mean, a.data(), b.data(), k.data(),
                relu, dx + i, dr != nullptr ? dr + i : nullptr);
    });
    return {grad_x, grad_residual, grad_weight, grad_bias,
            at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

bool Fusable(const torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x,
             const at::Tensor& residual) {
  const auto& o = bn.options;
  const auto is_cpu_float = [](const at::Tensor& t) {
    return t.device().is_cpu() && t.scalar_type() == at::kFloat;
  };
  return bn.is_training() && o.affine() && o.track_running_stats() && o.momentum().has_value() &&
         is_cpu_float(x) && x.dim() == 4 && x.numel() > x.size(1) &&
         x.suggest_memory_format() == at::MemoryFormat::ChannelsLast &&
         is_cpu_float(bn.weight) && is_cpu_float(bn.running_mean) &&
         (!residual.defined() || (is_cpu_float(residual) && residual.sizes() == x.sizes()));
}

}  // namespace

at::Tensor BatchNorm2dForward(torch::nn::BatchNorm2dImpl& bn, const at::Tensor& x,
                              const BatchNormEpilogue& epilogue) {
  if (!Fusable(bn, x, epilogue.residual)) {
    at::Tensor y = bn.forward(x);
    if (epilogue.residual.defined()) y = y + epilogue.residual;
    return epilogue.relu ? at::relu(y) : y;
  }
  bn.num_batches_tracked += 1;  // as BatchNormImplBase::forward does in training
  // An optional, not an undefined tensor: Function::apply rejects those.
  const c10::optional<at::Tensor> residual =
      epilogue.residual.defined() ? c10::make_optional(epilogue.residual) : c10::nullopt;
  return FusedBatchNorm::apply(x, residual, bn.weight, bn.bias, bn.running_mean,
                               bn.running_var, *bn.options.momentum(), bn.options.eps(),
                               epilogue.relu);
}

}  // namespace edgecompress::training
