// Pruning recipes: YAML files in the spirit of SparseML's, read into the
// Options structs of this package and checked by the same Create() as the
// C++ API, so a recipe that loads cannot fail later for its configuration.
//
//   # What, source, and the command that runs it.
//   version: 1                 # required; the only version so far
//   num_epochs: 70             # recipe variables: any other top-level scalar,
//   final_sparsity: 0.95       #   used as `$name` (whole values only)
//   modifiers:
//     - !EpochRangeModifier {start_epoch: 0, end_epoch: $num_epochs}
//     - !LearningRateModifier
//       lr_schedule: multi_step
//       init_lr: 0.005
//       milestones: [43, 60]
//       gamma: 0.1
//     - !GMPruningModifier
//       params: __ALL_PRUNABLE__
//       exclude: [conv1, fc]
//       init_sparsity: 0.05
//       final_sparsity: $final_sparsity
//       start_epoch: 0
//       end_epoch: 40
//       update_frequency: 1
//       global: false
//
// Modifiers and their keys ([default]; every other key is an error):
//   !EpochRangeModifier       start_epoch [0], end_epoch. Exactly one. Training
//                             runs epochs start .. end - 1 (end exclusive).
//   !LearningRateModifier     lr_schedule (constant, multi_step, exponential,
//                             cosine), init_lr, warmup_epochs [0]; multi_step:
//                             milestones, gamma [0.1]; exponential: gamma
//                             [0.1], start_epoch [0]; cosine: min_lr [0],
//                             total_epochs [the range's end_epoch]. At most
//                             one; training::LrSchedule::Create checks it.
//   !GMPruningModifier        params, exclude [], init_sparsity, final_sparsity,
//                             start_epoch, end_epoch (inclusive: final there),
//                             update_frequency [1], global [false].
//                             CubicSchedule::Create, in epochs.
//   !ConstantPruningModifier  params, exclude [], sparsity, start_epoch [0],
//                             global [false]. ConstantSchedule::Create.
//   !ACDCPruningModifier      params, exclude [], compression_sparsity,
//                             start_epoch (first compressed phase),
//                             phase_epochs, fine_tune_epoch, global [true, as
//                             SparseML]. AcDcSchedule::Create (its header
//                             says how these differ from SparseML's keys).
//   !FilterPruningModifier    params, exclude [], sparsity (the fraction of
//                             each conv's filters to remove), epoch [0],
//                             thinning [true]. CheckFilterFraction.
//   !QuantizationModifier     start_epoch, bits [8] in [2, 8]. Carried for
//                             quantization-aware training (train_prune
//                             applies it as int8 QAT and refuses other
//                             bits). At most one.
//   !LowRankModifier          params, exclude [], rank (a rule for each
//                             selected layer: "4x", "rank=8", "energy=0.95";
//                             lowrank/factorization.h parses it), start_epoch
//                             [0]. Carried for train_prune --low_rank; the
//                             rule's text is checked where it is applied.
//
// Conventions:
//   - Epochs are whole numbers (40 or 40.0); SparseML's fractional epochs are
//     rejected. Schedules count epochs as their steps; EpochsToSteps turns
//     them into optimizer steps on epoch boundaries.
//   - Every pruning or quantization epoch (GMP end_epoch, AC/DC
//     fine_tune_epoch, filter epoch, start epochs) must be before the
//     range's end_epoch: the last epoch trained is end_epoch - 1, so a GMP
//     ending at end_epoch would never reach its final sparsity.
//   - params is __ALL_PRUNABLE__ (every conv and linear layer) or a list of
//     ECMAScript regular expressions (std::regex) that must match a whole
//     layer name, i.e. a module path such as 'layer1\.[0-8]\.conv1', not a
//     tensor name ("conv1.weight"); exclude removes matches afterwards. The
//     pruned tensor of a layer is "<name>.weight".
//   - Given the model's LayerGraph, every params and exclude pattern must
//     match at least one conv or linear layer, the selection must not be
//     empty, no layer may be selected by two pruning modifiers, filter
//     pruning must select convs only, and with thinning: true PlanThinning
//     must accept each selected conv (not one that feeds a residual Add).
//     The selected names are stored, in graph order.
//   - Overrides "name=value" (train_prune --override) replace a declared
//     variable's value before anything is read; the value is a YAML scalar.
//     An override of an undeclared variable, a variable never used (a typo
//     such as `final_sparsty: 0.9`) and `$name` of an undeclared one are
//     errors. There is no arithmetic: declare each number a run may change.
//     Anything not a variable is changed by editing the recipe.
//   - Errors are kInvalidArgument with "<source>:<line>: <what>", the line
//     of the offending key or value (1-based), naming the variable when the
//     value came from one.
//
// The core reads no files: the tool reads the file and passes its text.
#ifndef EDGECOMPRESS_PRUNING_RECIPE_H_
#define EDGECOMPRESS_PRUNING_RECIPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "pruning/acdc_schedule.h"
#include "pruning/constant_schedule.h"
#include "pruning/schedule.h"
#include "training/lr_schedule.h"
#include "training/models/layer_graph.h"

