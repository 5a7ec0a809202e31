#include "training/data/class_subset.h"

#include <array>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {

absl::StatusOr<ImageDataset> SelectClasses(const ImageDataset& dataset,
                                           absl::Span<const int> classes) {
  if (classes.size() < 2) {
    return absl::InvalidArgumentError(
        absl::StrFormat("a class subset needs at least 2 classes, got %d", classes.size()));
  }
  constexpr int kUnselected = -1;
  std::array<int, 256> new_label;  // labels are bytes
  new_label.fill(kUnselected);
  for (size_t i = 0; i < classes.size(); ++i) {
    const int c = classes[i];
    if (c < 0 || c >= dataset.num_classes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "class %d is not in the dataset's 0..%d", c, dataset.num_classes - 1));
    }
    if (new_label[c] != kUnselected) {
      return absl::InvalidArgumentError(absl::StrFormat("class %d is given twice", c));
    }
    new_label[c] = static_cast<int>(i);
  }
  ImageDataset subset{.channels = dataset.channels, .height = dataset.height,
                      .width = dataset.width, .num_classes = static_cast<int>(classes.size())};
  const int64_t bytes = dataset.image_bytes();
  for (int64_t i = 0; i < dataset.size; ++i) {
    const int label = new_label[dataset.labels[i]];
    if (label == kUnselected) continue;
    const uint8_t* image = dataset.pixels.data() + i * bytes;
    subset.pixels.insert(subset.pixels.end(), image, image + bytes);
    subset.labels.push_back(static_cast<uint8_t>(label));
    ++subset.size;
  }
  return subset;
}

}  // namespace edgecompress::training
