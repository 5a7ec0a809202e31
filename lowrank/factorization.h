// Low-rank factorisation of a weight matrix by truncated SVD (the reviews'
// "low-rank factorisation"; Denton et al. 2014, Jaderberg et al. 2014).
//
// A layer's weight as a row-major matrix W [rows x cols] (a Linear's
// [out, in]; a Conv's [Cout, Cin * kh * kw], the kernel reshaped) becomes
//   W ~ L R,   L = U_r sqrt(S_r) [rows x rank],   R = sqrt(S_r) V_r^T [rank x cols],
// from the thin SVD W = U S V^T cut to the r largest singular values. By
// Eckart-Young this is the best rank-r approximation in the Frobenius norm,
// and the error is exact: ||W - L R||_F^2 = sum_{i >= r} s_i^2. A Linear
// [out, in] becomes in -> rank -> out (two Linears); a Conv becomes a Conv
// of the same kernel into `rank` channels and a 1x1 Conv to Cout.
//
// Parameters drop from rows * cols to rank * (rows + cols) (biases aside),
// so a rank pays only below rows * cols / (rows + cols). The rank comes from
// a RankRule: fixed, a target compression factor (the largest rank whose
// factors are at most 1/factor of the weights), or an energy fraction (the
// smallest rank keeping that share of sum s_i^2).
//
// Cost: one SVD, O(rows * cols * min(rows, cols)), in double precision
// (Eigen's BDCSVD); LeNet-5's fc1 [120 x 400] took ~19 ms here (measured as
// the added time per training step), hence RankProjector for training.
#ifndef EDGECOMPRESS_LOWRANK_FACTORIZATION_H_
#define EDGECOMPRESS_LOWRANK_FACTORIZATION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress::lowrank {

struct LowRankFactors {
  int rows = 0, cols = 0, rank = 0;
  std::vector<float> left;   // rows x rank, row-major: U_r sqrt(S_r)
  std::vector<float> right;  // rank x cols, row-major: sqrt(S_r) V_r^T
};

// How a layer's rank is chosen, and for a Conv which matrix is factorised.
struct RankRule {
  enum class Kind { kRank, kCompression, kEnergy };
  Kind kind = Kind::kCompression;
  double value = 4.0;  // the rank; the factor (> 1); the energy fraction in (0, 1]
  // A Conv's spatial split (SpatialMatrix below) instead of its reshaped
  // kernel [Cout, Cin * kh * kw].
  bool spatial = false;
};

// Parses "rank=8", "4x" (compression factor) or "energy=0.95", each with an
// optional "spatial:" in front; kInvalidArgument naming the text otherwise.
absl::StatusOr<RankRule> ParseRankRule(absl::string_view text);
std::string RankRuleToString(const RankRule& rule);

// Singular values of W, descending (min(rows, cols) of them).
absl::StatusOr<std::vector<double>> SingularValues(absl::Span<const float> weight, int rows,
                                                   int cols);

// The rank `rule` gives for W [rows x cols] with these singular values:
// kRank: the value itself (1..min(rows, cols)); kCompression: the largest r
// with r * (rows + cols) <= rows * cols / factor, at least 1; kEnergy: the
// smallest r with sum_{i < r} s_i^2 >= energy * sum s_i^2. kInvalidArgument
// for a rank out of range, a factor <= 1 or an energy outside (0, 1].
absl::StatusOr<int> ChooseRank(const RankRule& rule, absl::Span<const double> singular_values,
                               int rows, int cols);

// The rank-`rank` factors of W; kInvalidArgument when weight.size() !=
// rows * cols or rank is outside 1..min(rows, cols).
absl::StatusOr<LowRankFactors> Factorize(absl::Span<const float> weight, int rows, int cols,
                                         int rank);

// W <- L R in place: the nearest matrix of rank at most `rank` (the
// projection of projected-gradient training). Same errors as Factorize.
absl::Status ProjectToRank(absl::Span<float> weight, int rows, int cols, int rank);

// Projection onto rank r for training, where W moves a little between calls:
// one step of block power (subspace) iteration warm-started from the right
// singular subspace B [cols x rank] of the previous call,
//   U = orth(W B);   W <- U U^T W;   B <- orth(W^T U),
// O(rows * cols * rank) instead of an SVD (LeNet-5's fc1 at rank 23: over 10x
// cheaper). W always ends at rank <= r exactly; it is the best rank-r
// approximation when B spans W's top right singular subspace, which one
// step per SGD update tracks (the test bounds the excess over Eckart-Young).
class RankProjector {
 public:
  // Projects `weight` exactly (ProjectToRank, one SVD) and keeps its right
  // singular subspace. Same errors as Factorize.
  static absl::StatusOr<RankProjector> Create(absl::Span<float> weight, int rows, int cols,
                                              int rank);
  // One tracking step on `weight` (same shape as at Create); kInvalidArgument
  // for another size.
  absl::Status Project(absl::Span<float> weight);
  int rank() const { return rank_; }

 private:
  RankProjector(int rows, int cols, int rank, std::vector<float> basis)
      : rows_(rows), cols_(cols), rank_(rank), basis_(std::move(basis)) {}
  int rows_, cols_, rank_;
  std::vector<float> basis_;  // cols x rank, row-major, orthonormal columns
};

// Jaderberg, Vedaldi and Zisserman's spatial split (BMVC 2014, scheme 2) of
// a Conv kernel W [O, C, kh, kw]: the matrix
//   M [(C kh) x (O kw)],   M[c kh + y, o kw + x] = W[o, c, y, x],
// whose rank-r factors L [(C kh) x r] and R [r x (O kw)] are a vertical
// kh x 1 Conv C -> r with V[k, c, y, 0] = L[c kh + y, k] and a horizontal
// 1 x kw Conv r -> O with H[o, k, 0, x] = R[k, o kw + x]: the vertical one
// takes the height's stride, padding and dilation, the horizontal one the
// width's. r (C kh + O kw) parameters instead of O C kh kw.
std::vector<float> SpatialMatrix(absl::Span<const float> kernel, int out_channels,
                                 int in_channels, int kernel_h, int kernel_w);
// The kernel of a spatial matrix (the inverse permutation).
std::vector<float> KernelFromSpatialMatrix(absl::Span<const float> matrix, int out_channels,
                                           int in_channels, int kernel_h, int kernel_w);

// rank * (rows + cols): the factors' parameter count.
inline int64_t FactorizedParameters(int rows, int cols, int rank) {
  return static_cast<int64_t>(rank) * (rows + cols);
}

}  // namespace edgecompress::lowrank

#endif  // EDGECOMPRESS_LOWRANK_FACTORIZATION_H_
