#include "pruning/recipe.h"

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"
#include "training/models/lenet_graph.h"

namespace edgecompress::pruning {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using training::LayerGraph;
using training::LeNet5Graph;

// The zoo's ResNets (training/models/resnet.cc Describe()) on 32x32: a 3x3
// stem, stages of BasicBlocks or Bottlenecks named "layer<s>.<b>.conv<i>",
// "bn<i>", option-B "downsample.0/1" shortcuts, global pool, "fc".
LayerGraph ResNet(bool bottleneck, int64_t stem, const std::vector<int>& blocks,
                  const std::vector<int64_t>& planes, int64_t classes) {
  LayerGraph graph({3, 32, 32});
  const auto conv = [](int64_t in, int64_t out, int64_t k, int64_t stride) {
    return training::Conv2dAttrs{.in_channels = in,
                                 .out_channels = out,
                                 .kernel_size = k,
                                 .stride = stride,
                                 .padding = k / 2,
                                 .bias = false};
  };
  std::string x = graph.Conv2d("conv1", LayerGraph::kInput, conv(3, stem, 3, 1));
  x = graph.Relu(graph.BatchNorm("bn1", x, {.channels = stem}));
  int64_t channels = stem;
  for (size_t s = 0; s < blocks.size(); ++s) {
    for (int b = 0; b < blocks[s]; ++b) {
      const std::string prefix = absl::StrCat("layer", s + 1, ".", b);
      const int64_t stride = s > 0 && b == 0 ? 2 : 1;
      const int64_t out = bottleneck ? 4 * planes[s] : planes[s];
      std::vector<training::Conv2dAttrs> convs =
          bottleneck ? std::vector<training::Conv2dAttrs>{conv(channels, planes[s], 1, 1),
                                                          conv(planes[s], planes[s], 3, stride),
                                                          conv(planes[s], out, 1, 1)}
                     : std::vector<training::Conv2dAttrs>{conv(channels, planes[s], 3, stride),
                                                          conv(planes[s], planes[s], 3, 1)};
      std::string y = x;
      for (size_t i = 0; i < convs.size(); ++i) {
        y = graph.Conv2d(absl::StrCat(prefix, ".conv", i + 1), y, convs[i]);
        y = graph.BatchNorm(absl::StrCat(prefix, ".bn", i + 1), y,
                            {.channels = convs[i].out_channels});
        if (i + 1 < convs.size()) y = graph.Relu(y);
      }
      std::string shortcut = x;
      if (stride != 1 || channels != out) {
        shortcut =
            graph.Conv2d(absl::StrCat(prefix, ".downsample.0"), x, conv(channels, out, 1, stride));
        shortcut =
            graph.BatchNorm(absl::StrCat(prefix, ".downsample.1"), shortcut, {.channels = out});
      }
      x = graph.Relu(graph.Add(y, shortcut));
      channels = out;
    }
  }
  x = graph.Flatten(graph.GlobalAveragePool(x));
  graph.Linear("fc", x, {.in_features = channels, .out_features = classes});
  return graph;
}

LayerGraph CifarResNet(int depth, int64_t classes) {
  const int n = (depth - 2) / 6;
  return ResNet(false, 16, {n, n, n}, {16, 32, 64}, classes);
}

LayerGraph ResNet50(int64_t classes) {
  return ResNet(true, 64, {3, 4, 6, 3}, {64, 128, 256, 512}, classes);
}

// Every modifier, in block and flow style, with variables.
constexpr char kFullRecipe[] = R"yaml(# a test recipe
version: 1
num_epochs: 30
target: 0.8
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: $num_epochs}
  - !LearningRateModifier
    lr_schedule: multi_step
    init_lr: 0.05
    milestones: [20, 25]
    gamma: 0.2
  - !GMPruningModifier
    params: ['fc[12]']
    init_sparsity: 0.05
    final_sparsity: $target
    start_epoch: 1.0
    end_epoch: 10
    update_frequency: 2
    global: true
  - !ConstantPruningModifier {params: [conv2], sparsity: 0.5, start_epoch: 3}
  - !FilterPruningModifier {params: [conv1], sparsity: 0.5, epoch: 4, thinning: false}
  - !QuantizationModifier {start_epoch: 25, bits: 4}
  - !LowRankModifier {params: ['fc3'], rank: 4x, start_epoch: 26}
)yaml";

