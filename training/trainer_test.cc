#include "training/trainer.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_macros.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet.h"

namespace edgecompress::training {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A learnable toy task: class c images are bright in row band c (of 4)
// plus noise; with `random_labels` the labels carry no signal at all.
TensorDataset BandImages(int64_t size, uint64_t seed, bool random_labels = false) {
  ImageDataset data{.size = size, .channels = 1, .height = 28, .width = 28, .num_classes = 4};
  data.pixels.resize(size * 28 * 28);
  data.labels.resize(size);
  uint64_t state = seed;
  const auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  for (int64_t i = 0; i < size; ++i) {
    const int label = static_cast<int>(next() % 4);
    data.labels[i] = static_cast<uint8_t>(random_labels ? next() % 4 : label);
    for (int y = 0; y < 28; ++y) {
      for (int x = 0; x < 28; ++x) {
        const bool bright = y / 7 == label;
        data.pixels[(i * 28 + y) * 28 + x] = static_cast<uint8_t>((bright ? 160 : 0) + next() % 64);
      }
    }
  }
  return ToTensorDataset(data, 0.3f, 0.3f);
}

TrainerOptions Options(int epochs, double learning_rate = 0.02) {
  TrainerOptions options;
  options.epochs = epochs;
  options.num_classes = 4;
  options.lr_schedule.base_learning_rate = learning_rate;
  return options;
}

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);  // bit-exact comparisons below
    torch::manual_seed(1);
  }
  ProgressBar progress_{stderr, /*interactive=*/false};
};

absl::StatusOr<TrainResult> Train(ImageClassifier& model, const TrainerOptions& options,
                                  const TensorDataset& train, const TensorDataset* validation,
                                  std::vector<TrainingCallback*> callbacks = {},
                                  MetricsSink* sink = nullptr, uint64_t seed = 3) {
  ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, Trainer::Create(model, options));
  InMemoryBatchSource source(train, /*batch_size=*/32, seed);
  ProgressBar progress(stderr, false);
  return trainer->Fit(source, validation, callbacks, sink, progress);
}

TEST_F(TrainerTest, LearnsASeparableTaskAndLogsEveryEpoch) {
  LeNet5 model(4);
  const TensorDataset train = BandImages(512, 7), test = BandImages(256, 8);
  RecordingMetricsSink sink;
  absl::StatusOr<TrainResult> result = Train(model, Options(2), train, &test, {}, &sink);
  ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(result->ruined) << result->ruined_reason;
  ASSERT_EQ(result->history.size(), 2u);
  EXPECT_LT(result->history[1].at("train_loss"), result->history[0].at("train_loss"));
  EXPECT_GT(result->history[1].at("val_top1"), 95.0);
  EXPECT_EQ(result->history[1].at("val_top5"), 100.0);  // 4 classes: top-5 covers all
  ASSERT_EQ(sink.history().size(), 2u);
  EXPECT_EQ(sink.history()[1].first, 2);
  const EvalStats eval = Evaluate(model, test, 100, /*channels_last=*/false);
  EXPECT_EQ(eval.count, 256);
  EXPECT_NEAR(eval.top1, result->history[1].at("val_top1"), 100.0 / 256);
  // Fit evaluated on channels-last batches (TrainerOptions' default): the
  // same up to float rounding.
  const EvalStats channels_last = Evaluate(model, test, 100, /*channels_last=*/true);
  EXPECT_DOUBLE_EQ(channels_last.top1, result->history[1].at("val_top1"));
  EXPECT_NEAR(channels_last.loss, eval.loss, 1e-5);
}

// The thesis' sigmoid head: one logit, binary cross-entropy, "z > 0" is
// class 1. Here class = band parity.
TEST_F(TrainerTest, OneLogitHeadTrainsOnBinaryCrossEntropy) {
  LeNet5 model(1);
  TensorDataset train = BandImages(512, 7), test = BandImages(256, 8);
  for (TensorDataset* data : {&train, &test}) data->labels = data->labels.remainder(2);
  TrainerOptions options = Options(2);
  options.num_classes = 2;
  absl::StatusOr<TrainResult> result = Train(model, options, train, &test);
  ASSERT_THAT(result, IsOk());
  EXPECT_FALSE(result->ruined) << result->ruined_reason;
  EXPECT_GT(result->history[1].at("val_top1"), 95.0);

  const EvalStats eval = Evaluate(model, test, 100);
  torch::NoGradGuard no_grad;
  model.eval();
  const torch::Tensor z = model.forward(test.images).squeeze(1);
  const torch::Tensor labels = test.labels.to(torch::kFloat);
  EXPECT_NEAR(eval.loss,
              torch::nn::functional::binary_cross_entropy_with_logits(z, labels).item<double>(),
              1e-5);
  EXPECT_DOUBLE_EQ(eval.top1, 100.0 * z.gt(0).eq(test.labels).sum().item<double>() / 256);
  EXPECT_EQ(eval.top5, 100.0);
}

