// AC/DC: Alternating Compressed/DeCompressed training (Peste, Iofinova,
// Vladu, Alistarh, NeurIPS 2021). After a dense warm-up, training alternates
// compressed phases (magnitude masks at a fixed sparsity: optimisation over
// the top-k support, as in iterative hard thresholding) with decompressed
// phases (all weights trainable again, pruned ones restart from 0), and ends
// with a longer compressed phase that fine-tunes the final sparse support.
// It yields a sparse model and, from the last decompressed phase, a dense one.
//
// With B = begin_step, p = phase_steps, F = fine_tune_step:
//
//   [0, B)                          warm-up, dense
//   [B + k*p, B + (k+1)*p), k even  compressed at `sparsity`    k = 0 .. K
//   [B + k*p, B + (k+1)*p), k odd   decompressed, dense
//   [B + (K+1)*p, F)                decompressed: the last one runs to F
//   [F, end of training)            compressed fine-tuning at `sparsity`
//
// where K is the last even k whose compressed phase is followed by a
// decompressed one starting before F: B + (K+1)*p < F. So a compressed
// phase always precedes and follows a decompressed one, and the last
// decompressed phase lasts between 1 and 2p steps. The authors' released
// schedules (github.com/IST-DASLab/ACDC, configs/neurips) are exactly this:
//   ResNet-50/ImageNet, 100 epochs: B = 10, p = 5, F = 85 -> compressed
//     10-14, 20-24, ..., 70-74; decompressed 15-19, ..., 65-69 and 75-84
//     (10 epochs); fine-tuning 85-99 (15 epochs).
//   WideResNet-28-10/CIFAR-100, 200 epochs: B = 10, p = 20, F = 170 ->
//     compressed 10-29, 50-69, 90-109, 130-149; fine-tuning 170-199.
//
// Updates: at the start of every phase (t = B, every switch, t = F). At a
// compressed start the masks are recomputed by magnitude of the dense
// weights for `sparsity`; at a decompressed start they become all ones
// (target 0) and, as the paper recommends, the optimizer's momentum should
// be reset to 0 so formerly pruned weights do not resume with stale
// momentum (PhaseAt tells the adapter which it is).
//
// Conventions:
//   - Steps are whatever unit the caller counts (epochs in recipes; see
//     EpochsToSteps). All ends are exclusive; masks hold after F forever.
//   - SparseML's ACDCPruningModifier starts with a decompressed phase at
//     its start_epoch and has no longer final decompressed phase; give B
//     here as its start_epoch + update_frequency to match its compressed
//     phases.
#ifndef EDGECOMPRESS_PRUNING_ACDC_SCHEDULE_H_
#define EDGECOMPRESS_PRUNING_ACDC_SCHEDULE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pruning/schedule.h"

namespace edgecompress::pruning {

struct AcDcScheduleOptions {
  double sparsity = 0.9;       // of every compressed phase; fraction in [0, 1)
  int64_t begin_step = 0;      // first compressed phase; [0, begin) is the dense warm-up
  int64_t phase_steps = 1;     // length of each compressed and decompressed phase
  int64_t fine_tune_step = 2;  // final compressed phase, to the end of training
};

enum class AcDcPhase { kWarmUp, kCompressed, kDecompressed, kFineTune };

absl::string_view AcDcPhaseName(AcDcPhase phase);  // "warm_up", "compressed", ...

class AcDcSchedule final : public SparsitySchedule {
 public:
  // Validates once; after that nothing can fail. Errors (kInvalidArgument):
  // sparsity outside [0, 1), a negative begin, a phase shorter than 1 step,
  // fine-tuning before begin + 2 * phase (no room for one compressed and
  // one decompressed phase).
  static absl::StatusOr<AcDcSchedule> Create(const AcDcScheduleOptions& options);

  // `sparsity` in compressed phases and fine-tuning, else 0.
  double TargetSparsity(int64_t step) const override;
  // The first step of every phase from begin on.
  bool IsUpdateStep(int64_t step) const override;
  // In compressed phases and fine-tuning.
  bool MasksEnforced(int64_t step) const override;

  AcDcPhase PhaseAt(int64_t step) const;

  const AcDcScheduleOptions& options() const { return options_; }

 private:
  explicit AcDcSchedule(const AcDcScheduleOptions& options);

  AcDcScheduleOptions options_;
  int64_t last_compressed_phase_ = 0;  // K above
};

// begin, phase and fine-tune times `steps_per_epoch` (>= 1): phases switch
// on epoch boundaries.
AcDcScheduleOptions EpochsToSteps(const AcDcScheduleOptions& epochs, int64_t steps_per_epoch);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_ACDC_SCHEDULE_H_
