// The standard CIFAR training augmentation, and the evaluation path, on one
// uint8 CHW image into a float CHW image of the same shape.
//
// Training path (He et al. 2016, "Deep Residual Learning for Image
// Recognition", sec. 4.2: "4 pixels are padded on each side, and a 32x32 crop
// is randomly sampled from the padded image or its horizontal flip"; the same
// as torchvision's RandomCrop(32, padding=4), RandomHorizontalFlip(),
// ToTensor(), Normalize(mean, std)):
//   1. Draw AugmentParams from the caller's engine, in this order:
//      offset_y = UniformInt(2p + 1), offset_x = UniformInt(2p + 1),
//      flip = UniformUnit() < flip_probability (portable_random.h), where p is
//      crop_padding. Three draws always, whatever the options.
//   2. Crop: out(c, y, x) = in(c, y + offset_y - p, x' + offset_x - p) with
//      x' = W - 1 - x when flipping (flip after crop, as torchvision) and x
//      otherwise; positions outside the image read pixel value 0, i.e. the
//      padding is black before normalisation (torchvision pads the uint8
//      image with fill=0), so it normalises to -mean/std, not to 0.
//   3. Normalise: out = (pixel / 255 - mean[c]) / stddev[c], from a 256-entry
//      table per channel computed in double.
// Evaluation path (Normalize): step 3 only, i.e. Apply with offsets (p, p) and
// no flip. No randomness; the same bytes always give the same floats.
//
// Offsets p, p are the identity, 0 shifts the image down/right by p. The
// engine is any 64-bit URBG (SplitMix64, std::mt19937_64, absl::BitGen);
// nothing here keeps state between images, so a batch loader that seeds one
// engine per (seed, epoch, sample) is reproducible under any threading.
//
// Normalisation constants: kCifar10Mean/kCifar10Stddev are the per-channel
// mean and standard deviation of all 50,000 x 1024 training pixels / 255
// (0.49139968, 0.48215841, 0.44653091 and 0.24703223, 0.24348513, 0.26158784
// as computed in MadryLab/robustness issue #70 and kuangliu/pytorch-cifar
// issue #19). The (0.2023, 0.1994, 0.2010) copied from kuangliu/pytorch-cifar
// is the mean of per-image stds, not the dataset std. For any other dataset
// (CIFAR-100, MNIST) ComputeChannelStats gives the numbers from the data.
//
// Cost: one table lookup per output value, O(C * H * W); Create builds a
// C x 256 table. ImageAugmenter is immutable after Create and safe to share
// between threads.
#ifndef EDGECOMPRESS_TRAINING_DATA_AUGMENT_H_
#define EDGECOMPRESS_TRAINING_DATA_AUGMENT_H_

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "training/data/image_dataset.h"
#include "training/data/portable_random.h"

namespace edgecompress::training {

inline constexpr std::array<float, 3> kCifar10Mean = {0.4914f, 0.4822f, 0.4465f};
inline constexpr std::array<float, 3> kCifar10Stddev = {0.2470f, 0.2435f, 0.2616f};

struct AugmentOptions {
  // Zero pixels added on each side before the random crop, 0..min(H, W); 0
  // disables cropping (the offsets are then always 0).
  int64_t crop_padding = 4;
  double flip_probability = 0.5;  // of a horizontal flip, [0, 1]
  // Per channel, of pixel / 255; one value applies to every channel.
  std::vector<float> mean = {kCifar10Mean.begin(), kCifar10Mean.end()};
  std::vector<float> stddev = {kCifar10Stddev.begin(), kCifar10Stddev.end()};
};

// One image's random choices, in padded coordinates: the crop's top-left
// corner in [0, 2 * crop_padding] and whether to mirror left-right.
struct AugmentParams {
  int64_t offset_y = 0, offset_x = 0;
  bool flip = false;
};

class ImageAugmenter {
 public:
  // For images of channels x height x width. kInvalidArgument naming the
  // field: non-positive shape, crop_padding outside [0, min(height, width)],
  // flip_probability outside [0, 1], mean or stddev not of size 1 or
  // `channels`, a non-finite mean, or a stddev that is not finite and > 0.
  static absl::StatusOr<ImageAugmenter> Create(int64_t channels, int64_t height, int64_t width,
                                               const AugmentOptions& options = {});

  int64_t image_size() const { return channels_ * height_ * width_; }  // C * H * W
  const AugmentOptions& options() const { return options_; }

  // The parameters that leave the image where it is: offsets (p, p), no flip.
  AugmentParams Identity() const { return {options_.crop_padding, options_.crop_padding, false}; }

  template <typename URBG>
  AugmentParams Draw(URBG& rng) const {
    const uint64_t positions = 2 * static_cast<uint64_t>(options_.crop_padding) + 1;
    AugmentParams params;
    params.offset_y = static_cast<int64_t>(UniformInt(rng, positions));
    params.offset_x = static_cast<int64_t>(UniformInt(rng, positions));
    params.flip = UniformUnit(rng) < options_.flip_probability;
    return params;
  }

  // Crop, flip and normalise `image` (image_size() bytes) into `out`
  // (image_size() floats) with `params` (offsets in [0, 2p]). Sizes and
  // ranges are asserted, not checked: they are the caller's invariants.
  void Apply(absl::Span<const uint8_t> image, const AugmentParams& params,
             absl::Span<float> out) const;

  // The training path: Apply(image, Draw(rng), out).
  template <typename URBG>
  void Augment(absl::Span<const uint8_t> image, URBG& rng, absl::Span<float> out) const {
    Apply(image, Draw(rng), out);
  }

  // The evaluation path: normalisation only.
  void Normalize(absl::Span<const uint8_t> image, absl::Span<float> out) const {
    Apply(image, Identity(), out);
  }

 private:
  ImageAugmenter(int64_t channels, int64_t height, int64_t width, AugmentOptions options,
                 std::vector<float> table)
      : channels_(channels),
        height_(height),
        width_(width),
        options_(std::move(options)),
        table_(std::move(table)) {}

  int64_t channels_, height_, width_;
  AugmentOptions options_;
  std::vector<float> table_;  // [c * 256 + v]: the normalised value of level v in channel c
};

// Per-channel mean and population standard deviation of pixel / 255 over every
// pixel of every image, accumulated in double: the numbers to put in
// AugmentOptions for a dataset without published ones. kInvalidArgument for
// an empty or inconsistent dataset. O(size * C * H * W).
struct ChannelStats {
  std::vector<float> mean, stddev;
};
absl::StatusOr<ChannelStats> ComputeChannelStats(const ImageDataset& data);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_AUGMENT_H_