// An early-exit toy: a side and a final linear classifier on the same image.
class TwoExitNet : public ImageClassifier {
 public:
  TwoExitNet() {
    side_ = register_module("side", torch::nn::Linear(28 * 28, 4));
    final_ = register_module("final", torch::nn::Linear(28 * 28, 4));
  }
  torch::Tensor forward(torch::Tensor images) override {
    return final_->forward(images.flatten(1));
  }
  int num_exits() const override { return 2; }
  std::vector<torch::Tensor> ForwardExits(torch::Tensor images) override {
    const torch::Tensor x = images.flatten(1);
    return {side_->forward(x), final_->forward(x)};
  }
  LayerGraph Describe() const override {
    LayerGraph graph({1, 28, 28});
    const std::string x = graph.Flatten(LayerGraph::kInput);
    const std::string side = graph.Linear("side", x, {.in_features = 784, .out_features = 4});
    graph.SetOutput(graph.Linear("final", x, {.in_features = 784, .out_features = 4}));
    graph.AddSideOutput(side);
    return graph;
  }
  torch::nn::Linear side_{nullptr}, final_{nullptr};
};

// BranchyNet's joint loss: every exit learns; a zero weight leaves an exit
// untouched (no weight decay, so nothing else moves it).
TEST_F(TrainerTest, EarlyExitsTrainOnTheWeightedSumOfTheirLosses) {
  const TensorDataset train = BandImages(256, 11), test = BandImages(256, 12);
  TwoExitNet joint;
  ASSERT_THAT(Train(joint, Options(2), train, nullptr), IsOk());
  {
    torch::NoGradGuard no_grad;
    joint.eval();
    for (const torch::Tensor& logits : joint.ForwardExits(test.images)) {
      const double top1 = logits.argmax(1).eq(test.labels).to(torch::kFloat).mean().item<double>();
      EXPECT_GT(top1, 0.9);
    }
  }

  TwoExitNet final_only;
  const torch::Tensor side_before = final_only.side_->weight.clone();
  TrainerOptions options = Options(1);
  options.exit_loss_weights = {0.0, 1.0};
  ASSERT_THAT(Train(final_only, options, train, nullptr), IsOk());
  EXPECT_TRUE(torch::equal(final_only.side_->weight, side_before));

  options.exit_loss_weights = {1.0};
  EXPECT_THAT(Trainer::Create(final_only, options).status().message(),
              HasSubstr("1 exit loss weights for a model with 2 exits"));
  options.exit_loss_weights = {1.0, -1.0};
  EXPECT_THAT(Trainer::Create(final_only, options).status().message(), HasSubstr("not >= 0"));
}

TEST_F(TrainerTest, ChannelsLastTrainsLikeNchw) {
  const TensorDataset train = BandImages(256, 21);
  LeNet5 nchw(4), nhwc(4);
  {
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < nchw.parameters().size(); ++i) {
      nhwc.parameters()[i].copy_(nchw.parameters()[i]);
    }
  }
  TrainerOptions options = Options(2);
  options.channels_last = false;
  ASSERT_THAT(Train(nchw, options, train, nullptr), IsOk());
  ASSERT_THAT(Train(nhwc, Options(2), train, nullptr), IsOk());  // channels-last by default
  // Same steps, different summation orders: equal up to float rounding.
  for (size_t i = 0; i < nchw.parameters().size(); ++i) {
    EXPECT_TRUE(torch::allclose(nhwc.parameters()[i], nchw.parameters()[i], 1e-4, 1e-5)) << i;
    EXPECT_TRUE(nhwc.parameters()[i].is_contiguous()) << "parameters stay NCHW";
  }
}