namespace edgecompress::pruning {

// Where a modifier came from: its position in `modifiers` and its YAML line
// (1-based), for messages that point back at the recipe.
struct RecipeLocation {
  int index = 0;
  int line = 0;
};

// The layers a pruning modifier selects.
struct ParamSelection {
  bool all_prunable = false;          // params: __ALL_PRUNABLE__
  std::vector<std::string> patterns;  // else these regular expressions
  std::vector<std::string> exclude;
  // The selected conv and linear layers in graph order; filled only when the
  // recipe is loaded with a graph.
  std::vector<std::string> layers;
};

struct EpochRangeModifier {
  RecipeLocation where;
  int64_t start_epoch = 0, end_epoch = 0;  // end exclusive
};

struct LearningRateModifier {
  RecipeLocation where;
  training::LrScheduleOptions options;  // epochs as LrSchedule counts them
};

struct GmpModifier {
  RecipeLocation where;
  ParamSelection params;
  bool global = false;
  CubicScheduleOptions schedule;  // steps are epochs
};

struct ConstantPruningModifier {
  RecipeLocation where;
  ParamSelection params;
  bool global = false;
  ConstantScheduleOptions schedule;  // steps are epochs
};

struct AcDcModifier {
  RecipeLocation where;
  ParamSelection params;
  bool global = true;
  AcDcScheduleOptions schedule;  // steps are epochs
};

struct FilterPruningModifier {
  RecipeLocation where;
  ParamSelection params;
  double sparsity = 0.0;  // fraction of each conv's filters removed (KeptFiltersByL1)
  int64_t epoch = 0;      // pruned once, at the start of this epoch
  bool thinning = true;   // remove the filters (thinning.h) rather than mask them
};

struct QuantizationModifier {
  RecipeLocation where;
  int64_t start_epoch = 0;
  int bits = 8;
};

struct LowRankModifier {
  RecipeLocation where;
  ParamSelection params;
  std::string rank;  // the rule's text, e.g. "4x"
  int64_t start_epoch = 0;
};

struct RecipeVariable {
  std::string name;
  std::string value;        // the scalar text used
  bool overridden = false;  // value came from an override
};

struct Recipe {
  std::string source;  // as given in RecipeLoadOptions
  int version = 1;
  std::vector<RecipeVariable> variables;  // in file order
  EpochRangeModifier epochs;
  std::optional<LearningRateModifier> learning_rate;
  std::vector<GmpModifier> gmp;
  std::vector<ConstantPruningModifier> constant;
  std::vector<AcDcModifier> acdc;
  std::vector<FilterPruningModifier> filters;
  std::optional<QuantizationModifier> quantization;
  std::vector<LowRankModifier> low_rank;
};

struct RecipeLoadOptions {
  std::string source = "recipe";       // the file name, for messages
  std::vector<std::string> overrides;  // "name=value"
  // The model the recipe will run on: when set, params are resolved and
  // checked against its layers. Not kept after ParseRecipe returns.
  const training::LayerGraph* graph = nullptr;
};

// Parses and checks a recipe (conventions above). kInvalidArgument naming
// the source and line of the first problem.
absl::StatusOr<Recipe> ParseRecipe(absl::string_view yaml, const RecipeLoadOptions& options);

// The conv and linear layers of `graph`, in graph order: what
// __ALL_PRUNABLE__ selects.
std::vector<std::string> PrunableLayers(const training::LayerGraph& graph);

// The effective recipe as YAML: variables substituted, defaults written out,
// modifiers in their original order, the variables and their origin and
// each modifier's resolved layers in comments. ParseRecipe reads it back to
// the same recipe.
std::string RecipeToYaml(const Recipe& recipe);

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_RECIPE_H_
