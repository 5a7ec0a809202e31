#include "training/heap_reuse.h"

#include <cstddef>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace edgecompress::training {

absl::Status KeepFreedBuffersInHeap() {
#if defined(__GLIBC__)
  // 32 MiB is the largest mmap threshold mallopt accepts on 64-bit glibc;
  // setting it also stops glibc from adjusting it. The trim threshold keeps
  // free memory at the heap's top instead of returning it after every step.
  constexpr int kMmapThresholdBytes = 32 << 20;
  constexpr int kTrimThresholdBytes = 1 << 30;
  if (mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes) != 1 ||
      mallopt(M_TRIM_THRESHOLD, kTrimThresholdBytes) != 1) {
    return absl::InternalError("glibc refused the mmap and trim thresholds (mallopt)");
  }
  return absl::OkStatus();
#else
  return absl::UnimplementedError("heap tuning needs glibc's mallopt");
#endif
}

}  // namespace edgecompress::training