TEST(RecipeTest, ReadsEveryModifier) {
  absl::StatusOr<Recipe> recipe = ParseRecipe(kFullRecipe, {.source = "full.yaml"});
  ASSERT_THAT(recipe, IsOk());
  EXPECT_EQ(recipe->source, "full.yaml");
  EXPECT_EQ(recipe->epochs.start_epoch, 0);
  EXPECT_EQ(recipe->epochs.end_epoch, 30);
  EXPECT_EQ(recipe->epochs.where.line, 6);
  ASSERT_TRUE(recipe->learning_rate.has_value());
  EXPECT_EQ(recipe->learning_rate->options.kind, training::LrScheduleKind::kMultiStep);
  EXPECT_EQ(recipe->learning_rate->options.base_learning_rate, 0.05);
  EXPECT_THAT(recipe->learning_rate->options.milestones, ElementsAre(20, 25));
  EXPECT_EQ(recipe->learning_rate->options.gamma, 0.2);
  ASSERT_EQ(recipe->gmp.size(), 1u);
  const GmpModifier& gmp = recipe->gmp[0];
  EXPECT_EQ(gmp.where.index, 2);
  EXPECT_EQ(gmp.where.line, 12);
  EXPECT_THAT(gmp.params.patterns, ElementsAre("fc[12]"));
  EXPECT_FALSE(gmp.params.all_prunable);
  EXPECT_TRUE(gmp.params.layers.empty());  // no graph given
  EXPECT_TRUE(gmp.global);
  EXPECT_EQ(gmp.schedule.initial_sparsity, 0.05);
  EXPECT_EQ(gmp.schedule.final_sparsity, 0.8);
  EXPECT_EQ(gmp.schedule.begin_step, 1);
  EXPECT_EQ(gmp.schedule.end_step, 10);
  EXPECT_EQ(gmp.schedule.frequency, 2);
  ASSERT_EQ(recipe->constant.size(), 1u);
  EXPECT_EQ(recipe->constant[0].schedule.sparsity, 0.5);
  EXPECT_EQ(recipe->constant[0].schedule.begin_step, 3);
  EXPECT_FALSE(recipe->constant[0].global);
  ASSERT_EQ(recipe->filters.size(), 1u);
  EXPECT_EQ(recipe->filters[0].sparsity, 0.5);
  EXPECT_EQ(recipe->filters[0].epoch, 4);
  EXPECT_FALSE(recipe->filters[0].thinning);
  ASSERT_TRUE(recipe->quantization.has_value());
  EXPECT_EQ(recipe->quantization->start_epoch, 25);
  EXPECT_EQ(recipe->quantization->bits, 4);
  ASSERT_EQ(recipe->low_rank.size(), 1u);
  EXPECT_THAT(recipe->low_rank[0].params.patterns, ElementsAre("fc3"));
  EXPECT_EQ(recipe->low_rank[0].rank, "4x");
  EXPECT_EQ(recipe->low_rank[0].start_epoch, 26);
  ASSERT_EQ(recipe->variables.size(), 2u);
  EXPECT_EQ(recipe->variables[1].name, "target");
  EXPECT_EQ(recipe->variables[1].value, "0.8");
  EXPECT_FALSE(recipe->variables[1].overridden);
}

// The options go through the schedules' own Create(), unchanged.
TEST(RecipeTest, OptionsBuildTheSchedules) {
  absl::StatusOr<Recipe> recipe = ParseRecipe(kFullRecipe, {});
  ASSERT_THAT(recipe, IsOk());
  absl::StatusOr<CubicSchedule> gmp = CubicSchedule::Create(recipe->gmp[0].schedule);
  ASSERT_THAT(gmp, IsOk());
  EXPECT_EQ(gmp->TargetSparsity(10), 0.8);
  EXPECT_THAT(ConstantSchedule::Create(recipe->constant[0].schedule), IsOk());
  EXPECT_THAT(training::LrSchedule::Create(recipe->learning_rate->options), IsOk());
}

