#include "training/data/synthetic.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "training/data/portable_random.h"

namespace edgecompress::training {
namespace {

constexpr double kTwoPi = 6.283185307179586476925286766559;
constexpr double kTint = 0.15, kAmplitude = 0.3;

// G_f(t, phi) sampled at t = 0, 1/n, ..., (n-1)/n.
std::vector<double> Grating(int frequency, int64_t n, double phase) {
  std::vector<double> values(n, 1.0);
  if (frequency == 0) return values;
  for (int64_t t = 0; t < n; ++t) {
    values[t] = std::cos(kTwoPi * frequency * static_cast<double>(t) / n + phase);
  }
  return values;
}

}  // namespace

GratingFrequency SyntheticClassFrequency(int label) {
  // Pairs with max(a, b) < m number m^2 - 1; block m holds (0..m-1, m) then (m, 0..m).
  int m = 1;
  while ((m + 1) * (m + 1) - 1 <= label) ++m;
  const int r = label - (m * m - 1);
  return r < m ? GratingFrequency{r, m} : GratingFrequency{m, r - m};
}

absl::StatusOr<ImageDataset> MakeSyntheticDataset(const SyntheticOptions& options) {
  if (options.size < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SyntheticOptions: size %d is negative", options.size));
  }
  if (options.channels <= 0 || options.height <= 0 || options.width <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SyntheticOptions: shape %dx%dx%d (CxHxW) must be positive",
                        options.channels, options.height, options.width));
  }
  if (options.num_classes < 1 || options.num_classes > 256) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SyntheticOptions: num_classes %d is not in 1..256", options.num_classes));
  }
  if (!(options.noise >= 0.0 && options.noise <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrFormat("SyntheticOptions: noise %g is not in [0, 1]", options.noise));
  }
  const GratingFrequency highest = SyntheticClassFrequency(options.num_classes - 1);
  const int max_frequency = std::max(highest.vertical, highest.horizontal);
  // At n/2 cycles or more a grating aliases onto a lower one, and two classes
  // could become the same picture.
  if (2 * max_frequency >= std::min(options.height, options.width)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SyntheticOptions: %d classes need gratings of up to %d cycles, which a %dx%d image "
        "cannot show (height and width must be at least %d)",
        options.num_classes, max_frequency, options.height, options.width, 2 * max_frequency + 1));
  }

  ImageDataset dataset;
  dataset.size = options.size;
  dataset.channels = options.channels;
  dataset.height = options.height;
  dataset.width = options.width;
  dataset.num_classes = options.num_classes;
  dataset.pixels.resize(options.size * dataset.image_bytes());
  dataset.labels.resize(options.size);

  const int64_t plane = options.height * options.width;
  for (int64_t i = 0; i < options.size; ++i) {
    const int label = static_cast<int>(i % options.num_classes);
    dataset.labels[i] = static_cast<uint8_t>(label);
    SplitMix64 rng(MixSeed(options.seed, static_cast<uint64_t>(i)));
    double phase_y = 0.0, phase_x = 0.0;
    if (options.random_phase) {
      phase_y = kTwoPi * UniformUnit(rng);
      phase_x = kTwoPi * UniformUnit(rng);
    }
    const GratingFrequency frequency = SyntheticClassFrequency(label);
    const std::vector<double> rows = Grating(frequency.vertical, options.height, phase_y);
    const std::vector<double> columns = Grating(frequency.horizontal, options.width, phase_x);
    uint8_t* image = &dataset.pixels[i * dataset.image_bytes()];
    for (int64_t c = 0; c < options.channels; ++c) {
      const double tint =
          0.5 + kTint * std::cos(kTwoPi * (static_cast<double>(label) / options.num_classes +
                                           static_cast<double>(c) / options.channels));
      for (int64_t y = 0; y < options.height; ++y) {
        for (int64_t x = 0; x < options.width; ++x) {
          const double noise = options.noise * (2.0 * UniformUnit(rng) - 1.0);
          const double value =
              std::clamp(tint + kAmplitude * rows[y] * columns[x] + noise, 0.0, 1.0);
          image[c * plane + y * options.width + x] =
              static_cast<uint8_t>(std::floor(255.0 * value + 0.5));
        }
      }
    }
  }
  return dataset;
}

}  // namespace edgecompress::training
