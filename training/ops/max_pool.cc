#include "training/ops/max_pool.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "training/ops/avx2_clone.h"

namespace edgecompress::training {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// A window offset and a flag share a byte: offsets below 128 (kernels up to
// 11), and the top bit set when a kRelu window has no positive value, so its
// gradient is zero.
constexpr int64_t kMaxKernel = 11;
constexpr uint8_t kNoPositive = 0x80;
constexpr uint8_t kOffsetBits = 0x7f;
// Channels-last inputs with this many channels or more go to torch, whose
// kernel vectorises over them (max_pool.h).
constexpr int64_t kTorchChannelsLastFrom = 16;

struct Geometry {
  int64_t n, c, h, w, k, oh, ow;
};

// Elements each parallel task should touch at least: below this, waking a
// second thread costs more than it saves.
constexpr int64_t kGrainElements = 32768;

int64_t Grain(int64_t elements_per_item) {
  return std::max<int64_t>(1, kGrainElements / std::max<int64_t>(1, elements_per_item));
}

// The scans compare with selects, not branches: on real activations "is this
// the new maximum" is a coin flip, and a mispredicted branch per compare
// made a branchy scan slower than torch's. Runs are short (a 14-output row,
// a pixel's 6 or 16 channels), mostly too short for the vector loop, and in
// scalar code GCC turns `take ? v : m` back into a branch, so the selects
// are spelled as bit masks.
uint32_t TakeMask(float v, float best) {
  return -static_cast<uint32_t>((v > best) | (v != v));  // NaN wins, then greater
}

float Select(uint32_t mask, float if_set, float if_clear) {
  uint32_t set, clear;
  std::memcpy(&set, &if_set, 4);
  std::memcpy(&clear, &if_clear, 4);
  const uint32_t bits = (set & mask) | (clear & ~mask);
  float out;
  std::memcpy(&out, &bits, 4);
  return out;
}

// Folds the window tap at offset `at` (one value every `step` floats from
// `in`) into the running maxima.
EDGECOMPRESS_AVX2_CLONE
void FoldTap(const float* __restrict in, int64_t step, int64_t count, uint8_t at,
             float* __restrict best, uint8_t* __restrict best_at) {
  for (int64_t x = 0; x < count; ++x) {
    const float v = in[x * step];
    const uint32_t take = TakeMask(v, best[x]);
    best[x] = Select(take, v, best[x]);
    best_at[x] = static_cast<uint8_t>((best_at[x] & ~take) | (at & take));
  }
}

// One run of `count` outputs whose windows start `step` floats apart in a
// row-major image with `row_stride` floats per row: NCHW output rows have
// step k, NHWC pixels have count C and step 1 (the channels). With `relu`,
// the maxima start at 0 with no argmax, so only positive values (and NaN)
// are taken.
void PoolRun(const float* in, int64_t row_stride, int64_t tap_stride, int64_t step,
             int64_t count, int64_t k, bool relu, float* best, uint8_t* best_at) {
  if (relu) {
    std::fill(best, best + count, 0.0f);
  } else {
    for (int64_t x = 0; x < count; ++x) best[x] = in[x * step];
  }
  std::fill(best_at, best_at + count, relu ? kNoPositive : uint8_t{0});
  for (int64_t i = 0; i < k; ++i) {
    for (int64_t j = 0; j < k; ++j) {
      if (i + j == 0 && !relu) continue;
      FoldTap(in + i * row_stride + j * tap_stride, step, count, static_cast<uint8_t>(i * k + j),
              best, best_at);
    }
  }
}

// One NCHW output row of 2x2 windows, the common case, with all four taps in
// one pass instead of four stride-2 runs.
template <bool kRelu>
EDGECOMPRESS_AVX2_CLONE void PoolRow2x2(const float* __restrict top,
                                        const float* __restrict bottom, int64_t count,
                                        float* __restrict best, uint8_t* __restrict best_at) {
  for (int64_t x = 0; x < count; ++x) {
    const float taps[4] = {top[2 * x], top[2 * x + 1], bottom[2 * x], bottom[2 * x + 1]};
    float m = kRelu ? 0.0f : taps[0];
    uint32_t at = kRelu ? kNoPositive : 0;
    for (uint32_t t = kRelu ? 0 : 1; t < 4; ++t) {
      const uint32_t take = TakeMask(taps[t], m);
      m = Select(take, taps[t], m);
      at = (at & ~take) | (t & take);
    }
    best[x] = m;
    best_at[x] = static_cast<uint8_t>(at);
  }
}

void ForwardNchw(const float* in, bool relu, float* out, uint8_t* argmax, const Geometry& g) {
  at::parallel_for(0, g.n * g.c, Grain(g.h * g.w), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      for (int64_t y = 0; y < g.oh; ++y) {
        const int64_t o = (p * g.oh + y) * g.ow;
        const float* top = in + (p * g.h + y * g.k) * g.w;
        if (g.k == 2) {
          (relu ? PoolRow2x2<true> : PoolRow2x2<false>)(top, top + g.w, g.ow, out + o,
                                                        argmax + o);
        } else {
          PoolRun(top, g.w, /*tap_stride=*/1, /*step=*/g.k, g.ow, g.k, relu, out + o, argmax + o);
        }
      }
    }
  });
}

// Channels-last: one task per output row; a run is one pixel's channels.
void ForwardNhwc(const float* in, bool relu, float* out, uint8_t* argmax, const Geometry& g) {
  at::parallel_for(0, g.n * g.oh, Grain(g.k * g.w * g.c), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / g.oh, y = r % g.oh;
      for (int64_t x = 0; x < g.ow; ++x) {
        const int64_t o = (r * g.ow + x) * g.c;
        PoolRun(in + ((n * g.h + y * g.k) * g.w + x * g.k) * g.c, g.w * g.c,
                /*tap_stride=*/g.c, /*step=*/1, g.c, g.k, relu, out + o, argmax + o);
      }
    }
  });
}