TEST(RecipeTest, ResolvesParamsAgainstTheGraph) {
  const LayerGraph graph = LeNet5Graph();
  EXPECT_THAT(PrunableLayers(graph), ElementsAre("conv1", "conv2", "fc1", "fc2", "fc3"));
  absl::StatusOr<Recipe> recipe = ParseRecipe(kFullRecipe, {.graph = &graph});
  ASSERT_THAT(recipe, IsOk());
  EXPECT_THAT(recipe->gmp[0].params.layers, ElementsAre("fc1", "fc2"));
  EXPECT_THAT(recipe->constant[0].params.layers, ElementsAre("conv2"));
  EXPECT_THAT(recipe->filters[0].params.layers, ElementsAre("conv1"));
}

TEST(RecipeTest, AcDcAndCosineDefaults) {
  constexpr char kYaml[] = R"yaml(version: 1
modifiers:
  - !EpochRangeModifier {end_epoch: 100}
  - !LearningRateModifier {lr_schedule: cosine, init_lr: 0.256, warmup_epochs: 5}
  - !ACDCPruningModifier
    params: __ALL_PRUNABLE__
    exclude: [conv1, fc]
    compression_sparsity: 0.9
    start_epoch: 10
    phase_epochs: 5
    fine_tune_epoch: 85
)yaml";
  const LayerGraph graph = CifarResNet(20, 10);
  absl::StatusOr<Recipe> recipe = ParseRecipe(kYaml, {.graph = &graph});
  ASSERT_THAT(recipe, IsOk());
  EXPECT_EQ(recipe->learning_rate->options.total_epochs, 100.0);  // the range's end
  EXPECT_EQ(recipe->learning_rate->options.warmup_epochs, 5.0);
  ASSERT_EQ(recipe->acdc.size(), 1u);
  const AcDcModifier& acdc = recipe->acdc[0];
  EXPECT_TRUE(acdc.global);  // SparseML's default for AC/DC
  EXPECT_EQ(acdc.schedule.sparsity, 0.9);
  EXPECT_EQ(acdc.schedule.begin_step, 10);
  EXPECT_EQ(acdc.schedule.phase_steps, 5);
  EXPECT_EQ(acdc.schedule.fine_tune_step, 85);
  // ResNet-20: 21 convs (19 + 2 downsample) and fc; conv1 and fc excluded.
  EXPECT_EQ(acdc.params.layers.size(), 20u);
  EXPECT_EQ(acdc.params.layers.front(), "layer1.0.conv1");
  EXPECT_EQ(acdc.params.layers.back(), "layer3.2.conv2");
}

