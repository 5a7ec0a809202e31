// Random numbers that are the same on every platform, for data pipelines that
// must replay exactly: a shuffle, a split or an augmentation drawn from seed S
// is the same bytes under libstdc++ and libc++, today and after an upgrade.
//
// Why not <random> alone: the engines are specified bit for bit, but
// std::uniform_int_distribution, std::uniform_real_distribution and
// std::shuffle are not (each standard library draws differently), and
// absl::BitGen is documented as unstable across releases. So the engines here
// may be any 64-bit URBG (SplitMix64 below, std::mt19937_64, absl::BitGen), and
// the mapping from raw 64-bit words to integers, reals and permutations is
// spelled out in this file:
//
//   SplitMix64     Steele, Lea & Flood, "Fast splittable pseudorandom number
//                  generators", OOPSLA 2014; constants of Vigna's reference
//                  prng.di.unimi.it/splitmix64.c. 8 bytes of state, so one
//                  engine per sample is free; not cryptographic.
//   MixSeed(s, v)  Mix64(Mix64(s + golden) + v): derives an independent stream
//                  seed for item v of stream s, e.g. (seed, epoch) -> epoch
//                  seed -> sample seed. Mix64 is a bijection, so for a fixed s
//                  distinct v never collide, and nearby seeds give unrelated
//                  streams.
//   UniformInt     uniform in [0, n) by rejection: words below 2^64 mod n are
//                  redrawn, then word % n. Unbiased; expected draws < 2.
//   UniformUnit    the top 53 bits of one word times 2^-53: uniform in [0, 1).
//   Shuffle        Fisher-Yates from the back: for i = n-1 down to 1, swap
//                  element i with element UniformInt(i + 1). O(n).
#ifndef EDGECOMPRESS_TRAINING_DATA_PORTABLE_RANDOM_H_
#define EDGECOMPRESS_TRAINING_DATA_PORTABLE_RANDOM_H_

#include <cassert>
#include <cstdint>
#include <limits>
#include <utility>

#include "absl/types/span.h"

namespace edgecompress::training {

inline constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;  // 2^64 / golden ratio

// The SplitMix64 output function (a variant of MurmurHash3's fmix64).
constexpr uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

constexpr uint64_t MixSeed(uint64_t seed, uint64_t value) {
  return Mix64(Mix64(seed + kGoldenGamma) + value);
}

// A UniformRandomBitGenerator producing SplitMix64's sequence for `seed`.
class SplitMix64 {
 public:
  using result_type = uint64_t;
  explicit constexpr SplitMix64(uint64_t seed) : state_(seed) {}
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<uint64_t>::max(); }
  constexpr result_type operator()() {
    state_ += kGoldenGamma;
    return Mix64(state_);
  }

 private:
  uint64_t state_;
};

// Engines must return full 64-bit words (std::mt19937, 32-bit, does not).
template <typename URBG>
constexpr void CheckFullWidth() {
  static_assert(URBG::min() == 0 && URBG::max() == std::numeric_limits<uint64_t>::max(),
                "portable_random needs an engine of full 64-bit words");
}

// Uniform in [0, n); requires n >= 1.
template <typename URBG>
uint64_t UniformInt(URBG& rng, uint64_t n) {
  CheckFullWidth<URBG>();
  assert(n >= 1);
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    const uint64_t word = rng();
    if (word >= threshold) return word % n;
  }
}

// Uniform in [0, 1) on the grid of multiples of 2^-53.
template <typename URBG>
double UniformUnit(URBG& rng) {
  CheckFullWidth<URBG>();
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

template <typename T, typename URBG>
void Shuffle(absl::Span<T> items, URBG& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    using std::swap;
    swap(items[i - 1], items[UniformInt(rng, i)]);
  }
}

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_PORTABLE_RANDOM_H_
