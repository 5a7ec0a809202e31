#include "training/data/split.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"
#include "training/data/portable_random.h"

namespace edgecompress::training {
namespace {

// The unstratified stream; classes use streams 0..255.
constexpr uint64_t kUnstratifiedStream = 256;

// The validation quota of each class: see step 2 in split.h.
std::vector<int64_t> ClassQuotas(const std::vector<int64_t>& class_sizes, int64_t total,
                                 int64_t validation) {
  const int classes = static_cast<int>(class_sizes.size());
  std::vector<int64_t> quotas(classes), remainders(classes);
  int64_t assigned = 0;
  for (int c = 0; c < classes; ++c) {
    quotas[c] = validation * class_sizes[c] / total;
    remainders[c] = validation * class_sizes[c] % total;
    assigned += quotas[c];
  }
  std::vector<int> order(classes);
  std::iota(order.begin(), order.end(), 0);
  // stable_sort keeps the lower class first among equal remainders.
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return remainders[a] > remainders[b]; });
  for (int64_t i = 0; i < validation - assigned; ++i) ++quotas[order[i]];
  return quotas;
}

}  // namespace

absl::StatusOr<ImageDataset> SelectImages(const ImageDataset& data,
                                          absl::Span<const int64_t> indices) {
  ImageDataset subset;
  subset.size = static_cast<int64_t>(indices.size());
  subset.channels = data.channels;
  subset.height = data.height;
  subset.width = data.width;
  subset.num_classes = data.num_classes;
  const int64_t bytes = data.image_bytes();
  subset.pixels.resize(subset.size * bytes);
  subset.labels.resize(subset.size);
  for (int64_t i = 0; i < subset.size; ++i) {
    const int64_t source = indices[i];
    if (source < 0 || source >= data.size) {
      return absl::OutOfRangeError(
          absl::StrFormat("SelectImages: index %d (entry %d) is outside the dataset's %d images",
                          source, i, data.size));
    }
    std::memcpy(&subset.pixels[i * bytes], &data.pixels[source * bytes], bytes);
    subset.labels[i] = data.labels[source];
  }
  return subset;
}

absl::StatusOr<DatasetSplit> SplitDataset(const ImageDataset& data, double validation_fraction,
                                          uint64_t seed, bool stratified) {
  if (!(validation_fraction >= 0.0 && validation_fraction < 1.0)) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "SplitDataset: validation_fraction %g is not in [0, 1)", validation_fraction));
  }
  RETURN_IF_ERROR(ValidateImageDataset(data));
  const int64_t validation_size = std::min<int64_t>(
      data.size, static_cast<int64_t>(std::floor(validation_fraction * data.size + 1e-9)));

  std::vector<int64_t> validation;
  validation.reserve(validation_size);
  if (stratified) {
    std::vector<std::vector<int64_t>> members(data.num_classes);
    for (int64_t i = 0; i < data.size; ++i) members[data.labels[i]].push_back(i);
    std::vector<int64_t> class_sizes(data.num_classes);
    for (int c = 0; c < data.num_classes; ++c) class_sizes[c] = members[c].size();
    const std::vector<int64_t> quotas =
        data.size == 0 ? class_sizes : ClassQuotas(class_sizes, data.size, validation_size);
    for (int c = 0; c < data.num_classes; ++c) {
      SplitMix64 rng(MixSeed(seed, static_cast<uint64_t>(c)));
      Shuffle(absl::MakeSpan(members[c]), rng);
      validation.insert(validation.end(), members[c].begin(), members[c].begin() + quotas[c]);
    }
  } else {
    std::vector<int64_t> all(data.size);
    std::iota(all.begin(), all.end(), 0);
    SplitMix64 rng(MixSeed(seed, kUnstratifiedStream));
    Shuffle(absl::MakeSpan(all), rng);
    validation.assign(all.begin(), all.begin() + validation_size);
  }
  std::sort(validation.begin(), validation.end());

  DatasetSplit split;
  split.validation_indices = std::move(validation);
  split.train_indices.reserve(data.size - validation_size);
  for (int64_t i = 0, v = 0; i < data.size; ++i) {
    const int64_t next_validation = v < validation_size ? split.validation_indices[v] : -1;
    if (i == next_validation) {
      ++v;
    } else {
      split.train_indices.push_back(i);
    }
  }
  ASSIGN_OR_RETURN(split.train, SelectImages(data, split.train_indices));
  ASSIGN_OR_RETURN(split.validation, SelectImages(data, split.validation_indices));
  return split;
}

}  // namespace edgecompress::training