// The exactness test: 2 epochs straight == 1 epoch, stop, resume 1.
TEST_F(TrainerTest, ResumeFromACheckpointIsExact) {
  const TensorDataset train = BandImages(256, 5);
  const std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/run.ckpt");
  TrainerOptions options = Options(2);
  options.lr_schedule.kind = LrScheduleKind::kCosine;
  options.lr_schedule.total_epochs = 2;
  // Without validation data the guard would judge epoch 1 by its running
  // training accuracy, which starts at chance; keep both runs going.
  options.ruined_chance_factor = 0.0;

  torch::manual_seed(11);
  LeNet5 straight(4);
  absl::StatusOr<TrainResult> straight_result = Train(straight, options, train, nullptr);
  ASSERT_THAT(straight_result, IsOk());
  ASSERT_EQ(straight_result->history.size(), 2u);

  torch::manual_seed(11);
  LeNet5 first_half(4);
  TrainerOptions stop_after_one = options;
  stop_after_one.checkpoint_path = path;
  {
    // Train only epoch 0 by resuming a one-epoch run's options into a 2-epoch trainer.
    TrainerOptions one_epoch = stop_after_one;
    one_epoch.epochs = 1;
    absl::StatusOr<std::unique_ptr<Trainer>> short_trainer = Trainer::Create(first_half, one_epoch);
    ASSERT_THAT(short_trainer, IsOk());
    InMemoryBatchSource source(train, 32, 3);
    ASSERT_THAT((*short_trainer)->Fit(source, nullptr, {}, nullptr, progress_), IsOk());
  }
  torch::manual_seed(999);  // the checkpoint must restore the generator
  LeNet5 resumed(4);
  absl::StatusOr<std::unique_ptr<Trainer>> resumed_trainer = Trainer::Create(resumed, options);
  ASSERT_THAT(resumed_trainer, IsOk());
  ASSERT_THAT((*resumed_trainer)->Resume(path), IsOk());
  EXPECT_EQ((*resumed_trainer)->completed_epochs(), 1);
  InMemoryBatchSource source(train, 32, 3);
  absl::StatusOr<TrainResult> result =
      (*resumed_trainer)->Fit(source, nullptr, {}, nullptr, progress_);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->history.size(), 2u);  // the restored row and the new one

  const auto expected = straight.named_parameters();
  for (const auto& parameter : resumed.named_parameters()) {
    EXPECT_TRUE(torch::equal(parameter.value(), expected[parameter.key()])) << parameter.key();
  }
}

// Records the hook order and keeps one weight at zero, as a pruning mask does.
class ZeroOneWeight : public TrainingCallback {
 public:
  explicit ZeroOneWeight(torch::Tensor weight) : weight_(std::move(weight)) {}
  absl::Status OnEpochBegin(int epoch, int64_t) override { return Record("begin"); }
  absl::Status OnAfterBackward(const StepInfo& step) override {
    if (!weight_.grad().defined()) return absl::InternalError("no gradient after backward");
    return step.step == 0 ? Record("backward") : absl::OkStatus();
  }
  absl::Status OnStepEnd(const StepInfo& step) override {
    torch::NoGradGuard no_grad;
    weight_.view(-1)[0].zero_();
    return step.step == 0 ? Record("step") : absl::OkStatus();
  }
  absl::Status OnEpochEnd(int epoch, MetricValues& metrics) override {
    metrics["zeroed"] = 1;
    return Record("end");
  }
  std::vector<std::string> events;

 private:
  absl::Status Record(std::string event) {
    events.push_back(std::move(event));
    return absl::OkStatus();
  }
  torch::Tensor weight_;
};

TEST_F(TrainerTest, CallbacksRunInOrderAndTheirEffectsHold) {
  LeNet5 model(4);
  ZeroOneWeight callback(model.named_parameters()["conv1.weight"]);
  absl::StatusOr<TrainResult> result = Train(model, Options(1), BandImages(128, 2), nullptr, {&callback});
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(callback.events, ElementsAre("begin", "backward", "step", "end"));
  EXPECT_EQ(model.named_parameters()["conv1.weight"].view(-1)[0].item<float>(), 0.0f);
  EXPECT_EQ(result->history[0].at("zeroed"), 1);
}

TEST_F(TrainerTest, FlagsANonFiniteLossAsRuined) {
  LeNet5 model(4);
  TensorDataset train = BandImages(64, 1);
  train.images[0][0][0][0] = std::nanf("");
  absl::StatusOr<TrainResult> result = Train(model, Options(3), train, nullptr);
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->ruined);
  EXPECT_THAT(result->ruined_reason, HasSubstr("loss is nan at epoch 1"));
  EXPECT_TRUE(result->history.empty());
}

