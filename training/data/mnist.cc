#include "training/data/mnist.h"

#include <sys/stat.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/status/status_macros.h"
#include "training/data/idx.h"

namespace edgecompress::training {
namespace {

constexpr int kMnistClasses = 10;

bool FileExists(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// `<dir>/<name>` if it exists, else `<dir>/<name>.gz` (whose absence the
// reader then reports).
std::string FindFile(absl::string_view dir, absl::string_view name) {
  const std::string raw = absl::StrCat(dir, "/", name);
  return FileExists(raw) ? raw : raw + ".gz";
}

}  // namespace

absl::StatusOr<ImageDataset> LoadMnistFiles(absl::string_view images_path,
                                            absl::string_view labels_path) {
  ASSIGN_OR_RETURN(IdxArray images, ReadIdxFile(images_path));
  ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path));
  if (images.dims.size() != 3) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: images must have 3 dimensions (count, rows, columns), found %d", images_path,
        images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: labels must have 1 dimension, found %d", labels_path, labels.dims.size()));
  }
  if (images.dims[0] != labels.dims[0]) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s has %d images but %s has %d labels", images_path, images.dims[0],
                        labels_path, labels.dims[0]));
  }
  for (size_t i = 0; i < labels.data.size(); ++i) {
    if (labels.data[i] >= kMnistClasses) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: label %d at index %d is not a class 0..9", labels_path, labels.data[i], i));
    }
  }
  ImageDataset dataset;
  dataset.size = images.dims[0];
  dataset.channels = 1;
  dataset.height = images.dims[1];
  dataset.width = images.dims[2];
  dataset.num_classes = kMnistClasses;
  dataset.pixels = std::move(images.data);
  dataset.labels = std::move(labels.data);
  return dataset;
}

absl::StatusOr<ImageDataset> LoadMnist(absl::string_view dir, MnistSplit split) {
  const absl::string_view prefix = split == MnistSplit::kTrain ? "train" : "t10k";
  return LoadMnistFiles(FindFile(dir, absl::StrCat(prefix, "-images-idx3-ubyte")),
                        FindFile(dir, absl::StrCat(prefix, "-labels-idx1-ubyte")));
}

}  // namespace edgecompress::training
