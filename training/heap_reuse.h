// Keeps freed activation buffers in the process heap for the next step.
//
// A training step allocates and frees the same large activation and
// gradient buffers every time. glibc serves blocks above its mmap threshold
// (128 KiB, raised only as blocks are freed) with fresh mmap()s, so each step
// page-faults its activations in again and zeroes them in the kernel: 22% of
// a channels-last ResNet-20 step here was kernel time, and raising the
// thresholds made the step 1.3-1.4x faster (LeNet-5's buffers are small, so
// it gains little). jemalloc and tcmalloc, which PyTorch's CPU tuning guides
// preload for the same reason, keep such blocks too.
//
// Process-wide: call once at the start of a training tool's main(), before
// threads start. The cost is that the heap keeps its peak size until exit;
// blocks above 32 MiB (glibc's largest allowed threshold) are still mapped
// and unmapped each time.
#ifndef EDGECOMPRESS_TRAINING_HEAP_REUSE_H_
#define EDGECOMPRESS_TRAINING_HEAP_REUSE_H_

#include "absl/status/status.h"

namespace edgecompress::training {

// kUnimplemented where the C library is not glibc; kInternal if glibc
// refuses the settings.
absl::Status KeepFreedBuffersInHeap();

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_HEAP_REUSE_H_
