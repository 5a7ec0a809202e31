// Train/validation split of an ImageDataset by seed, stratified by default.
//
// Algorithm:
//   1. The validation set gets n_val = floor(fraction * size) images (with a
//      1e-9 tolerance, so that 0.29 * 100 gives 29 and not 28).
//   2. Stratified (the default): class c, of n_c images, gets a quota of
//      floor(n_val * n_c / size) computed in integers; the images left over
//      (fewer than the number of classes) go one each to the classes with the
//      largest remainder (n_val * n_c) mod size, ties to the lower class index
//      (Hamilton's largest-remainder apportionment). Each class then shuffles
//      its indices with SplitMix64(MixSeed(seed, c)) and sends the first quota
//      to validation, so a class's choice does not depend on the others.
//      Unstratified: one shuffle of all indices with
//      SplitMix64(MixSeed(seed, 256)), the first n_val to validation.
//   3. Both parts keep the source order (indices ascending); shuffling per
//      epoch is the batch loader's job.
//
// Guarantees: the parts are disjoint and cover the source; validation has
// exactly n_val images; stratified, every class's validation count is within
// one image of n_val * n_c / size, so the class balance of both parts matches
// the source's; the same (data, fraction, seed, stratified) gives the same
// split on every platform (portable_random.h). Not guaranteed: that
// validation keeps every class when a class has fewer than 1 / fraction images.
// Cost: O(size) time plus one copy of the pixels.
#ifndef EDGECOMPRESS_TRAINING_DATA_SPLIT_H_
#define EDGECOMPRESS_TRAINING_DATA_SPLIT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

struct DatasetSplit {
  ImageDataset train, validation;
  // Where each image came from in the source, ascending.
  std::vector<int64_t> train_indices, validation_indices;
};

// Errors: kInvalidArgument when validation_fraction is not in [0, 1) (NaN
// included) or `data` breaks an ImageDataset invariant (ValidateImageDataset).
absl::StatusOr<DatasetSplit> SplitDataset(const ImageDataset& data, double validation_fraction,
                                          uint64_t seed, bool stratified = true);

// A new dataset of the images `indices` (any order, repeats allowed) of
// `data`, with its shape and num_classes. kOutOfRange naming the first index
// outside [0, data.size).
absl::StatusOr<ImageDataset> SelectImages(const ImageDataset& data,
                                          absl::Span<const int64_t> indices);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_SPLIT_H_