// The gradient an output passes to its argmax: none from a kRelu window
// without a positive value (whose offset, 0, then receives a harmless zero).
float PassedGradient(float grad, uint8_t at) {
  return Select(-static_cast<uint32_t>(at >> 7), 0.0f, grad);
}

void BackwardNchw(const float* grad_out, const uint8_t* argmax, float* grad_in,
                  const Geometry& g) {
  at::parallel_for(0, g.n * g.c, Grain(g.h * g.w), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* plane = grad_in + p * g.h * g.w;
      std::fill(plane, plane + g.h * g.w, 0.0f);
      const float* go = grad_out + p * g.oh * g.ow;
      const uint8_t* a = argmax + p * g.oh * g.ow;
      for (int64_t y = 0; y < g.oh; ++y) {
        for (int64_t x = 0; x < g.ow; ++x, ++go, ++a) {
          const int64_t at = *a & kOffsetBits;
          plane[(y * g.k + at / g.k) * g.w + x * g.k + at % g.k] = PassedGradient(*go, *a);
        }
      }
    }
  });
}

void BackwardNhwc(const float* grad_out, const uint8_t* argmax, float* grad_in,
                  const Geometry& g) {
  at::parallel_for(0, g.n * g.oh, Grain(g.k * g.w * g.c), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t n = r / g.oh, y = r % g.oh;
      // This row's input rows; the last output row also owns the rows that
      // fill no window.
      const int64_t end_row = y + 1 == g.oh ? g.h : (y + 1) * g.k;
      const int64_t row_floats = g.w * g.c;
      std::fill(grad_in + (n * g.h + y * g.k) * row_floats,
                grad_in + (n * g.h + end_row) * row_floats, 0.0f);
      for (int64_t x = 0; x < g.ow; ++x) {
        const float* go = grad_out + (r * g.ow + x) * g.c;
        const uint8_t* a = argmax + (r * g.ow + x) * g.c;
        for (int64_t ch = 0; ch < g.c; ++ch) {
          const int64_t at = a[ch] & kOffsetBits, i = at / g.k, j = at % g.k;
          grad_in[((n * g.h + y * g.k + i) * g.w + x * g.k + j) * g.c + ch] =
              PassedGradient(go[ch], a[ch]);
        }
      }
    }
  });
}

class MaxPool2dFunction : public torch::autograd::Function<MaxPool2dFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& input, int64_t kernel,
                            bool relu) {
    const at::MemoryFormat format = input.suggest_memory_format();
    const at::Tensor x = input.contiguous(format);
    const Geometry g{x.size(0), x.size(1), x.size(2), x.size(3),
                     kernel,    x.size(2) / kernel, x.size(3) / kernel};
    at::Tensor out = at::empty({g.n, g.c, g.oh, g.ow}, x.options().memory_format(format));
    at::Tensor argmax = at::empty({g.n, g.c, g.oh, g.ow},
                                  x.options().dtype(at::kByte).memory_format(format));
    const float* in = x.data_ptr<float>();
    float* o = out.data_ptr<float>();
    uint8_t* a = argmax.data_ptr<uint8_t>();
    const bool nhwc = format == at::MemoryFormat::ChannelsLast;
    (nhwc ? ForwardNhwc : ForwardNchw)(in, relu, o, a, g);
    ctx->saved_data["argmax"] = argmax;
    ctx->saved_data["input_sizes"] = x.sizes().vec();
    ctx->saved_data["kernel"] = kernel;
    ctx->saved_data["nhwc"] = nhwc;
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const at::Tensor argmax = ctx->saved_data["argmax"].toTensor();
    const std::vector<int64_t> sizes = ctx->saved_data["input_sizes"].toIntVector();
    const int64_t kernel = ctx->saved_data["kernel"].toInt();
    const bool nhwc = ctx->saved_data["nhwc"].toBool();
    const at::MemoryFormat format =
        nhwc ? at::MemoryFormat::ChannelsLast : at::MemoryFormat::Contiguous;
    const at::Tensor grad_out = grad_outputs[0].contiguous(format);
    // Not zeroed here: each backward task zeroes the input it owns before it
    // scatters, one pass and one parallel region fewer.
    at::Tensor grad_in = at::empty(sizes, grad_out.options().memory_format(format));
    const Geometry g{sizes[0], sizes[1], sizes[2], sizes[3],
                     kernel,   argmax.size(2), argmax.size(3)};
    (nhwc ? BackwardNhwc : BackwardNchw)(
        grad_out.data_ptr<float>(), argmax.data_ptr<uint8_t>(), grad_in.data_ptr<float>(), g);
    return {grad_in, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor MaxPool2dNonOverlapping(const at::Tensor& x, int64_t kernel, PoolInput input) {
  const bool ours = x.device().is_cpu() && x.scalar_type() == at::kFloat && x.dim() == 4 &&
                    kernel >= 1 && kernel <= kMaxKernel && x.size(2) >= kernel &&
                    x.size(3) >= kernel && x.numel() > 0 &&
                    !(x.suggest_memory_format() == at::MemoryFormat::ChannelsLast &&
                      x.size(1) >= kTorchChannelsLastFrom);
  const bool relu = input == PoolInput::kRelu;
  if (!ours) {
    // ReLU after the pool: the same values and gradients on a k*k smaller tensor.
    at::Tensor pooled = at::max_pool2d(x, {kernel, kernel}, {kernel, kernel});
    return relu ? at::relu(pooled) : pooled;
  }
  return MaxPool2dFunction::apply(x, kernel, relu);
}

}  // namespace edgecompress::training
