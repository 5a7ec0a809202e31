// Datasets by name, as tools choose them with --dataset:
//
//   fashion_mnist  IDX files; default folder: Debian's dataset-fashion-mnist
//   mnist          IDX files (same layout); --data_dir required
//   cifar10        CIFAR-10 binary batches; --data_dir required
//   cifar100       CIFAR-100 binary (fine labels); --data_dir required
//   synthetic      a seeded, learnable 3x32x32 10-class set made in memory
//                  (50,000 train / 10,000 test), for tests and dry runs
//
// A name may end in ":" and a class list, which keeps only those classes,
// relabelled 0, 1, ... in the order given (data/class_subset.h): the
// thesis' Cat vs Dog is "cifar10:cat,dog" (or "cifar10:3,5"), Horse vs Frog
// "cifar10:horse,frog". Classes are numbers, or CIFAR-10's names (airplane,
// automobile, bird, cat, deer, dog, frog, horse, ship, truck).
//
// Normalisation statistics are computed from the training split itself
// (per channel, of pixel / 255), which is how the published constants
// (e.g. CIFAR-10's 0.4914, 0.4822, 0.4465) were derived; it works for any
// folder of files in these formats. Framework-free.
#ifndef EDGECOMPRESS_TRAINING_DATASETS_H_
#define EDGECOMPRESS_TRAINING_DATASETS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

std::vector<std::string> DatasetNames();

struct TrainTestSplits {
  ImageDataset train, test;
};

// Loads both splits of `name` (with an optional class list, above) from `dir`
// (empty: the dataset's default, when it has one). kNotFound for an unknown
// name (listing the valid ones) or a missing folder; kInvalidArgument for a
// bad class list; the loaders' errors name the file.
absl::StatusOr<TrainTestSplits> LoadDataset(absl::string_view name, absl::string_view dir);

struct ChannelStatistics {
  std::vector<float> mean, stddev;  // per channel, of pixel / 255
};

// Mean and (population) standard deviation per channel over all images.
ChannelStatistics ComputeChannelStatistics(const ImageDataset& dataset);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATASETS_H_
