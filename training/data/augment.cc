#include "training/data/augment.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"

namespace edgecompress::training {

absl::StatusOr<ImageAugmenter> ImageAugmenter::Create(int64_t channels, int64_t height,
                                                      int64_t width,
                                                      const AugmentOptions& options) {
  if (channels <= 0 || height <= 0 || width <= 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "ImageAugmenter: image shape %dx%dx%d (CxHxW) must be positive", channels, height, width));
  }
  if (options.crop_padding < 0 || options.crop_padding > std::min(height, width)) {
    // More padding than image would allow crops that are nothing but padding.
    return absl::InvalidArgumentError(
        absl::StrFormat("AugmentOptions: crop_padding %d is not in [0, %d] for %dx%d images",
                        options.crop_padding, std::min(height, width), height, width));
  }
  if (!(options.flip_probability >= 0.0 && options.flip_probability <= 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "AugmentOptions: flip_probability %g is not in [0, 1]", options.flip_probability));
  }
  const auto sized = [channels](const std::vector<float>& values) {
    return values.size() == 1 || static_cast<int64_t>(values.size()) == channels;
  };
  if (!sized(options.mean) || !sized(options.stddev)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "AugmentOptions: %d means and %d stddevs for %d-channel images (need 1 or %d each)",
        options.mean.size(), options.stddev.size(), channels, channels));
  }
  std::vector<float> table(channels * 256);
  for (int64_t c = 0; c < channels; ++c) {
    const double mean = options.mean[options.mean.size() == 1 ? 0 : c];
    const double stddev = options.stddev[options.stddev.size() == 1 ? 0 : c];
    if (!std::isfinite(mean)) {
      return absl::InvalidArgumentError(
          absl::StrFormat("AugmentOptions: mean of channel %d is %g", c, mean));
    }
    if (!(std::isfinite(stddev) && stddev > 0.0)) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "AugmentOptions: stddev of channel %d is %g, not a positive number", c, stddev));
    }
    for (int v = 0; v < 256; ++v) {
      table[c * 256 + v] = static_cast<float>((v / 255.0 - mean) / stddev);
    }
  }
  return ImageAugmenter(channels, height, width, options, std::move(table));
}

void ImageAugmenter::Apply(absl::Span<const uint8_t> image, const AugmentParams& params,
                           absl::Span<float> out) const {
  assert(static_cast<int64_t>(image.size()) == image_size());
  assert(static_cast<int64_t>(out.size()) == image_size());
  const int64_t pad = options_.crop_padding;
  assert(params.offset_y >= 0 && params.offset_y <= 2 * pad);
  assert(params.offset_x >= 0 && params.offset_x <= 2 * pad);
  const int64_t shift_y = params.offset_y - pad, shift_x = params.offset_x - pad;
  // Output x reads input column x + shift_x, or (W - 1 - x) + shift_x when
  // flipped; anything outside the image is padding, level 0.
  for (int64_t c = 0; c < channels_; ++c) {
    const float* levels = &table_[c * 256];
    const uint8_t* plane = image.data() + c * height_ * width_;
    float* out_plane = out.data() + c * height_ * width_;
    for (int64_t y = 0; y < height_; ++y) {
      float* out_row = out_plane + y * width_;
      const int64_t source_y = y + shift_y;
      if (source_y < 0 || source_y >= height_) {
        std::fill(out_row, out_row + width_, levels[0]);
        continue;
      }
      const uint8_t* row = plane + source_y * width_;
      for (int64_t x = 0; x < width_; ++x) {
        const int64_t source_x = (params.flip ? width_ - 1 - x : x) + shift_x;
        out_row[x] = source_x >= 0 && source_x < width_ ? levels[row[source_x]] : levels[0];
      }
    }
  }
}

absl::StatusOr<ChannelStats> ComputeChannelStats(const ImageDataset& data) {
  RETURN_IF_ERROR(ValidateImageDataset(data));
  if (data.size == 0) {
    return absl::InvalidArgumentError("ComputeChannelStats: the dataset is empty");
  }
  // Histograms are exact and make the sums order-independent.
  std::vector<std::array<int64_t, 256>> histograms(data.channels);
  for (auto& histogram : histograms) histogram.fill(0);
  const int64_t plane = data.height * data.width;
  for (int64_t i = 0; i < data.size; ++i) {
    for (int64_t c = 0; c < data.channels; ++c) {
      const uint8_t* pixels = &data.pixels[(i * data.channels + c) * plane];
      for (int64_t p = 0; p < plane; ++p) ++histograms[c][pixels[p]];
    }
  }
  ChannelStats stats;
  const double count = static_cast<double>(data.size) * plane;
  for (int64_t c = 0; c < data.channels; ++c) {
    double sum = 0;
    for (int v = 0; v < 256; ++v) sum += histograms[c][v] * (v / 255.0);
    const double mean = sum / count;
    double squares = 0;
    for (int v = 0; v < 256; ++v) {
      squares += histograms[c][v] * (v / 255.0 - mean) * (v / 255.0 - mean);
    }
    stats.mean.push_back(static_cast<float>(mean));
    stats.stddev.push_back(static_cast<float>(std::sqrt(squares / count)));
  }
  return stats;
}

}  // namespace edgecompress::training
