// CIFAR-10 and CIFAR-100 from the "binary version" files of
// https://www.cs.toronto.edu/~kriz/cifar.html (Krizhevsky 2009, "Learning
// Multiple Layers of Features from Tiny Images").
//
// Format: a file is a sequence of fixed-size records, nothing else (no header,
// no delimiter). A record is the label byte(s) then 3072 pixel bytes: 1024 red,
// 1024 green, 1024 blue, each a row-major 32x32 plane, which is exactly one
// CHW image of an ImageDataset.
//   CIFAR-10   3073-byte records: <label 0..9>
//              cifar-10-batches-bin/data_batch_{1..5}.bin (train, 5 x 10,000)
//              cifar-10-batches-bin/test_batch.bin        (test, 10,000)
//   CIFAR-100  3074-byte records: <coarse label 0..19><fine label 0..99>
//              cifar-100-binary/train.bin (50,000), test.bin (10,000)
// CIFAR-100 keeps the fine label (100 classes) unless the coarse superclass
// (20 classes) is asked for.
//
// Validation, before trusting any byte: a missing file is kNotFound naming it;
// a file whose size is not a positive multiple of the record size (truncated
// download, wrong variant, the .tar.gz itself) is kDataLoss naming the file
// and both sizes; a label out of range is kDataLoss naming the file and the
// record's index within it (CIFAR-100 checks both labels, whichever is kept:
// a bad byte in either means the file is not what it claims). The training files are read in the
// order above, so record i of data_batch_2.bin is image 10,000 + i, matching torchvision's CIFAR10.
//
// Cost: one pass over the files with no copy beyond the result (180 MB for
// CIFAR-10 train); all file sizes are checked before anything is allocated.
#ifndef EDGECOMPRESS_TRAINING_DATA_CIFAR_H_
#define EDGECOMPRESS_TRAINING_DATA_CIFAR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "training/data/image_dataset.h"

namespace edgecompress::training {

enum class CifarVariant {
  kCifar10,         // 10 classes
  kCifar100,        // fine labels, 100 classes
  kCifar100Coarse,  // the same files' coarse labels, 20 superclasses
};

enum class CifarSplit { kTrain, kTest };

inline constexpr int64_t kCifarImageBytes = 3 * 32 * 32;

// 3073 for CIFAR-10, 3074 for both CIFAR-100 variants.
int64_t CifarRecordBytes(CifarVariant variant);
// 10, 100 or 20.
int CifarNumClasses(CifarVariant variant);
// "cifar-10-batches-bin" or "cifar-100-binary".
absl::string_view CifarSubdirectory(CifarVariant variant);
// The split's file names in reading order, e.g. {"test_batch.bin"}.
std::vector<std::string> CifarFileNames(CifarVariant variant, CifarSplit split);

// Loads `split` from `dir`, which is either the extracted folder itself or
// its parent: when `dir/<CifarSubdirectory(variant)>` is a directory the files
// are read from there, else from `dir`.
absl::StatusOr<ImageDataset> LoadCifar(absl::string_view dir, CifarVariant variant,
                                       CifarSplit split);

// Reads and concatenates the records of `paths`, in order, with the checks
// above. An empty `paths` is kInvalidArgument.
absl::StatusOr<ImageDataset> LoadCifarFiles(absl::Span<const std::string> paths,
                                            CifarVariant variant);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_CIFAR_H_
