// Splits layers of an ONNX model into their low-rank factors: the
// interchange-level half of low-rank factorisation, so a model trained at
// rank r (low_rank_callback.h) or any exported model runs factorised in
// inference/ and bench.
//
//   Gemm  y = x W^T + b, W [out, in]     ->  h = x R^T;  y = h L^T + b
//   Conv  W [Cout, Cin, kh, kw]          ->  Conv(x, R as [r, Cin, kh, kw]) with the
//                                            original strides, pads, dilations;
//                                            then a 1x1 Conv(h, L as [Cout, r, 1, 1]) + b
// with W ~ L R from factorization.h (L [rows x r], R [r x cols]). A layer
// is named as in the model's parameters: its weight is the initializer
// "<layer>.weight" (our exporter's and PyTorch's naming). The new
// initializers are "<layer>.weight_right" (R) and "<layer>.weight_left" (L);
// the intermediate value is "<layer>.low_rank".
//
// A Conv given `spatial` splits instead by height and width (factorization.h,
// SpatialMatrix):
//   Conv  W [Cout, Cin, kh, kw]  ->  Conv(x, V [r, Cin, kh, 1]) with the height's
//                                     stride, pads and dilation, no bias;
//                                     then Conv(h, H [Cout, r, 1, kw]) with the
//                                     width's, + b
// (initializers "<layer>.weight_vertical" and "<layer>.weight_horizontal").
//
// Supported: Gemm with transB = 1 (alpha, beta and transA kept), Conv with
// group 1 and explicit pads (no auto_pad), each the only reader of its weight. Anything else is an error naming the layer, and the model is then
// left unchanged. Cost: one SVD per layer.
#ifndef EDGECOMPRESS_LOWRANK_ONNX_FACTORIZE_H_
#define EDGECOMPRESS_LOWRANK_ONNX_FACTORIZE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace onnx {
class ModelProto;
}  // namespace onnx

namespace edgecompress::lowrank {

struct FactorizedLayer {
  std::string layer;
  std::string op_type;  // "Gemm" or "Conv"
  int rows = 0, cols = 0, rank = 0;
  int64_t weights_before = 0, weights_after = 0;  // rows * cols; rank * (rows + cols)
  double relative_error = 0;                       // ||W - L R||_F / ||W||_F
};

// A layer's rank and, for a Conv, whether to split it spatially.
struct LayerRank {
  LayerRank(int rank, bool spatial = false) : rank(rank), spatial(spatial) {}  // a rank alone
  int rank;
  bool spatial;
};

// Factorises each layer of `ranks` (layer name -> rank) in `model`.
// kNotFound for a layer without a "<layer>.weight" initializer read by a
// Gemm or Conv; kInvalidArgument for a rank out of range or a weight that is
// not FLOAT; kUnimplemented for a transB = 0 Gemm, a grouped Conv, a spatial
// split of a Gemm or with auto_pad, or a weight other nodes read too.
absl::StatusOr<std::vector<FactorizedLayer>> FactorizeOnnxLayers(
    onnx::ModelProto& model, const std::map<std::string, LayerRank>& ranks);

}  // namespace edgecompress::lowrank

#endif  // EDGECOMPRESS_LOWRANK_ONNX_FACTORIZE_H_