// Each bad recipe fails with the file, the line of the culprit and what is
// wrong.
TEST(RecipeTest, ErrorsNameTheFileAndLine) {
  const LayerGraph lenet = LeNet5Graph();
  const LayerGraph resnet = CifarResNet(20, 10);
  constexpr char kHead[] = "version: 1\nmodifiers:\n  - !EpochRangeModifier {end_epoch: 10}\n";
  const struct {
    std::string yaml;
    const LayerGraph* graph;
    std::string where;  // "bad.yaml:<line>:"
    std::string what;
  } kCases[] = {
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    final_sparsty: 0.9\n    start_epoch: 0\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:7:", "unknown key 'final_sparsty'"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    final_sparsity: lots\n    start_epoch: 0\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:7:", "final_sparsity: expected a number, got 'lots'"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    final_sparsity: 1.0\n    start_epoch: 0\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:4:", "[0, 1)"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    final_sparsity: 0.9\n    start_epoch: 6\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:4:", "begin <= end"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    final_sparsity: 0.9\n    start_epoch: 0.5\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:8:", "whole number of epochs, got '0.5'"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    final_sparsity: 0.9\n    start_epoch: 0\n    end_epoch: 10\n"),
       nullptr, "bad.yaml:4:", "end_epoch 10 is outside the epochs trained, 0 to 9"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1]\n    init_sparsity: 0.1\n"
                    "    start_epoch: 0\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:4:", "needs final_sparsity"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: [fc1, 'layer9\\..*']\n"
                    "    init_sparsity: 0.1\n    final_sparsity: 0.9\n"
                    "    start_epoch: 0\n    end_epoch: 5\n"),
       &lenet, "bad.yaml:5:", "'layer9\\..*' matches no conv or linear layer"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: __ALL_PRUNABLE__\n"
                    "    exclude: [conv1,\n      fc9]\n    init_sparsity: 0.1\n"
                    "    final_sparsity: 0.9\n    start_epoch: 0\n    end_epoch: 5\n"),
       &lenet, "bad.yaml:7:", "exclude: 'fc9' matches no"},
      {absl::StrCat(kHead,
                    "  - !GMPruningModifier\n    params: ['fc(']\n    init_sparsity: 0.1\n"
                    "    final_sparsity: 0.9\n    start_epoch: 0\n    end_epoch: 5\n"),
       nullptr, "bad.yaml:5:", "'fc(' is not a regular expression"},
      {absl::StrCat(kHead, "  - !MagicPruningModifier {params: [fc1]}\n"), nullptr,
       "bad.yaml:4:", "unknown modifier !MagicPruningModifier"},
      {absl::StrCat(kHead, "  - {params: [fc1]}\n"), nullptr, "bad.yaml:4:", "tagged map"},
      {absl::StrCat(kHead,
                    "  - !ConstantPruningModifier {params: [fc1], sparsity: 0.5}\n"
                    "  - !GMPruningModifier {params: ['fc.*'], init_sparsity: 0.1,\n"
                    "      final_sparsity: 0.5, start_epoch: 0, end_epoch: 5}\n"),
       &lenet, "bad.yaml:5:", "'fc1', which !ConstantPruningModifier at line 4 already prunes"},
      {absl::StrCat(kHead, "  - !FilterPruningModifier {params: [fc1], sparsity: 0.5}\n"), &lenet,
       "bad.yaml:4:", "'fc1', a linear layer"},
      {absl::StrCat(kHead, "  - !FilterPruningModifier {params: [conv1], sparsity: 1.0}\n"),
       nullptr, "bad.yaml:4:", "sparsity: fraction of filters to prune must be in [0, 1)"},
      {absl::StrCat(kHead,
                    "  - !FilterPruningModifier {params: [layer1.0.conv2], sparsity: 0.5}\n"),
       &resnet, "bad.yaml:4:", "residual connection"},
      {absl::StrCat(kHead,
                    "  - !LearningRateModifier {lr_schedule: cosine, init_lr: 0.1,\n"
                    "      milestones: [3]}\n"),
       nullptr, "bad.yaml:5:", "unknown key 'milestones'"},
      {absl::StrCat(kHead, "  - !LearningRateModifier {lr_schedule: step, init_lr: 0.1}\n"),
       nullptr, "bad.yaml:4:", "unknown learning-rate schedule 'step'"},
      {absl::StrCat(kHead,
                    "  - !LearningRateModifier {lr_schedule: exponential, init_lr: 0.1,\n"
                    "      gamma: 1.5}\n"),
       nullptr, "bad.yaml:4:", "gamma must be in (0, 1]"},
      {absl::StrCat(kHead, "  - !QuantizationModifier {start_epoch: 2, bits: 16}\n"), nullptr,
       "bad.yaml:4:", "bits must be in [2, 8]"},
      {absl::StrCat(kHead, "  - !EpochRangeModifier {end_epoch: 10}\n"), nullptr,
       "bad.yaml:4:", "a second !EpochRangeModifier"},
      {"version: 1\nmodifiers:\n  - !QuantizationModifier {start_epoch: 2}\n", nullptr,
       "bad.yaml:1:", "needs one !EpochRangeModifier"},
      {"version: 2\nmodifiers:\n  - !EpochRangeModifier {end_epoch: 10}\n", nullptr,
       "bad.yaml:1:", "unsupported recipe version 2"},
      {"version: 1\nmodifiers:\n  - !EpochRangeModifier {end_epoch: 10}\nvariants: [a]\n", nullptr,
       "bad.yaml:4:", "unknown top-level key 'variants'"},
      {"version: 1\nepochs: 10\nmodifiers:\n  - !EpochRangeModifier {end_epoch: $epoch}\n", nullptr,
       "bad.yaml:4:", "no variable 'epoch'"},
      {"version: 1\nepochs: 10\nmodifiers:\n  - !EpochRangeModifier {end_epoch: 10}\n", nullptr,
       "bad.yaml:2:", "variable 'epochs' is never used"},
      {"version: 1\nmodifiers:\n  - !EpochRangeModifier {end_epoch: 10\n", nullptr,
       "bad.yaml:", "YAML:"},
      {absl::StrCat(kHead, "  - !GMPruningModifier\n    params: [fc1]\n    params: [fc2]\n"),
       nullptr, "bad.yaml:6:", "key 'params' given twice"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.yaml);
    EXPECT_THAT(
        ParseRecipe(c.yaml, {.source = "bad.yaml", .graph = c.graph}),
        StatusIs(absl::StatusCode::kInvalidArgument, AllOf(HasSubstr(c.where), HasSubstr(c.what))));
  }
}

