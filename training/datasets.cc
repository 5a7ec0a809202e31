#include "training/datasets.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/status/status_macros.h"
#include "training/data/cifar.h"
#include "training/data/class_subset.h"
#include "training/data/mnist.h"
#include "training/data/synthetic.h"

namespace edgecompress::training {
namespace {

absl::Status NeedsDir(absl::string_view name, absl::string_view dir) {
  if (!dir.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("dataset '", name, "' has no default folder: pass --data_dir"));
}

absl::StatusOr<TrainTestSplits> LoadCifarSplits(absl::string_view dir, CifarVariant variant) {
  ASSIGN_OR_RETURN(ImageDataset train, LoadCifar(dir, variant, CifarSplit::kTrain));
  ASSIGN_OR_RETURN(ImageDataset test, LoadCifar(dir, variant, CifarSplit::kTest));
  return TrainTestSplits{std::move(train), std::move(test)};
}

constexpr absl::string_view kCifar10Classes[] = {"airplane", "automobile", "bird", "cat",
                                                 "deer",     "dog",        "frog", "horse",
                                                 "ship",     "truck"};

// "3,5" or, for CIFAR-10, "cat,dog".
absl::StatusOr<std::vector<int>> ParseClasses(absl::string_view dataset, absl::string_view list) {
  std::vector<int> classes;
  for (absl::string_view token : absl::StrSplit(list, ',')) {
    int number;
    if (absl::SimpleAtoi(token, &number)) {
      classes.push_back(number);
      continue;
    }
    const auto* name = std::find(std::begin(kCifar10Classes), std::end(kCifar10Classes), token);
    if (dataset != "cifar10" || name == std::end(kCifar10Classes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dataset '", dataset, "': class '", token, "' is not a number",
          dataset == "cifar10" ? absl::StrCat(" or one of ", absl::StrJoin(kCifar10Classes, ", "))
                               : ""));
    }
    classes.push_back(static_cast<int>(name - std::begin(kCifar10Classes)));
  }
  return classes;
}

absl::StatusOr<TrainTestSplits> LoadWholeDataset(absl::string_view name, absl::string_view dir) {
  if (name == "fashion_mnist" || name == "mnist") {
    if (name == "mnist") RETURN_IF_ERROR(NeedsDir(name, dir));
    const absl::string_view folder = dir.empty() ? kFashionMnistDir : dir;
    ASSIGN_OR_RETURN(ImageDataset train, LoadMnist(folder, MnistSplit::kTrain));
    ASSIGN_OR_RETURN(ImageDataset test, LoadMnist(folder, MnistSplit::kTest));
    return TrainTestSplits{std::move(train), std::move(test)};
  }
  if (name == "cifar10" || name == "cifar100") {
    RETURN_IF_ERROR(NeedsDir(name, dir));
    return LoadCifarSplits(dir, name == "cifar10" ? CifarVariant::kCifar10 : CifarVariant::kCifar100);
  }
  if (name == "synthetic") {
    ASSIGN_OR_RETURN(ImageDataset train, MakeSyntheticDataset({.size = 50000, .seed = 1}));
    ASSIGN_OR_RETURN(ImageDataset test, MakeSyntheticDataset({.size = 10000, .seed = 2}));
    return TrainTestSplits{std::move(train), std::move(test)};
  }
  return absl::NotFoundError(absl::StrCat("unknown dataset '", name, "' (expected one of ",
                                          absl::StrJoin(DatasetNames(), ", "), ")"));
}

}  // namespace

std::vector<std::string> DatasetNames() {
  return {"cifar10", "cifar100", "fashion_mnist", "mnist", "synthetic"};
}

absl::StatusOr<TrainTestSplits> LoadDataset(absl::string_view name, absl::string_view dir) {
  const std::pair<absl::string_view, absl::string_view> parts =
      absl::StrSplit(name, absl::MaxSplits(':', 1));
  ASSIGN_OR_RETURN(TrainTestSplits splits, LoadWholeDataset(parts.first, dir));
  if (name.find(':') == absl::string_view::npos) return splits;
  ASSIGN_OR_RETURN(const std::vector<int> classes, ParseClasses(parts.first, parts.second));
  for (ImageDataset* split : {&splits.train, &splits.test}) {
    absl::StatusOr<ImageDataset> subset = SelectClasses(*split, classes);
    if (!subset.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("dataset '", name, "': ", subset.status().message()));
    }
    *split = *std::move(subset);
  }
  return splits;
}

ChannelStatistics ComputeChannelStatistics(const ImageDataset& dataset) {
  ChannelStatistics stats;
  const int64_t plane = dataset.height * dataset.width;
  for (int64_t c = 0; c < dataset.channels; ++c) {
    double sum = 0, sum_squares = 0;
    for (int64_t i = 0; i < dataset.size; ++i) {
      const uint8_t* pixels = dataset.pixels.data() + (i * dataset.channels + c) * plane;
      for (int64_t p = 0; p < plane; ++p) {
        sum += pixels[p];
        sum_squares += static_cast<double>(pixels[p]) * pixels[p];
      }
    }
    const double count = static_cast<double>(dataset.size * plane);
    const double mean = count > 0 ? sum / count : 0.0;
    const double variance = count > 0 ? sum_squares / count - mean * mean : 0.0;
    stats.mean.push_back(static_cast<float>(mean / 255.0));
    stats.stddev.push_back(static_cast<float>(std::sqrt(std::max(variance, 1e-12)) / 255.0));
  }
  return stats;
}

}  // namespace edgecompress::training
