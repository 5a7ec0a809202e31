#include "pruning/filter_pruning_callback.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pruning/thinning.h"
#include "tools/status/status_macros.h"
#include "tools/status/status_matchers.h"
#include "training/batch_source.h"
#include "training/models/lenet.h"
#include "training/trainer.h"

namespace edgecompress::pruning {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

absl::StatusOr<training::TrainResult> Train(training::LeNet5& model,
                                            training::TrainingCallback& callback, int epochs) {
  torch::manual_seed(3);
  const training::TensorDataset data = {torch::randn({128, 1, 28, 28}),
                                        torch::randint(0, 10, {128})};
  training::TrainerOptions options;
  options.epochs = epochs;
  options.lr_schedule.base_learning_rate = 0.05;
  options.optimizer.weight_decay = 1e-3;  // moves zeros too, unless masked
  options.ruined_chance_factor = 0.0;
  ASSIGN_OR_RETURN(std::unique_ptr<training::Trainer> trainer,
                   training::Trainer::Create(model, options));
  training::InMemoryBatchSource batches(data, 32, 1);
  training::ProgressBar quiet(stderr, false);
  training::TrainingCallback* callbacks[] = {&callback};
  return trainer->Fit(batches, nullptr, callbacks, nullptr, quiet);
}

TensorMap ModelTensors(training::LeNet5& model) {
  TensorMap tensors;
  for (const auto& item : model.named_parameters()) {
    const torch::Tensor t = item.value().detach().contiguous();
    tensors[item.key()] = {t.sizes().vec(),
                           std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())};
  }
  return tensors;
}

int64_t ZeroRows(const torch::Tensor& tensor) {
  return tensor.detach().view({tensor.size(0), -1}).abs().sum(1).eq(0).sum().item<int64_t>();
}

// Half of LeNet-5's filters at epoch 1 of 3, thinned: floor(0.5 * 6) = 3
// and floor(0.5 * 16) = 8 filters go, with their biases, and stay zero
// through SGD with momentum and weight decay; the trained tensors are then
// exactly what ZeroRemovedChannels would make them, which is the condition
// under which thinning changes no output (thinning_test).
TEST(FilterPruningCallbackTest, RemovesHalfTheFiltersAndHoldsThemAtZero) {
  at::set_num_threads(1);
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<std::unique_ptr<FilterPruningCallback>> callback = FilterPruningCallback::Create(
      model, model.Describe(), {{.convs = {"conv1", "conv2"}, .fraction = 0.5, .epoch = 1}});
  ASSERT_THAT(callback, IsOk());
  absl::StatusOr<training::TrainResult> result = Train(model, **callback, 3);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->history[0].at("filters_removed"), 0);
  EXPECT_EQ(result->history[1].at("filters_removed"), 3 + 8);
  EXPECT_EQ(result->history[2].at("filters_removed"), 3 + 8);

  const auto& kept = (*callback)->thinned_filters();
  ASSERT_THAT(kept.at("conv1"), SizeIs(3));
  ASSERT_THAT(kept.at("conv2"), SizeIs(8));
  const auto parameters = model.named_parameters();
  EXPECT_EQ(ZeroRows(parameters["conv1.weight"]), 3);
  EXPECT_EQ(ZeroRows(parameters["conv2.weight"]), 8);
  EXPECT_EQ(parameters["conv2.bias"].eq(0).sum().item<int64_t>(), 8);

  const training::LayerGraph graph = model.Describe();
  absl::StatusOr<ThinningPlan> plan = PlanThinning(graph, kept);
  ASSERT_THAT(plan, IsOk());
  const TensorMap trained = ModelTensors(model);
  TensorMap zeroed = trained;
  ASSERT_THAT(ZeroRemovedChannels(graph, *plan, zeroed), IsOk());
  for (const auto& [name, tensor] : trained) EXPECT_EQ(tensor.values, zeroed.at(name).values) << name;
}

// Without thinning only the weight rows are masked (Distiller's masking
// pruner): the biases of removed filters keep training.
TEST(FilterPruningCallbackTest, WithoutThinningMasksWeightRowsOnly) {
  torch::manual_seed(0);
  training::LeNet5 model;
  absl::StatusOr<std::unique_ptr<FilterPruningCallback>> callback = FilterPruningCallback::Create(
      model, model.Describe(),
      {{.convs = {"conv2"}, .fraction = 0.25, .epoch = 0, .thinning = false}});
  ASSERT_THAT(callback, IsOk());
  ASSERT_THAT(Train(model, **callback, 1), IsOk());
  EXPECT_EQ(ZeroRows(model.named_parameters()["conv2.weight"]), 4);
  EXPECT_EQ(model.named_parameters()["conv2.bias"].eq(0).sum().item<int64_t>(), 0);
  EXPECT_TRUE((*callback)->thinned_filters().empty());
}

TEST(FilterPruningCallbackTest, RejectsBadSteps) {
  training::LeNet5 model;
  const auto create = [&](std::vector<FilterPruningStep> steps) {
    return FilterPruningCallback::Create(model, model.Describe(), std::move(steps));
  };
  EXPECT_THAT(create({{.convs = {"conv9"}}}),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("conv9")));
  EXPECT_THAT(create({{.convs = {"fc1"}}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'fc1' is not")));
  EXPECT_THAT(create({{.convs = {"conv1"}, .fraction = 1.0}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(create({{.convs = {"conv1"}}, {.convs = {"conv1"}, .epoch = 2}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("two")));
  EXPECT_THAT(create({{.convs = {"conv1"}, .epoch = -1}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::pruning
