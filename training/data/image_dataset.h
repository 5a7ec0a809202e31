// ImageDataset: a labelled set of uint8 images held in memory, the one type
// every loader here returns (MNIST, CIFAR, synthetic) and every consumer reads
// (split, augmentation, batch loader, the LibTorch adapter in training/).
//
// Layout: `pixels` is NCHW, image i occupying the
// channels * height * width bytes from i * channels * height * width, each
// channel a row-major height x width plane (CIFAR's own layout; MNIST has one
// channel). `labels[i]` is image i's class, 0 <= label < num_classes. Values
// are raw 0..255 pixels; normalisation happens later (augment.h).
//
// ValidateImageDataset checks the invariants above in O(size). Nothing here
// allocates beyond the two vectors.
#ifndef EDGECOMPRESS_TRAINING_DATA_IMAGE_DATASET_H_
#define EDGECOMPRESS_TRAINING_DATA_IMAGE_DATASET_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {

// Uint8 images in NCHW order with one label each.
struct ImageDataset {
  int64_t size = 0, channels = 0, height = 0, width = 0;
  int num_classes = 0;
  std::vector<uint8_t> pixels;  // size * channels * height * width
  std::vector<uint8_t> labels;  // size, each < num_classes

  // Bytes of one image: channels * height * width.
  int64_t image_bytes() const { return channels * height * width; }
};

// kInvalidArgument, naming the first broken invariant, unless `dataset` has
// positive channels, height and width, 1..256 classes (labels are bytes),
// size >= 0, pixels.size() == size * image_bytes(), labels.size() == size and
// every label < num_classes.
inline absl::Status ValidateImageDataset(const ImageDataset& dataset) {
  if (dataset.channels <= 0 || dataset.height <= 0 || dataset.width <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ImageDataset: image shape %dx%dx%d (CxHxW) must be positive",
                        dataset.channels, dataset.height, dataset.width));
  }
  if (dataset.num_classes < 1 || dataset.num_classes > 256) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ImageDataset: num_classes %d is not in 1..256", dataset.num_classes));
  }
  if (dataset.size < 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ImageDataset: size %d is negative", dataset.size));
  }
  if (static_cast<int64_t>(dataset.pixels.size()) != dataset.size * dataset.image_bytes()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("ImageDataset: %d pixel bytes, expected size %d x %d bytes per image",
                        dataset.pixels.size(), dataset.size, dataset.image_bytes()));
  }
  if (static_cast<int64_t>(dataset.labels.size()) != dataset.size) {
    return absl::InvalidArgumentError(absl::StrFormat("ImageDataset: %d labels for %d images",
                                                      dataset.labels.size(), dataset.size));
  }
  for (size_t i = 0; i < dataset.labels.size(); ++i) {
    if (dataset.labels[i] >= dataset.num_classes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("ImageDataset: label %d of image %d is not below num_classes %d",
                          dataset.labels[i], i, dataset.num_classes));
    }
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_IMAGE_DATASET_H_