// Random labels: validation top-1 stays near chance (25%), below 1.5 x chance.
TEST_F(TrainerTest, FlagsATopOneAtChanceAsRuinedAndStops) {
  LeNet5 model(4);
  const TensorDataset train = BandImages(256, 4, /*random_labels=*/true);
  const TensorDataset validation = BandImages(512, 9, /*random_labels=*/true);
  absl::StatusOr<TrainResult> result = Train(model, Options(5), train, &validation);
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->ruined);
  EXPECT_THAT(result->ruined_reason, HasSubstr("below 1.5 x chance (25.00%)"));
  EXPECT_EQ(result->history.size(), 1u);  // stopped instead of wasting 4 epochs
}

TEST_F(TrainerTest, EarlyStoppingOnAPlateau) {
  LeNet5 model(4);
  TrainerOptions options = Options(6, /*learning_rate=*/1e-9);  // nothing changes
  options.early_stopping_patience = 2;
  options.ruined_chance_factor = 0.0;
  const TensorDataset train = BandImages(64, 3);
  absl::StatusOr<TrainResult> result = Train(model, options, train, &train);
  ASSERT_THAT(result, IsOk());
  EXPECT_TRUE(result->stopped_early);
  EXPECT_EQ(result->history.size(), 3u);  // best at 1, no gain at 2 and 3
}

// Adam with label smoothing and clipping learns; distillation from that
// model as a teacher trains a student too.
TEST_F(TrainerTest, AdamLabelSmoothingClippingAndDistillation) {
  const TensorDataset train = BandImages(512, 7), test = BandImages(256, 8);
  LeNet5 teacher(4);
  TrainerOptions options = Options(2, /*learning_rate=*/1e-3);
  options.optimizer.kind = OptimizerKind::kAdam;
  options.label_smoothing = 0.1;
  options.max_grad_norm = 5.0;
  ASSERT_THAT(Train(teacher, options, train, nullptr), IsOk());
  EXPECT_GT(Evaluate(teacher, test).top1, 95.0);

  LeNet5 student(4);
  TrainerOptions distill = Options(2);
  distill.teacher = &teacher;
  absl::StatusOr<TrainResult> result = Train(student, distill, train, &test);
  ASSERT_THAT(result, IsOk());
  EXPECT_GT(result->history.back().at("val_top1"), 95.0);
}

// A tiny clipping norm keeps every SGD step (lr 0.1) at most 0.1 * 1e-4 long.
TEST_F(TrainerTest, GradientClippingBoundsTheStep) {
  LeNet5 model(4);
  std::vector<torch::Tensor> before;
  for (const torch::Tensor& p : model.parameters()) before.push_back(p.detach().clone());
  TrainerOptions options = Options(1, /*learning_rate=*/0.1);
  options.optimizer.momentum = 0;
  options.max_grad_norm = 1e-4;
  ASSERT_THAT(Train(model, options, BandImages(64, 1), nullptr), IsOk());  // 2 steps
  double squared = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    squared += (model.parameters()[i].detach() - before[i]).pow(2).sum().item<double>();
  }
  EXPECT_LE(std::sqrt(squared), 2 * 0.1 * 1e-4 * 1.0001);
}

TEST_F(TrainerTest, RejectsBadOptions) {
  LeNet5 model(4);
  TrainerOptions bad = Options(1);
  bad.label_smoothing = 1.0;
  EXPECT_THAT(Trainer::Create(model, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = Options(0);
  EXPECT_THAT(Trainer::Create(model, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = Options(1);
  bad.optimizer.momentum = 0;
  bad.optimizer.nesterov = true;
  EXPECT_THAT(Trainer::Create(model, bad), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseOptimizerKind("rmsprop"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(TrainerTest, ResumeFromAMissingOrCorruptFileIsAnError) {
  LeNet5 model(4);
  absl::StatusOr<std::unique_ptr<Trainer>> trainer = Trainer::Create(model, Options(1));
  ASSERT_THAT(trainer, IsOk());
  const std::string dir = std::getenv("TEST_TMPDIR");
  EXPECT_THAT((*trainer)->Resume(dir + "/none.ckpt"), StatusIs(absl::StatusCode::kNotFound));
  std::FILE* file = std::fopen((dir + "/bad.ckpt").c_str(), "w");
  std::fputs("not a checkpoint", file);
  std::fclose(file);
  EXPECT_THAT((*trainer)->Resume(dir + "/bad.ckpt"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("bad.ckpt")));
}

}  // namespace
}  // namespace edgecompress::training