constexpr char kVariables[] = R"yaml(version: 1
num_epochs: 20
final_sparsity: 0.9
prune_globally: true
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: $num_epochs}
  - !GMPruningModifier
    params: [fc1, $extra_layer]
    init_sparsity: 0.05
    final_sparsity: $final_sparsity
    start_epoch: 0
    end_epoch: 10
    global: $prune_globally
extra_layer: fc2
)yaml";

TEST(RecipeTest, OverridesReplaceVariables) {
  const LayerGraph graph = LeNet5Graph();
  absl::StatusOr<Recipe> recipe = ParseRecipe(
      kVariables, {.overrides = {"final_sparsity=0.95", " num_epochs = 40", "extra_layer=conv2"},
                   .graph = &graph});
  ASSERT_THAT(recipe, IsOk());
  EXPECT_EQ(recipe->gmp[0].schedule.final_sparsity, 0.95);
  EXPECT_EQ(recipe->epochs.end_epoch, 40);
  EXPECT_THAT(recipe->gmp[0].params.patterns, ElementsAre("fc1", "conv2"));
  EXPECT_THAT(recipe->gmp[0].params.layers, ElementsAre("conv2", "fc1"));
  EXPECT_TRUE(recipe->gmp[0].global);
  ASSERT_EQ(recipe->variables.size(), 4u);
  EXPECT_EQ(recipe->variables[1].name, "final_sparsity");
  EXPECT_EQ(recipe->variables[1].value, "0.95");
  EXPECT_TRUE(recipe->variables[1].overridden);
  EXPECT_FALSE(recipe->variables[2].overridden);
}

