// A dataset restricted to some of its classes, relabelled in the order given:
// the thesis' binary tasks are CIFAR-10 subsets, Cat vs Dog = classes {3, 5}
// (cat becomes label 0, dog label 1) and Horse vs Frog = {7, 6}.
//
// Images keep their source order; the result has classes.size() classes.
// Cost: O(size) time plus a copy of the kept pixels.
#ifndef EDGECOMPRESS_TRAINING_DATA_CLASS_SUBSET_H_
#define EDGECOMPRESS_TRAINING_DATA_CLASS_SUBSET_H_

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

// kInvalidArgument for fewer than two classes, a class outside
// [0, num_classes) or a class given twice.
absl::StatusOr<ImageDataset> SelectClasses(const ImageDataset& dataset,
                                           absl::Span<const int> classes);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_CLASS_SUBSET_H_
