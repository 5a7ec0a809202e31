// MNIST and Fashion-MNIST: images and labels from a pair of IDX files.
//
// Both datasets use the same file names and layout: 28x28 grey images as
// `{train,t10k}-images-idx3-ubyte` and labels 0..9 as
// `{train,t10k}-labels-idx1-ubyte`, raw or with `.gz` appended. The loader
// checks that the pair agrees (same count, 3-D images, every label < 10), so
// mixing the train images with the test labels is an error, not a bad model.
#ifndef EDGECOMPRESS_TRAINING_DATA_MNIST_H_
#define EDGECOMPRESS_TRAINING_DATA_MNIST_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

// Where Debian's dataset-fashion-mnist package puts the files.
inline constexpr absl::string_view kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

enum class MnistSplit { kTrain, kTest };

// Loads the images and labels of `split` from `dir`, preferring the raw file
// and falling back to `.gz`. Errors name the file: kNotFound when neither
// exists, kDataLoss for a corrupt file, kInvalidArgument when the pair disagrees.
absl::StatusOr<ImageDataset> LoadMnist(absl::string_view dir, MnistSplit split);

// Loads a pair of IDX files with the same checks as LoadMnist.
absl::StatusOr<ImageDataset> LoadMnistFiles(absl::string_view images_path,
                                            absl::string_view labels_path);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_MNIST_H_