TEST(RecipeTest, BadOverridesAreErrors) {
  EXPECT_THAT(ParseRecipe(kVariables, {.source = "v.yaml", .overrides = {"final_sparsty=0.5"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("v.yaml declares no variable 'final_sparsty'"),
                             HasSubstr("num_epochs, final_sparsity, prune_globally"))));
  EXPECT_THAT(ParseRecipe(kVariables, {.overrides = {"final_sparsity"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not name=value")));
  // A value of the wrong type is reported where the variable is used.
  EXPECT_THAT(ParseRecipe(kVariables, {.source = "v.yaml", .overrides = {"final_sparsity=high"}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("v.yaml:10:"), HasSubstr("got 'high'"),
                             HasSubstr("from $final_sparsity, overridden"))));
  EXPECT_THAT(ParseRecipe(kVariables, {.overrides = {"prune_globally=maybe"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("expected true or false")));
  EXPECT_THAT(ParseRecipe(kVariables, {.overrides = {"final_sparsity=1.5"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[0, 1)")));
}

// The effective recipe reads back to the same recipe (same YAML again), with
// the overrides in it and no variables left.
TEST(RecipeTest, EffectiveRecipeRoundTrips) {
  const LayerGraph graph = LeNet5Graph();
  for (const char* yaml : {kFullRecipe, kVariables}) {
    SCOPED_TRACE(yaml);
    absl::StatusOr<Recipe> recipe =
        ParseRecipe(yaml, {.source = "in.yaml", .overrides = {}, .graph = &graph});
    ASSERT_THAT(recipe, IsOk());
    const std::string effective = RecipeToYaml(*recipe);
    EXPECT_THAT(effective, Not(HasSubstr("$")));
    absl::StatusOr<Recipe> again = ParseRecipe(effective, {.source = "in.yaml", .graph = &graph});
    ASSERT_THAT(again, IsOk()) << effective;
    again->variables = recipe->variables;  // kept only in a comment
    EXPECT_EQ(RecipeToYaml(*again), effective);
  }
  absl::StatusOr<Recipe> recipe = ParseRecipe(
      kVariables, {.source = "in.yaml", .overrides = {"final_sparsity=0.97"}, .graph = &graph});
  ASSERT_THAT(recipe, IsOk());
  EXPECT_EQ(RecipeToYaml(*recipe),
            "# Effective recipe from in.yaml.\n"
            "# Variables: num_epochs = 20, final_sparsity = 0.97 (overridden), "
            "prune_globally = true, extra_layer = fc2.\n"
            "version: 1\n"
            "modifiers:\n"
            "  - !EpochRangeModifier\n"
            "    start_epoch: 0\n"
            "    end_epoch: 20\n"
            "  - !GMPruningModifier\n"
            "    params: ['fc1', 'fc2']\n"
            "    # selects 2: fc1, fc2\n"
            "    global: true\n"
            "    init_sparsity: 0.05\n"
            "    final_sparsity: 0.97\n"
            "    start_epoch: 0\n"
            "    end_epoch: 10\n"
            "    update_frequency: 1\n");
}

std::string ReadRecipe(const std::string& name) {
  const std::string path =
      absl::StrCat(std::getenv("TEST_SRCDIR"), "/edgecompress/pruning/recipes/", name);
  std::ifstream file(path);
  EXPECT_TRUE(file.good()) << path;
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// Every shipped recipe loads against its model, selects what its header
// says, and its effective form loads too.
TEST(RecipeTest, ShippedRecipesLoadAgainstTheirModels) {
  const LayerGraph lenet = LeNet5Graph();
  const LayerGraph resnet20 = CifarResNet(20, 10);
  const LayerGraph resnet56 = CifarResNet(56, 10);
  const LayerGraph resnet50 = ResNet50(100);
  const struct {
    const char* file;
    const LayerGraph* graph;
  } kRecipes[] = {
      {"lenet5_fashion_mnist_gmp90.yaml", &lenet},  {"lenet5_fashion_mnist_gmp95.yaml", &lenet},
      {"resnet20_cifar10_gmp.yaml", &resnet20},     {"resnet50_cifar100_gmp95.yaml", &resnet50},
      {"resnet56_cifar10_filters.yaml", &resnet56}, {"lenet5_fashion_mnist_acdc90.yaml", &lenet},
      {"lenet5_fashion_mnist_filters50.yaml", &lenet},
      {"lenet5_fashion_mnist_lowrank_fc1_4x.yaml", &lenet},
  };
  for (const auto& r : kRecipes) {
    SCOPED_TRACE(r.file);
    const std::string text = ReadRecipe(r.file);
    EXPECT_THAT(text, HasSubstr("bazel run //tools/train_prune"));  // the header's command
    absl::StatusOr<Recipe> recipe = ParseRecipe(text, {.source = r.file, .graph = r.graph});
    ASSERT_THAT(recipe, IsOk());
    EXPECT_THAT(ParseRecipe(RecipeToYaml(*recipe), {.source = r.file, .graph = r.graph}), IsOk());
  }

  absl::StatusOr<Recipe> lenet90 =
      ParseRecipe(ReadRecipe("lenet5_fashion_mnist_gmp90.yaml"), {.graph = &lenet});
  ASSERT_THAT(lenet90, IsOk());
  EXPECT_THAT(lenet90->gmp[0].params.layers, ElementsAre("conv2", "fc1", "fc2"));
  EXPECT_TRUE(lenet90->gmp[0].global);
  EXPECT_EQ(lenet90->gmp[0].schedule.final_sparsity, 0.9);

  // The AC/DC schedule its header draws: warm-up 2, phases of 2, fine-tuning
  // from 10 of 15.
  absl::StatusOr<Recipe> acdc =
      ParseRecipe(ReadRecipe("lenet5_fashion_mnist_acdc90.yaml"), {.graph = &lenet});
  ASSERT_THAT(acdc, IsOk());
  ASSERT_EQ(acdc->acdc.size(), 1u);
  EXPECT_THAT(acdc->acdc[0].params.layers, ElementsAre("conv2", "fc1", "fc2"));
  EXPECT_EQ(acdc->acdc[0].schedule.sparsity, 0.9);
  EXPECT_EQ(acdc->acdc[0].schedule.begin_step, 2);
  EXPECT_EQ(acdc->acdc[0].schedule.phase_steps, 2);
  EXPECT_EQ(acdc->acdc[0].schedule.fine_tune_step, 10);

  absl::StatusOr<Recipe> filters50 =
      ParseRecipe(ReadRecipe("lenet5_fashion_mnist_filters50.yaml"), {.graph = &lenet});
  ASSERT_THAT(filters50, IsOk());
  ASSERT_EQ(filters50->filters.size(), 1u);
  EXPECT_THAT(filters50->filters[0].params.layers, ElementsAre("conv1", "conv2"));
  EXPECT_EQ(filters50->filters[0].sparsity, 0.5);
  EXPECT_EQ(filters50->filters[0].epoch, 5);

  // The study's GMP 0.05 -> 0.95 over epochs 0-40 of 70, MultiStep [43, 60];
  // 52 convs of ResNet-50 (49 + 4 downsample - conv1).
  absl::StatusOr<Recipe> resnet50_recipe =
      ParseRecipe(ReadRecipe("resnet50_cifar100_gmp95.yaml"), {.graph = &resnet50});
  ASSERT_THAT(resnet50_recipe, IsOk());
  const GmpModifier& gmp = resnet50_recipe->gmp[0];
  EXPECT_EQ(gmp.params.layers.size(), 52u);
  EXPECT_EQ(gmp.schedule.initial_sparsity, 0.05);
  EXPECT_EQ(gmp.schedule.final_sparsity, 0.95);
  EXPECT_EQ(gmp.schedule.begin_step, 0);
  EXPECT_EQ(gmp.schedule.end_step, 40);
  EXPECT_EQ(resnet50_recipe->epochs.end_epoch, 70);
  EXPECT_THAT(resnet50_recipe->learning_rate->options.milestones, ElementsAre(43, 60));

  // The ResNet-56 study's four groups: 9, 6, 1 and 6 conv1 layers at 0.7,
  // 0.6, 0.2 and 0.4 of their filters, thinned at epoch 0.
  absl::StatusOr<Recipe> resnet56_recipe =
      ParseRecipe(ReadRecipe("resnet56_cifar10_filters.yaml"), {.graph = &resnet56});
  ASSERT_THAT(resnet56_recipe, IsOk());
  ASSERT_EQ(resnet56_recipe->filters.size(), 4u);
  constexpr struct {
    size_t layers;
    double sparsity;
  } kGroups[] = {{9, 0.7}, {6, 0.6}, {1, 0.2}, {6, 0.4}};
  for (int g = 0; g < 4; ++g) {
    SCOPED_TRACE(g);
    const FilterPruningModifier& filter = resnet56_recipe->filters[g];
    EXPECT_EQ(filter.params.layers.size(), kGroups[g].layers);
    EXPECT_EQ(filter.sparsity, kGroups[g].sparsity);
    EXPECT_EQ(filter.epoch, 0);
    EXPECT_TRUE(filter.thinning);
    for (const std::string& layer : filter.params.layers) {
      EXPECT_THAT(layer, ::testing::EndsWith(".conv1"));
    }
  }
  EXPECT_THAT(resnet56_recipe->filters[2].params.layers, ElementsAre("layer3.1.conv1"));
  EXPECT_EQ(resnet56_recipe->learning_rate->options.kind, training::LrScheduleKind::kExponential);
  EXPECT_EQ(resnet56_recipe->learning_rate->options.start_epoch, 10);
}

}  // namespace
}  // namespace edgecompress::pruning
