// A seeded synthetic image-classification dataset for tests: learnable, any
// shape, no files. Each class is a distinct 2-D grating with its own colour
// tint, plus per-pixel noise, so a small CNN (or, with fixed phase, even a
// linear model) separates the classes within a few epochs.
//
// Image i has label i % num_classes (classes balanced to within one image) and
// is drawn, independently of every other image, from
// SplitMix64(MixSeed(seed, i)) (portable_random.h). Pixel (c, y, x) is
//
//   v = 0.5 + 0.15 * cos(2 pi (k / K + c / C))        colour tint of class k
//         + 0.3 * G_a(y / H, phi_y) * G_b(x / W, phi_x)  grating of class k
//         + noise * (2 U - 1)                          uniform noise
//   pixel = floor(255 * clamp(v, 0, 1) + 0.5)
//
// with G_f(t, phi) = cos(2 pi f t + phi) for f > 0 and 1 for f = 0. Class k's
// frequency pair (a, b) (cycles per image height, width) is the k-th pair of
// {0..m}^2 \ {(0,0)} ordered by m = max(a, b), then a, then b:
// (0,1) (1,0) (1,1) (0,2) (1,2) (2,0) (2,1) (2,2) (0,3) ... The products of
// cosines at distinct pairs are orthogonal, which is what makes the classes
// distinct; the tint is an extra cue (distinct per class only when C >= 3).
// The phases are 0, or with random_phase uniform in [0, 2 pi) per image, so
// that only the frequency (what a convolution detects anywhere) carries the
// class. Draw order per image: phi_y, phi_x (only with random_phase), then one
// U per pixel in CHW order.
//
// Guarantees: the same options give the same bytes (on one build; cos() may
// differ in the last ulp across libm versions, which moves a pixel by at most
// one level). Datasets that differ only in seed are two samples of the same
// task (patterns depend on the class alone), so seed 1 can train and seed 2
// test; a dataset of size n is a prefix of one of size n' > n. Cost:
// O(size * C * H * W) time, the dataset's bytes of memory.
#ifndef EDGECOMPRESS_TRAINING_DATA_SYNTHETIC_H_
#define EDGECOMPRESS_TRAINING_DATA_SYNTHETIC_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

struct SyntheticOptions {
  int64_t size = 0;  // images, >= 0
  int64_t channels = 3, height = 32, width = 32;
  int num_classes = 10;       // 1..256
  double noise = 0.1;         // half-width of the uniform noise, fraction of full scale, [0, 1]
  bool random_phase = false;  // true: class is in the frequency only, not the position
  uint64_t seed = 0;
};

// The grating frequencies of class `label`, in cycles per image side.
struct GratingFrequency {
  int vertical = 0, horizontal = 0;  // a along the height, b along the width
};
GratingFrequency SyntheticClassFrequency(int label);

// kInvalidArgument naming the field for a negative size, non-positive shape,
// num_classes outside 1..256, noise outside [0, 1], or an image too small to
// show the classes' gratings unaliased (height and width must exceed twice the
// largest frequency: 10 classes need 7x7, 100 classes need 21x21).
absl::StatusOr<ImageDataset> MakeSyntheticDataset(const SyntheticOptions& options);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_SYNTHETIC_H_
