// Builds against @edgecompress//pruning from outside the repository: proves
// that a single package can be depended on without the rest (no LibTorch,
// no XNNPACK is compiled for this target).
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "pruning/magnitude.h"
#include "pruning/schedule.h"

int main() {
  using edgecompress::pruning::CubicSchedule;
  const absl::StatusOr<CubicSchedule> schedule = CubicSchedule::Create(
      {.initial_sparsity = 0.05, .final_sparsity = 0.95, .begin_step = 0, .end_step = 40});
  if (!schedule.ok()) {
    std::fprintf(stderr, "FAILED: %s\n", schedule.status().ToString().c_str());
    return EXIT_FAILURE;
  }
  std::vector<float> weights(100);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i);
  std::vector<uint8_t> mask(weights.size());
  // s(20) = 0.8375: floor(83.75) = 83 of 100 weights pruned.
  if (!edgecompress::pruning::MagnitudeMask(weights, schedule->TargetSparsity(20),
                                            absl::MakeSpan(mask)).ok()) {
    return EXIT_FAILURE;
  }
  int pruned = 0;
  for (uint8_t m : mask) pruned += m == 0;
  std::printf("pruned %d of %zu weights at epoch 20\n", pruned, weights.size());
  return pruned == 83 ? EXIT_SUCCESS : EXIT_FAILURE;
}
