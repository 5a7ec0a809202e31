// EDGECOMPRESS_AVX2_CLONE: compile a function twice on x86-64 GCC, for AVX2
// and for the baseline, and let the loader pick the clone the CPU runs
// (target_clones, an ifunc). The kernels of this package are plain loops the
// compiler vectorises; AVX2 doubles their vector width without making the
// training binaries require it.
#ifndef EDGECOMPRESS_TRAINING_OPS_AVX2_CLONE_H_
#define EDGECOMPRESS_TRAINING_OPS_AVX2_CLONE_H_

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define EDGECOMPRESS_AVX2_CLONE __attribute__((target_clones("avx2", "default")))
#else
#define EDGECOMPRESS_AVX2_CLONE
#endif

#endif  // EDGECOMPRESS_TRAINING_OPS_AVX2_CLONE_H_
