#include "training/models/zoo.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "training/models/lenet.h"
#include "training/models/mobilenet_v1.h"
#include "training/models/quantnet.h"
#include "training/models/resnet.h"

namespace edgecompress::training {
namespace {

struct Entry {
  absl::string_view name;
  int64_t native_channels, native_size;
  // Called with the input resolved and the common checks done.
  absl::StatusOr<std::shared_ptr<ImageClassifier>> (*create)(int64_t num_classes,
                                                             int64_t channels, int64_t size,
                                                             const ModelOptions& options);
};

template <typename Model>
absl::StatusOr<std::shared_ptr<ImageClassifier>> Upcast(
    absl::StatusOr<std::shared_ptr<Model>> model) {
  if (!model.ok()) return model.status();
  return std::shared_ptr<ImageClassifier>(*std::move(model));
}

template <int kDepth>
absl::StatusOr<std::shared_ptr<ImageClassifier>> CifarResNet(int64_t num_classes,
                                                             int64_t channels, int64_t size,
                                                             const ModelOptions& options) {
  return Upcast(ResNet::CreateCifar({.depth = kDepth, .num_classes = num_classes,
                                     .input_channels = channels, .input_size = size,
                                     .exit_stages = options.exit_stages}));
}

template <int kDepth>
absl::StatusOr<std::shared_ptr<ImageClassifier>> CifarStemResNet(int64_t num_classes,
                                                                 int64_t channels, int64_t size,
                                                                 const ModelOptions&) {
  return Upcast(ResNet::Create({.depth = kDepth, .num_classes = num_classes,
                                .input_channels = channels, .input_size = size}));
}

constexpr Entry kZoo[] = {
    {"lenet5", 1, 28,
     [](int64_t num_classes, int64_t channels, int64_t size,
        const ModelOptions&) -> absl::StatusOr<std::shared_ptr<ImageClassifier>> {
       if (channels != 1 || size != 28) {
         return absl::InvalidArgumentError(absl::StrFormat(
             "lenet5 takes 1 x 28 x 28 images only, got %d x %d x %d", channels, size, size));
       }
       return std::shared_ptr<ImageClassifier>(std::make_shared<LeNet5>(num_classes));
     }},
    {"quantnet", 3, 32,
     [](int64_t num_classes, int64_t channels, int64_t size, const ModelOptions&) {
       // Two classes get the thesis' sigmoid head: one logit.
       return Upcast(QuantNet::Create({.num_classes = num_classes == 2 ? 1 : num_classes,
                                       .input_channels = channels, .input_size = size}));
     }},
    {"resnet20", 3, 32, CifarResNet<20>},
    {"resnet20_exits", 3, 32,
     [](int64_t num_classes, int64_t channels, int64_t size, const ModelOptions&) {
       return Upcast(ResNet::CreateCifar({.depth = 20, .num_classes = num_classes,
                                          .input_channels = channels, .input_size = size,
                                          .exit_stages = {0, 1}}));
     }},
    {"resnet32", 3, 32, CifarResNet<32>},
    {"resnet56", 3, 32, CifarResNet<56>},
    {"resnet18", 3, 32, CifarStemResNet<18>},
    {"resnet50", 3, 32, CifarStemResNet<50>},
    {"mobilenet_v1", 3, 224,
     [](int64_t num_classes, int64_t channels, int64_t size, const ModelOptions& options) {
       return Upcast(MobileNetV1::Create({.num_classes = num_classes,
                                          .input_channels = channels,
                                          .input_size = size,
                                          .width_multiplier = options.width_multiplier}));
     }},
};

}  // namespace

std::vector<std::string> ModelNames() {
  std::vector<std::string> names;
  for (const Entry& entry : kZoo) names.emplace_back(entry.name);
  return names;
}

absl::StatusOr<std::shared_ptr<ImageClassifier>> CreateModel(absl::string_view name,
                                                             const ModelOptions& options) {
  for (const Entry& entry : kZoo) {
    if (entry.name != name) continue;
    const int64_t channels = options.input_channels.value_or(entry.native_channels);
    const int64_t size = options.input_size.value_or(entry.native_size);
    if (options.num_classes < 1 || channels < 1 || size < 1) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s needs num_classes, input_channels and input_size >= 1, got %d, %d, %d", name,
          options.num_classes, channels, size));
    }
    if (options.width_multiplier != 1.0 && name != "mobilenet_v1") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s has no width multiplier (only mobilenet_v1 has), got %g", name,
          options.width_multiplier));
    }
    if (!options.exit_stages.empty() && name != "resnet20" && name != "resnet32" &&
        name != "resnet56") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s takes no exit stages (the CIFAR ResNets resnet20, resnet32 and resnet56 do)", name));
    }
    return entry.create(options.num_classes, channels, size, options);
  }
  return absl::NotFoundError(absl::StrCat("no model named '", name, "'; the zoo has ",
                                          absl::StrJoin(ModelNames(), ", ")));
}

}  // namespace edgecompress::training
