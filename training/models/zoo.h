// The model zoo by name, for tools that choose a model by flag.
//
//   name            model                                   native input  parameters*
//   "lenet5"        LeNet5 (lenet.h)                         1 x 28 x 28      61,706
//   "quantnet"      QuantNet (quantnet.h)                    3 x 32 x 32     546,042
//   "resnet20"      ResNet::CreateCifar, depth 20 (resnet.h) 3 x 32 x 32     272,474
//   "resnet20_exits"  the same with early exits after stages 1, 2 3 x 32 x 32  272,974
//   "resnet32"      ResNet::CreateCifar, depth 32            3 x 32 x 32     466,906
//   "resnet56"      ResNet::CreateCifar, depth 56            3 x 32 x 32     855,770
//   "resnet18"      ResNet::Create, depth 18                 3 x 32 x 32  11,173,962
//   "resnet50"      ResNet::Create, depth 50                 3 x 32 x 32  23,520,842
//   "mobilenet_v1"  MobileNetV1 (mobilenet_v1.h)             3 x 224 x 224 3,217,226
//   * at 10 classes and width 1. QuantNet at 1 or 2 classes has the thesis'
//     one-logit sigmoid head, 545,889 (Table 4.1).
//
// The native input is what Describe() records when the options leave the
// input unset. LeNet-5 takes only its native input (its fc1 is sized for
// 28x28); the others take any channel count and size (MobileNet-v1 runs on
// XNNPACK's sparse path only with 3 channels). Only "mobilenet_v1" has a
// width multiplier; a multiplier other than 1 for another model is an error
// rather than silently ignored.
#ifndef EDGECOMPRESS_TRAINING_MODELS_ZOO_H_
#define EDGECOMPRESS_TRAINING_MODELS_ZOO_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "training/models/classifier.h"

namespace edgecompress::training {

struct ModelOptions {
  int64_t num_classes = 10;
  // One sample's [C, H, W] = [input_channels, input_size, input_size]; unset:
  // the model's native input (table above).
  std::optional<int64_t> input_channels, input_size;
  double width_multiplier = 1.0;  // "mobilenet_v1" only; a fraction in (0, 4]
  // "resnet20", "resnet32", "resnet56" only: early exits after these stages
  // (ResNetOptions::exit_stages; "resnet20_exits" is resnet20 with {0, 1}).
  std::vector<int> exit_stages;
};

// The names CreateModel accepts, in the order of the table above.
std::vector<std::string> ModelNames();

// A freshly initialised model (LibTorch's global generator draws the weights:
// seed it with torch::manual_seed for reproducible weights). kNotFound for an
// unknown name, listing the valid ones; kInvalidArgument for options the
// model cannot take, naming the model and the option.
absl::StatusOr<std::shared_ptr<ImageClassifier>> CreateModel(absl::string_view name,
                                                             const ModelOptions& options);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_MODELS_ZOO_H_
