#include "training/data/cifar.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {
namespace {

constexpr int kCoarseClasses = 20, kFineClasses = 100;

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

absl::string_view VariantName(CifarVariant variant) {
  switch (variant) {
    case CifarVariant::kCifar10:
      return "CIFAR-10";
    case CifarVariant::kCifar100:
      return "CIFAR-100";
    case CifarVariant::kCifar100Coarse:
      return "CIFAR-100 (coarse labels)";
  }
  return "CIFAR";
}

bool IsDirectory(const std::string& path) {
  struct stat info;
  return stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// The size of the regular file at `path`, or kNotFound naming it.
absl::StatusOr<int64_t> RegularFileSize(const std::string& path) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  if (!S_ISREG(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat(path, ": not a regular file"));
  }
  return static_cast<int64_t>(info.st_size);
}

}  // namespace

int64_t CifarRecordBytes(CifarVariant variant) {
  return (variant == CifarVariant::kCifar10 ? 1 : 2) + kCifarImageBytes;
}

int CifarNumClasses(CifarVariant variant) {
  switch (variant) {
    case CifarVariant::kCifar10:
      return 10;
    case CifarVariant::kCifar100:
      return 100;
    case CifarVariant::kCifar100Coarse:
      return 20;
  }
  return 0;
}

absl::string_view CifarSubdirectory(CifarVariant variant) {
  return variant == CifarVariant::kCifar10 ? "cifar-10-batches-bin" : "cifar-100-binary";
}

std::vector<std::string> CifarFileNames(CifarVariant variant, CifarSplit split) {
  if (variant != CifarVariant::kCifar10) {
    return {split == CifarSplit::kTrain ? "train.bin" : "test.bin"};
  }
  if (split == CifarSplit::kTest) return {"test_batch.bin"};
  std::vector<std::string> names;
  for (int i = 1; i <= 5; ++i) names.push_back(absl::StrCat("data_batch_", i, ".bin"));
  return names;
}

absl::StatusOr<ImageDataset> LoadCifar(absl::string_view dir, CifarVariant variant,
                                       CifarSplit split) {
  const std::string nested = absl::StrCat(dir, "/", CifarSubdirectory(variant));
  const std::string root = IsDirectory(nested) ? nested : std::string(dir);
  std::vector<std::string> paths;
  for (const std::string& name : CifarFileNames(variant, split)) {
    paths.push_back(absl::StrCat(root, "/", name));
  }
  absl::StatusOr<ImageDataset> dataset = LoadCifarFiles(paths, variant);
  if (dataset.status().code() == absl::StatusCode::kNotFound && root != nested) {
    // Say where else we looked: the usual mistake is one directory too high or low.
    return absl::NotFoundError(
        absl::StrCat(dataset.status().message(), " (and there is no directory ", nested, ")"));
  }
  return dataset;
}

absl::StatusOr<ImageDataset> LoadCifarFiles(absl::Span<const std::string> paths,
                                            CifarVariant variant) {
  if (paths.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("LoadCifarFiles: no files given for ", VariantName(variant)));
  }
  const int64_t record_bytes = CifarRecordBytes(variant);
  // The fine label is the second byte of a CIFAR-100 record, the coarse one the first.
  const int label_offset = variant == CifarVariant::kCifar100 ? 1 : 0;

  // Every size first: a truncated last file fails before 150 MB are read.
  std::vector<int64_t> records(paths.size());
  int64_t total = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    absl::StatusOr<int64_t> bytes = RegularFileSize(paths[f]);
    if (!bytes.ok()) return bytes.status();
    if (*bytes == 0 || *bytes % record_bytes != 0) {
      return absl::DataLossError(
          absl::StrFormat("%s: %d bytes is not a positive multiple of the %d-byte %s record "
                          "(%d whole records + %d bytes); truncated, or another variant?",
                          paths[f], *bytes, record_bytes, VariantName(variant),
                          *bytes / record_bytes, *bytes % record_bytes));
    }
    records[f] = *bytes / record_bytes;
    total += records[f];
  }

  ImageDataset dataset;
  dataset.size = total;
  dataset.channels = 3;
  dataset.height = 32;
  dataset.width = 32;
  dataset.num_classes = CifarNumClasses(variant);
  dataset.pixels.resize(total * kCifarImageBytes);
  dataset.labels.resize(total);

  std::vector<uint8_t> record(record_bytes);
  int64_t image = 0;
  for (size_t f = 0; f < paths.size(); ++f) {
    File file(std::fopen(paths[f].c_str(), "rb"));
    if (file == nullptr) {
      return absl::NotFoundError(absl::StrCat(paths[f], ": cannot open: ", std::strerror(errno)));
    }
    for (int64_t r = 0; r < records[f]; ++r, ++image) {
      if (std::fread(record.data(), 1, record.size(), file.get()) != record.size()) {
        // The size was checked, so this is an I/O error or a file shrinking under us.
        return absl::DataLossError(
            absl::StrFormat("%s: read failed at record %d: %s", paths[f], r, std::strerror(errno)));
      }
      // Both CIFAR-100 labels are checked whichever is kept: a bad byte in
      // either means the file is not what it claims to be.
      if (variant != CifarVariant::kCifar10 && record[0] >= kCoarseClasses) {
        return absl::DataLossError(
            absl::StrFormat("%s: record %d has coarse label %d, but CIFAR-100 has %d superclasses",
                            paths[f], r, record[0], kCoarseClasses));
      }
      const int fine = variant == CifarVariant::kCifar10 ? 0 : 1;
      if (record[fine] >= (fine == 0 ? 10 : kFineClasses)) {
        return absl::DataLossError(absl::StrFormat(
            "%s: record %d has label %d, but %s has %d classes", paths[f], r, record[fine],
            fine == 0 ? "CIFAR-10" : "CIFAR-100", fine == 0 ? 10 : kFineClasses));
      }
      dataset.labels[image] = record[label_offset];
      std::memcpy(&dataset.pixels[image * kCifarImageBytes],
                  record.data() + record_bytes - kCifarImageBytes, kCifarImageBytes);
    }
  }
  return dataset;
}

}  // namespace edgecompress::training
