#include "pruning/recipe.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "pruning/filter_pruning.h"
#include "pruning/thinning.h"
#include "tools/status/status_macros.h"

namespace edgecompress::pruning {
namespace {

constexpr absl::string_view kAllPrunable = "__ALL_PRUNABLE__";

constexpr absl::string_view kEpochRange = "!EpochRangeModifier";
constexpr absl::string_view kLearningRate = "!LearningRateModifier";
constexpr absl::string_view kGmp = "!GMPruningModifier";
constexpr absl::string_view kConstant = "!ConstantPruningModifier";
constexpr absl::string_view kAcDc = "!ACDCPruningModifier";
constexpr absl::string_view kFilter = "!FilterPruningModifier";
constexpr absl::string_view kQuantization = "!QuantizationModifier";
constexpr absl::string_view kLowRank = "!LowRankModifier";

bool IsIdentifier(absl::string_view name) {
  if (name.empty() || absl::ascii_isdigit(name[0])) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return absl::ascii_isalnum(c) || c == '_'; });
}

// The shortest text that reads back as exactly `value`.
std::string FormatNumber(double value) {
  for (int precision = 1; precision <= 17; ++precision) {
    std::string text = absl::StrFormat("%.*g", precision, value);
    if (std::strtod(text.c_str(), nullptr) == value) return text;
  }
  return absl::StrFormat("%.17g", value);
}

std::string Quote(absl::string_view text) {
  std::string quoted = "'";
  for (char c : text) {
    quoted += c;
    if (c == '\'') quoted += '\'';
  }
  return quoted + "'";
}

struct Variable {
  std::string value;
  int line = 0;  // of the declaration
  bool overridden = false;
  bool used = false;
};

// A scalar after variable substitution, with where it came from for
// messages: "" or " (from $name)" or " (from $name, overridden)".
struct Scalar {
  std::string text;
  std::string origin;
};

// Reads one recipe; all state for one ParseRecipe call.
class Parser {
 public:
  explicit Parser(const RecipeLoadOptions& options) : options_(options) {}

  absl::StatusOr<Recipe> Parse(absl::string_view yaml);

 private:
  int Line(const YAML::Node& node) const { return node.Mark().line + 1; }

  absl::Status ErrorAt(int line, absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(options_.source, ":", line, ": ", message));
  }
  absl::Status ErrorAt(const YAML::Node& node, absl::string_view message) const {
    return ErrorAt(Line(node), message);
  }

  // Declares the variables and returns the modifiers list.
  absl::StatusOr<YAML::Node> ReadTopLevel(const YAML::Node& root);
  absl::Status ApplyOverrides();
  absl::Status ReadModifier(const YAML::Node& node, int index);

  // Typed values. `what` names the field in messages ("!GMPruningModifier
  // final_sparsity").
  absl::StatusOr<Scalar> Resolve(const YAML::Node& node, absl::string_view what);
  absl::StatusOr<double> Number(const YAML::Node& node, absl::string_view what);
  absl::StatusOr<int64_t> Whole(const YAML::Node& node, absl::string_view what,
                                absl::string_view unit);
  absl::StatusOr<bool> Bool(const YAML::Node& node, absl::string_view what);
  absl::StatusOr<std::string> String(const YAML::Node& node, absl::string_view what);

  // Keys of a modifier's map: each must be in `allowed`, none twice.
  absl::Status CheckKeys(const YAML::Node& map, absl::string_view tag,
                         const std::vector<std::string>& allowed);
  // The value of `key` in `map`, or an error naming the missing key.
  absl::StatusOr<YAML::Node> Required(const YAML::Node& map, absl::string_view tag,
                                      absl::string_view key);

  // Field readers: required when `fallback` is empty.
  absl::StatusOr<double> NumberField(const YAML::Node& map, absl::string_view tag,
                                     absl::string_view key,
                                     std::optional<double> fallback = std::nullopt);
  absl::StatusOr<int64_t> EpochField(const YAML::Node& map, absl::string_view tag,
                                     absl::string_view key,
                                     std::optional<int64_t> fallback = std::nullopt);
  absl::StatusOr<bool> BoolField(const YAML::Node& map, absl::string_view tag,
                                 absl::string_view key, bool fallback);

  absl::StatusOr<ParamSelection> ReadParams(const YAML::Node& map, absl::string_view tag);
  absl::Status ClaimLayers(const ParamSelection& params, absl::string_view tag, int line);
  absl::Status CheckFilterLayers(const FilterPruningModifier& modifier);
  absl::Status CheckEpoch(int line, absl::string_view tag, absl::string_view key,
                          int64_t epoch) const;
  absl::Status Finish(const YAML::Node& root);

  const RecipeLoadOptions& options_;
  std::map<std::string, Variable> variables_;
  std::vector<std::string> variable_order_;
  std::map<std::string, std::pair<std::string, int>> pruned_by_;  // layer -> (tag, line)
  int epoch_ranges_ = 0;
  std::optional<YAML::Node> learning_rate_node_;
  bool total_epochs_given_ = false;
  Recipe recipe_;
};

absl::StatusOr<Scalar> Parser::Resolve(const YAML::Node& node, absl::string_view what) {
  if (!node.IsScalar()) {
    return ErrorAt(node, absl::StrCat(what, ": expected a single value, got a ",
                                      node.IsSequence() ? "list"
                                      : node.IsMap()    ? "map"
                                                        : "null"));
  }
  const std::string& text = node.Scalar();
  if (text.empty() || text[0] != '$') return Scalar{text, ""};
  const std::string name = text.substr(1);
  const auto it = variables_.find(name);
  if (it == variables_.end()) {
    return ErrorAt(node, absl::StrCat(what, ": no variable '", name,
                                      "' (declare it at the top level: ", name, ": <value>)"));
  }
  it->second.used = true;
  return Scalar{it->second.value,
                absl::StrCat(" (from $", name, it->second.overridden ? ", overridden" : "", ")")};
}

absl::StatusOr<double> Parser::Number(const YAML::Node& node, absl::string_view what) {
  absl::StatusOr<Scalar> scalar = Resolve(node, what);
  if (!scalar.ok()) return scalar.status();
  double value = 0.0;
  if (!absl::SimpleAtod(scalar->text, &value) || !std::isfinite(value)) {
    return ErrorAt(
        node, absl::StrCat(what, ": expected a number, got '", scalar->text, "'", scalar->origin));
  }
  return value;
}

absl::StatusOr<int64_t> Parser::Whole(const YAML::Node& node, absl::string_view what,
                                      absl::string_view unit) {
  absl::StatusOr<double> value = Number(node, what);
  if (!value.ok()) return value.status();
  if (*value != std::floor(*value) || std::fabs(*value) > 1e15) {
    absl::StatusOr<Scalar> scalar = Resolve(node, what);
    return ErrorAt(node, absl::StrCat(what, ": expected a whole number", unit, ", got '",
                                      scalar->text, "'", scalar->origin));
  }
  return static_cast<int64_t>(*value);
}

absl::StatusOr<bool> Parser::Bool(const YAML::Node& node, absl::string_view what) {
  absl::StatusOr<Scalar> scalar = Resolve(node, what);
  if (!scalar.ok()) return scalar.status();
  const std::string lower = absl::AsciiStrToLower(scalar->text);
  if (lower == "true") return true;
  if (lower == "false") return false;
  return ErrorAt(node, absl::StrCat(what, ": expected true or false, got '", scalar->text, "'",
                                    scalar->origin));
}

absl::StatusOr<std::string> Parser::String(const YAML::Node& node, absl::string_view what) {
  absl::StatusOr<Scalar> scalar = Resolve(node, what);
  if (!scalar.ok()) return scalar.status();
  return scalar->text;
}

absl::Status Parser::CheckKeys(const YAML::Node& map, absl::string_view tag,
                               const std::vector<std::string>& allowed) {
  std::set<std::string> seen;
  for (YAML::const_iterator it = map.begin(); it != map.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) return ErrorAt(key, absl::StrCat(tag, ": keys must be names"));
    if (std::find(allowed.begin(), allowed.end(), key.Scalar()) == allowed.end()) {
      return ErrorAt(key, absl::StrCat(tag, ": unknown key '", key.Scalar(),
                                       "' (known: ", absl::StrJoin(allowed, ", "), ")"));
    }
    if (!seen.insert(key.Scalar()).second) {
      return ErrorAt(key, absl::StrCat(tag, ": key '", key.Scalar(), "' given twice"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> Parser::Required(const YAML::Node& map, absl::string_view tag,
                                            absl::string_view key) {
  const YAML::Node value = map[std::string(key)];
  if (!value || value.IsNull()) return ErrorAt(map, absl::StrCat(tag, " needs ", key));
  return value;
}

absl::StatusOr<double> Parser::NumberField(const YAML::Node& map, absl::string_view tag,
                                           absl::string_view key, std::optional<double> fallback) {
  const YAML::Node value = map[std::string(key)];
  if ((!value || value.IsNull()) && fallback.has_value()) return *fallback;
  absl::StatusOr<YAML::Node> node = Required(map, tag, key);
  if (!node.ok()) return node.status();
  return Number(*node, absl::StrCat(tag, " ", key));
}

absl::StatusOr<int64_t> Parser::EpochField(const YAML::Node& map, absl::string_view tag,
                                           absl::string_view key, std::optional<int64_t> fallback) {
  const YAML::Node value = map[std::string(key)];
  if ((!value || value.IsNull()) && fallback.has_value()) return *fallback;
  absl::StatusOr<YAML::Node> node = Required(map, tag, key);
  if (!node.ok()) return node.status();
  return Whole(*node, absl::StrCat(tag, " ", key), " of epochs");
}

absl::StatusOr<bool> Parser::BoolField(const YAML::Node& map, absl::string_view tag,
                                       absl::string_view key, bool fallback) {
  const YAML::Node value = map[std::string(key)];
  if (!value || value.IsNull()) return fallback;
  return Bool(value, absl::StrCat(tag, " ", key));
}

absl::StatusOr<ParamSelection> Parser::ReadParams(const YAML::Node& map, absl::string_view tag) {
  ParamSelection params;
  absl::StatusOr<YAML::Node> node = Required(map, tag, "params");
  if (!node.ok()) return node.status();
  const std::string what = absl::StrCat(tag, " params");
  // Each pattern with its line, compiled, for the checks against the graph.
  struct Pattern {
    std::string text;
    int line;
    std::regex regex;
  };
  const auto compile = [&](const YAML::Node& item, absl::string_view field,
                           std::vector<std::string>& texts,
                           std::vector<Pattern>& compiled) -> absl::Status {
    absl::StatusOr<std::string> text = String(item, absl::StrCat(tag, " ", field));
    if (!text.ok()) return text.status();
    try {
      compiled.push_back({*text, Line(item), std::regex(*text, std::regex::ECMAScript)});
    } catch (const std::regex_error& e) {
      return ErrorAt(item, absl::StrCat(tag, " ", field, ": '", *text,
                                        "' is not a regular expression: ", e.what()));
    }
    texts.push_back(*text);
    return absl::OkStatus();
  };
  std::vector<Pattern> patterns, excludes;
  if (node->IsScalar()) {
    absl::StatusOr<std::string> text = String(*node, what);
    if (!text.ok()) return text.status();
    if (*text != kAllPrunable) {
      return ErrorAt(*node, absl::StrCat(what, ": expected ", kAllPrunable,
                                         " or a list of layer-name patterns, got '", *text, "'"));
    }
    params.all_prunable = true;
  } else if (node->IsSequence() && node->size() > 0) {
    for (const YAML::Node& item : *node) {
      RETURN_IF_ERROR(compile(item, "params", params.patterns, patterns));
    }
  } else {
    return ErrorAt(*node, absl::StrCat(what, ": expected ", kAllPrunable,
                                       " or a non-empty list of layer-name patterns"));
  }
  const YAML::Node exclude = map["exclude"];
  if (exclude && !exclude.IsNull()) {
    if (!exclude.IsSequence()) {
      return ErrorAt(exclude,
                     absl::StrCat(tag, " exclude: expected a list of layer-name patterns"));
    }
    for (const YAML::Node& item : exclude) {
      RETURN_IF_ERROR(compile(item, "exclude", params.exclude, excludes));
    }
  }
  if (options_.graph == nullptr) return params;

  const std::vector<std::string> prunable = PrunableLayers(*options_.graph);
  const auto matching = [&prunable](const Pattern& pattern) {
    std::set<std::string> names;
    for (const std::string& name : prunable) {
      if (std::regex_match(name, pattern.regex)) names.insert(name);
    }
    return names;
  };
  const auto no_match = [&](const Pattern& pattern, absl::string_view field) {
    const size_t shown = std::min<size_t>(prunable.size(), 8);
    return ErrorAt(pattern.line,
                   absl::StrCat(tag, " ", field, ": '", pattern.text,
                                "' matches no conv or linear layer (patterns match whole layer "
                                "names such as ",
                                absl::StrJoin(prunable.begin(), prunable.begin() + shown, ", "),
                                prunable.size() > shown ? ", ..." : "", ")"));
  };
  std::set<std::string> selected;
  if (params.all_prunable) selected.insert(prunable.begin(), prunable.end());
  for (const Pattern& pattern : patterns) {
    const std::set<std::string> names = matching(pattern);
    if (names.empty()) return no_match(pattern, "params");
    selected.insert(names.begin(), names.end());
  }
  for (const Pattern& pattern : excludes) {
    const std::set<std::string> names = matching(pattern);
    if (names.empty()) return no_match(pattern, "exclude");
    for (const std::string& name : names) selected.erase(name);
  }
  for (const std::string& name : prunable) {
    if (selected.count(name) > 0) params.layers.push_back(name);
  }
  if (params.layers.empty()) {
    return ErrorAt(*node, absl::StrCat(tag, ": params select no layer once exclude is applied"));
  }
  return params;
}

absl::Status Parser::ClaimLayers(const ParamSelection& params, absl::string_view tag, int line) {
  for (const std::string& layer : params.layers) {
    const auto [it, inserted] = pruned_by_.try_emplace(layer, std::string(tag), line);
    if (!inserted) {
      return ErrorAt(line, absl::StrFormat("%s selects '%s', which %s at line %d already prunes; "
                                           "one pruning modifier per layer",
                                           tag, layer, it->second.first, it->second.second));
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::CheckFilterLayers(const FilterPruningModifier& modifier) {
  if (options_.graph == nullptr) return absl::OkStatus();
  for (const std::string& name : modifier.params.layers) {
    const auto layer =
        std::find_if(options_.graph->layers().begin(), options_.graph->layers().end(),
                     [&name](const training::Layer& l) { return l.name == name; });
    if (layer->op != training::LayerOp::kConv2d) {
      return ErrorAt(modifier.where.line,
                     absl::StrCat(kFilter, " selects '", name,
                                  "', a linear layer: filter pruning ranks conv filters"));
    }
    if (!modifier.thinning) continue;
    const int64_t filters = std::get<training::Conv2dAttrs>(layer->attrs).out_channels;
    if (filters < 2) continue;
    // Any strict subset of the filters makes PlanThinning walk the consumers.
    std::vector<int64_t> kept(filters - 1);
    for (int64_t f = 0; f < filters - 1; ++f) kept[f] = f;
    absl::StatusOr<ThinningPlan> plan = PlanThinning(*options_.graph, {{name, kept}});
    if (!plan.ok()) {
      return ErrorAt(modifier.where.line,
                     absl::StrCat(kFilter, " with thinning: ", plan.status().message(),
                                  " (prune another conv, or set thinning: false to mask)"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<YAML::Node> Parser::ReadTopLevel(const YAML::Node& root) {
  std::set<std::string> seen;
  bool has_version = false;
  std::optional<YAML::Node> modifiers;
  for (YAML::const_iterator it = root.begin(); it != root.end(); ++it) {
    const YAML::Node key = it->first;
    const YAML::Node value = it->second;
    if (!key.IsScalar()) return ErrorAt(key, "top-level keys must be names");
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) {
      return ErrorAt(key, absl::StrCat("top-level key '", name, "' given twice"));
    }
    if (name == "version") {
      absl::StatusOr<int64_t> version = Whole(value, "version", "");
      if (!version.ok()) return version.status();
      if (*version != 1) {
        return ErrorAt(value, absl::StrCat("unsupported recipe version ", *version,
                                           " (this reader knows version 1)"));
      }
      has_version = true;
    } else if (name == "modifiers") {
      if (!value.IsSequence() || value.size() == 0) {
        return ErrorAt(value, "modifiers: expected a non-empty list of !Modifier maps");
      }
      modifiers.emplace(value);
    } else {
      if (!IsIdentifier(name)) {
        return ErrorAt(key,
                       absl::StrCat("'", name, "' is not a variable name (letters, digits, _)"));
      }
      if (!value.IsScalar()) {
        return ErrorAt(key,
                       absl::StrCat("unknown top-level key '", name,
                                    "': only version, modifiers and scalar variables are allowed"));
      }
      variables_[name] = {value.Scalar(), Line(key), false, false};
      variable_order_.push_back(name);
    }
  }
  if (!has_version) return ErrorAt(root, "the recipe needs version: 1");
  if (!modifiers.has_value()) return ErrorAt(root, "the recipe needs a modifiers list");
  return *modifiers;
}

absl::Status Parser::ApplyOverrides() {
  for (const std::string& override : options_.overrides) {
    const size_t equals = override.find('=');
    const std::string name(absl::StripAsciiWhitespace(override.substr(0, equals)));
    if (equals == std::string::npos || name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("override '", override, "' is not name=value"));
    }
    const std::string value(absl::StripAsciiWhitespace(override.substr(equals + 1)));
    const auto it = variables_.find(name);
    if (it == variables_.end()) {
      std::vector<std::string> names = variable_order_;
      return absl::InvalidArgumentError(absl::StrCat(
          "override '", override, "': ", options_.source, " declares no variable '", name,
          "' (it declares: ", names.empty() ? "none" : absl::StrJoin(names, ", "), ")"));
    }
    it->second.value = value;
    it->second.overridden = true;
  }
  return absl::OkStatus();
}

absl::Status Parser::ReadModifier(const YAML::Node& node, int index) {
  const std::string tag = node.Tag();
  const RecipeLocation where = {index, Line(node)};
  if (!node.IsMap() || tag.empty() || tag[0] != '!' || tag == "!") {
    return ErrorAt(node, absl::StrCat("modifiers[", index,
                                      "]: expected a tagged map such as !GMPruningModifier {...}"));
  }
  const std::vector<std::string> pruning_keys = {"params", "exclude", "global"};
  const auto with = [&pruning_keys](std::vector<std::string> keys) {
    keys.insert(keys.begin(), pruning_keys.begin(), pruning_keys.end());
    return keys;
  };
  if (tag == kEpochRange) {
    RETURN_IF_ERROR(CheckKeys(node, tag, {"start_epoch", "end_epoch"}));
    EpochRangeModifier range{where};
    ASSIGN_OR_RETURN(range.start_epoch, EpochField(node, tag, "start_epoch", 0));
    ASSIGN_OR_RETURN(range.end_epoch, EpochField(node, tag, "end_epoch"));
    if (range.start_epoch < 0 || range.end_epoch <= range.start_epoch) {
      return ErrorAt(node, absl::StrFormat("%s: need 0 <= start_epoch < end_epoch, got %d and %d",
                                           tag, range.start_epoch, range.end_epoch));
    }
    if (++epoch_ranges_ > 1) return ErrorAt(node, absl::StrCat("a second ", tag, "; give one"));
    recipe_.epochs = range;
  } else if (tag == kLearningRate) {
    if (recipe_.learning_rate.has_value()) {
      return ErrorAt(node, absl::StrCat("a second ", tag, "; give one"));
    }
    LearningRateModifier lr{where};
    absl::StatusOr<YAML::Node> kind_node = Required(node, tag, "lr_schedule");
    if (!kind_node.ok()) return kind_node.status();
    std::string kind_name;
    ASSIGN_OR_RETURN(kind_name, String(*kind_node, absl::StrCat(tag, " lr_schedule")));
    absl::StatusOr<training::LrScheduleKind> kind = training::ParseLrScheduleKind(kind_name);
    if (!kind.ok()) return ErrorAt(*kind_node, absl::StrCat(tag, ": ", kind.status().message()));
    lr.options.kind = *kind;
    std::vector<std::string> keys = {"lr_schedule", "init_lr", "warmup_epochs"};
    switch (*kind) {
      case training::LrScheduleKind::kConstant:
        break;
      case training::LrScheduleKind::kMultiStep:
        keys.insert(keys.end(), {"milestones", "gamma"});
        break;
      case training::LrScheduleKind::kExponential:
        keys.insert(keys.end(), {"gamma", "start_epoch"});
        break;
      case training::LrScheduleKind::kCosine:
        keys.insert(keys.end(), {"min_lr", "total_epochs"});
        break;
    }
    RETURN_IF_ERROR(CheckKeys(node, absl::StrCat(tag, " (", kind_name, ")"), keys));
    ASSIGN_OR_RETURN(lr.options.base_learning_rate, NumberField(node, tag, "init_lr"));
    ASSIGN_OR_RETURN(lr.options.warmup_epochs, NumberField(node, tag, "warmup_epochs", 0.0));
    if (*kind == training::LrScheduleKind::kMultiStep) {
      absl::StatusOr<YAML::Node> milestones = Required(node, tag, "milestones");
      if (!milestones.ok()) return milestones.status();
      if (!milestones->IsSequence()) {
        return ErrorAt(*milestones, absl::StrCat(tag, " milestones: expected a list of epochs"));
      }
      for (const YAML::Node& item : *milestones) {
        int64_t epoch = 0;
        ASSIGN_OR_RETURN(epoch, Whole(item, absl::StrCat(tag, " milestones"), " of epochs"));
        lr.options.milestones.push_back(static_cast<int>(epoch));
      }
    }
    if (*kind == training::LrScheduleKind::kMultiStep ||
        *kind == training::LrScheduleKind::kExponential) {
      ASSIGN_OR_RETURN(lr.options.gamma, NumberField(node, tag, "gamma", 0.1));
    }
    if (*kind == training::LrScheduleKind::kExponential) {
      int64_t start = 0;
      ASSIGN_OR_RETURN(start, EpochField(node, tag, "start_epoch", 0));
      lr.options.start_epoch = static_cast<int>(start);
    }
    if (*kind == training::LrScheduleKind::kCosine) {
      ASSIGN_OR_RETURN(lr.options.min_learning_rate, NumberField(node, tag, "min_lr", 0.0));
      // total_epochs defaults to the range's end, known once all are read.
      const YAML::Node total = node["total_epochs"];
      total_epochs_given_ = total && !total.IsNull();
      if (total_epochs_given_) {
        ASSIGN_OR_RETURN(lr.options.total_epochs, NumberField(node, tag, "total_epochs"));
      }
    }
    recipe_.learning_rate = lr;
    learning_rate_node_ = node;
  } else if (tag == kGmp) {
    RETURN_IF_ERROR(CheckKeys(
        node, tag,
        with({"init_sparsity", "final_sparsity", "start_epoch", "end_epoch", "update_frequency"})));
    GmpModifier gmp{where};
    ASSIGN_OR_RETURN(gmp.params, ReadParams(node, tag));
    ASSIGN_OR_RETURN(gmp.global, BoolField(node, tag, "global", false));
    ASSIGN_OR_RETURN(gmp.schedule.initial_sparsity, NumberField(node, tag, "init_sparsity"));
    ASSIGN_OR_RETURN(gmp.schedule.final_sparsity, NumberField(node, tag, "final_sparsity"));
    ASSIGN_OR_RETURN(gmp.schedule.begin_step, EpochField(node, tag, "start_epoch"));
    ASSIGN_OR_RETURN(gmp.schedule.end_step, EpochField(node, tag, "end_epoch"));
    ASSIGN_OR_RETURN(gmp.schedule.frequency, EpochField(node, tag, "update_frequency", 1));
    if (absl::Status s = CubicSchedule::Create(gmp.schedule).status(); !s.ok()) {
      return ErrorAt(node, absl::StrCat(tag, ": ", s.message()));
    }
    RETURN_IF_ERROR(ClaimLayers(gmp.params, tag, where.line));
    recipe_.gmp.push_back(std::move(gmp));
  } else if (tag == kConstant) {
    RETURN_IF_ERROR(CheckKeys(node, tag, with({"sparsity", "start_epoch"})));
    ConstantPruningModifier constant{where};
    ASSIGN_OR_RETURN(constant.params, ReadParams(node, tag));
    ASSIGN_OR_RETURN(constant.global, BoolField(node, tag, "global", false));
    ASSIGN_OR_RETURN(constant.schedule.sparsity, NumberField(node, tag, "sparsity"));
    ASSIGN_OR_RETURN(constant.schedule.begin_step, EpochField(node, tag, "start_epoch", 0));
    if (absl::Status s = ConstantSchedule::Create(constant.schedule).status(); !s.ok()) {
      return ErrorAt(node, absl::StrCat(tag, ": ", s.message()));
    }
    RETURN_IF_ERROR(ClaimLayers(constant.params, tag, where.line));
    recipe_.constant.push_back(std::move(constant));
  } else if (tag == kAcDc) {
    RETURN_IF_ERROR(CheckKeys(
        node, tag,
        with({"compression_sparsity", "start_epoch", "phase_epochs", "fine_tune_epoch"})));
    AcDcModifier acdc{where};
    ASSIGN_OR_RETURN(acdc.params, ReadParams(node, tag));
    ASSIGN_OR_RETURN(acdc.global, BoolField(node, tag, "global", true));
    ASSIGN_OR_RETURN(acdc.schedule.sparsity, NumberField(node, tag, "compression_sparsity"));
    ASSIGN_OR_RETURN(acdc.schedule.begin_step, EpochField(node, tag, "start_epoch"));
    ASSIGN_OR_RETURN(acdc.schedule.phase_steps, EpochField(node, tag, "phase_epochs"));
    ASSIGN_OR_RETURN(acdc.schedule.fine_tune_step, EpochField(node, tag, "fine_tune_epoch"));
    if (absl::Status s = AcDcSchedule::Create(acdc.schedule).status(); !s.ok()) {
      return ErrorAt(node, absl::StrCat(tag, ": ", s.message()));
    }
    RETURN_IF_ERROR(ClaimLayers(acdc.params, tag, where.line));
    recipe_.acdc.push_back(std::move(acdc));
  } else if (tag == kFilter) {
    RETURN_IF_ERROR(CheckKeys(node, tag, {"params", "exclude", "sparsity", "epoch", "thinning"}));
    FilterPruningModifier filter{where};
    ASSIGN_OR_RETURN(filter.params, ReadParams(node, tag));
    ASSIGN_OR_RETURN(filter.sparsity, NumberField(node, tag, "sparsity"));
    ASSIGN_OR_RETURN(filter.epoch, EpochField(node, tag, "epoch", 0));
    ASSIGN_OR_RETURN(filter.thinning, BoolField(node, tag, "thinning", true));
    if (absl::Status s = CheckFilterFraction(filter.sparsity); !s.ok()) {
      return ErrorAt(node, absl::StrCat(tag, " sparsity: ", s.message()));
    }
    if (filter.epoch < 0) {
      return ErrorAt(node, absl::StrCat(tag, " epoch must be >= 0, got ", filter.epoch));
    }
    RETURN_IF_ERROR(CheckFilterLayers(filter));
    RETURN_IF_ERROR(ClaimLayers(filter.params, tag, where.line));
    recipe_.filters.push_back(std::move(filter));
  } else if (tag == kQuantization) {
    if (recipe_.quantization.has_value()) {
      return ErrorAt(node, absl::StrCat("a second ", tag, "; give one"));
    }
    RETURN_IF_ERROR(CheckKeys(node, tag, {"start_epoch", "bits"}));
    QuantizationModifier quantization{where};
    ASSIGN_OR_RETURN(quantization.start_epoch, EpochField(node, tag, "start_epoch"));
    int64_t bits = 8;
    const YAML::Node bits_node = node["bits"];
    if (bits_node && !bits_node.IsNull()) {
      ASSIGN_OR_RETURN(bits, Whole(bits_node, absl::StrCat(tag, " bits"), ""));
    }
    if (bits < 2 || bits > 8) {
      return ErrorAt(node, absl::StrCat(tag, ": bits must be in [2, 8], got ", bits));
    }
    quantization.bits = static_cast<int>(bits);
    if (quantization.start_epoch < 0) {
      return ErrorAt(
          node, absl::StrCat(tag, " start_epoch must be >= 0, got ", quantization.start_epoch));
    }
    recipe_.quantization = quantization;
  } else if (tag == kLowRank) {
    RETURN_IF_ERROR(CheckKeys(node, tag, {"params", "exclude", "rank", "start_epoch"}));
    LowRankModifier low_rank{where};
    ASSIGN_OR_RETURN(low_rank.params, ReadParams(node, tag));
    ASSIGN_OR_RETURN(const YAML::Node rank, Required(node, tag, "rank"));
    ASSIGN_OR_RETURN(low_rank.rank, String(rank, absl::StrCat(tag, " rank")));
    ASSIGN_OR_RETURN(low_rank.start_epoch, EpochField(node, tag, "start_epoch", 0));
    if (low_rank.start_epoch < 0) {
      return ErrorAt(node,
                     absl::StrCat(tag, " start_epoch must be >= 0, got ", low_rank.start_epoch));
    }
    recipe_.low_rank.push_back(std::move(low_rank));
  } else {
    return ErrorAt(node, absl::StrCat("unknown modifier ", tag, " (known: ",
                                      absl::StrJoin({kEpochRange, kLearningRate, kGmp, kConstant,
                                                     kAcDc, kFilter, kQuantization, kLowRank},
                                                    ", "),
                                      ")"));
  }
  return absl::OkStatus();
}

absl::Status Parser::CheckEpoch(int line, absl::string_view tag, absl::string_view key,
                                int64_t epoch) const {
  const EpochRangeModifier& range = recipe_.epochs;
  if (epoch < range.start_epoch || epoch >= range.end_epoch) {
    return ErrorAt(
        line,
        absl::StrFormat("%s %s %d is outside the epochs trained, %d to %d "
                        "(!EpochRangeModifier at line %d; its end_epoch is exclusive)",
                        tag, key, epoch, range.start_epoch, range.end_epoch - 1, range.where.line));
  }
  return absl::OkStatus();
}

absl::Status Parser::Finish(const YAML::Node& root) {
  if (epoch_ranges_ == 0) {
    return ErrorAt(root,
                   absl::StrCat("the recipe needs one ", kEpochRange, " {start_epoch, end_epoch}"));
  }
  if (recipe_.learning_rate.has_value()) {
    LearningRateModifier& lr = *recipe_.learning_rate;
    if (lr.options.kind == training::LrScheduleKind::kCosine && !total_epochs_given_) {
      lr.options.total_epochs = static_cast<double>(recipe_.epochs.end_epoch);
    }
    if (absl::Status s = training::LrSchedule::Create(lr.options).status(); !s.ok()) {
      return ErrorAt(*learning_rate_node_, absl::StrCat(kLearningRate, ": ", s.message()));
    }
  }
  std::vector<absl::Status> checks;
  for (const GmpModifier& m : recipe_.gmp) {
    checks.push_back(CheckEpoch(m.where.line, kGmp, "start_epoch", m.schedule.begin_step));
    checks.push_back(CheckEpoch(m.where.line, kGmp, "end_epoch", m.schedule.end_step));
  }
  for (const ConstantPruningModifier& m : recipe_.constant) {
    checks.push_back(CheckEpoch(m.where.line, kConstant, "start_epoch", m.schedule.begin_step));
  }
  for (const AcDcModifier& m : recipe_.acdc) {
    checks.push_back(CheckEpoch(m.where.line, kAcDc, "start_epoch", m.schedule.begin_step));
    checks.push_back(CheckEpoch(m.where.line, kAcDc, "fine_tune_epoch", m.schedule.fine_tune_step));
  }
  for (const FilterPruningModifier& m : recipe_.filters) {
    checks.push_back(CheckEpoch(m.where.line, kFilter, "epoch", m.epoch));
  }
  if (recipe_.quantization.has_value()) {
    checks.push_back(CheckEpoch(recipe_.quantization->where.line, kQuantization, "start_epoch",
                                recipe_.quantization->start_epoch));
  }
  for (const LowRankModifier& m : recipe_.low_rank) {
    checks.push_back(CheckEpoch(m.where.line, kLowRank, "start_epoch", m.start_epoch));
  }
  for (const absl::Status& status : checks) {
    if (!status.ok()) return status;
  }
  for (const std::string& name : variable_order_) {
    const Variable& variable = variables_.at(name);
    if (!variable.used) {
      return ErrorAt(variable.line, absl::StrCat("variable '", name,
                                                 "' is never used (a misspelt key?); use it as $",
                                                 name, " or remove it"));
    }
    recipe_.variables.push_back({name, variable.value, variable.overridden});
  }
  return absl::OkStatus();
}

absl::StatusOr<Recipe> Parser::Parse(absl::string_view yaml) {
  recipe_.source = options_.source;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(options_.source, ":", e.mark.line + 1, ":",
                                                   e.mark.column + 1, ": YAML: ", e.msg));
  }
  if (!root.IsMap()) return ErrorAt(1, "a recipe is a YAML map with version and modifiers");
  ASSIGN_OR_RETURN(const YAML::Node modifiers, ReadTopLevel(root));
  RETURN_IF_ERROR(ApplyOverrides());
  int index = 0;
  for (const YAML::Node& modifier : modifiers) {
    RETURN_IF_ERROR(ReadModifier(modifier, index++));
  }
  RETURN_IF_ERROR(Finish(root));
  return std::move(recipe_);
}

// Writers for RecipeToYaml: one "key: value" line at the modifier's indent.
void WriteField(std::string& out, absl::string_view key, absl::string_view value) {
  absl::StrAppend(&out, "    ", key, ": ", value, "\n");
}

std::string QuotedList(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const std::string& item : items) quoted.push_back(Quote(item));
  return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
}

void WriteParams(std::string& out, const ParamSelection& params) {
  WriteField(out, "params",
             params.all_prunable ? std::string(kAllPrunable) : QuotedList(params.patterns));
  if (!params.exclude.empty()) WriteField(out, "exclude", QuotedList(params.exclude));
  if (!params.layers.empty()) {
    absl::StrAppend(&out, "    # selects ", params.layers.size(), ": ",
                    absl::StrJoin(params.layers, ", "), "\n");
  }
}

}  // namespace

std::vector<std::string> PrunableLayers(const training::LayerGraph& graph) {
  std::vector<std::string> names;
  for (const training::Layer& layer : graph.layers()) {
    if (layer.op == training::LayerOp::kConv2d || layer.op == training::LayerOp::kLinear) {
      names.push_back(layer.name);
    }
  }
  return names;
}

absl::StatusOr<Recipe> ParseRecipe(absl::string_view yaml, const RecipeLoadOptions& options) {
  return Parser(options).Parse(yaml);
}

std::string RecipeToYaml(const Recipe& recipe) {
  std::vector<std::pair<int, std::string>> blocks;
  const auto bool_text = [](bool value) { return value ? "true" : "false"; };
  {
    const EpochRangeModifier& m = recipe.epochs;
    std::string b = absl::StrCat("  - ", kEpochRange, "\n");
    WriteField(b, "start_epoch", absl::StrCat(m.start_epoch));
    WriteField(b, "end_epoch", absl::StrCat(m.end_epoch));
    blocks.emplace_back(m.where.index, b);
  }
  if (recipe.learning_rate.has_value()) {
    const LearningRateModifier& m = *recipe.learning_rate;
    const training::LrScheduleOptions& o = m.options;
    std::string b = absl::StrCat("  - ", kLearningRate, "\n");
    WriteField(b, "lr_schedule", training::LrScheduleKindName(o.kind));
    WriteField(b, "init_lr", FormatNumber(o.base_learning_rate));
    WriteField(b, "warmup_epochs", FormatNumber(o.warmup_epochs));
    switch (o.kind) {
      case training::LrScheduleKind::kConstant:
        break;
      case training::LrScheduleKind::kMultiStep:
        WriteField(b, "milestones", absl::StrCat("[", absl::StrJoin(o.milestones, ", "), "]"));
        WriteField(b, "gamma", FormatNumber(o.gamma));
        break;
      case training::LrScheduleKind::kExponential:
        WriteField(b, "gamma", FormatNumber(o.gamma));
        WriteField(b, "start_epoch", absl::StrCat(o.start_epoch));
        break;
      case training::LrScheduleKind::kCosine:
        WriteField(b, "min_lr", FormatNumber(o.min_learning_rate));
        WriteField(b, "total_epochs", FormatNumber(o.total_epochs));
        break;
    }
    blocks.emplace_back(m.where.index, b);
  }
  for (const GmpModifier& m : recipe.gmp) {
    std::string b = absl::StrCat("  - ", kGmp, "\n");
    WriteParams(b, m.params);
    WriteField(b, "global", bool_text(m.global));
    WriteField(b, "init_sparsity", FormatNumber(m.schedule.initial_sparsity));
    WriteField(b, "final_sparsity", FormatNumber(m.schedule.final_sparsity));
    WriteField(b, "start_epoch", absl::StrCat(m.schedule.begin_step));
    WriteField(b, "end_epoch", absl::StrCat(m.schedule.end_step));
    WriteField(b, "update_frequency", absl::StrCat(m.schedule.frequency));
    blocks.emplace_back(m.where.index, b);
  }
  for (const ConstantPruningModifier& m : recipe.constant) {
    std::string b = absl::StrCat("  - ", kConstant, "\n");
    WriteParams(b, m.params);
    WriteField(b, "global", bool_text(m.global));
    WriteField(b, "sparsity", FormatNumber(m.schedule.sparsity));
    WriteField(b, "start_epoch", absl::StrCat(m.schedule.begin_step));
    blocks.emplace_back(m.where.index, b);
  }
  for (const AcDcModifier& m : recipe.acdc) {
    std::string b = absl::StrCat("  - ", kAcDc, "\n");
    WriteParams(b, m.params);
    WriteField(b, "global", bool_text(m.global));
    WriteField(b, "compression_sparsity", FormatNumber(m.schedule.sparsity));
    WriteField(b, "start_epoch", absl::StrCat(m.schedule.begin_step));
    WriteField(b, "phase_epochs", absl::StrCat(m.schedule.phase_steps));
    WriteField(b, "fine_tune_epoch", absl::StrCat(m.schedule.fine_tune_step));
    blocks.emplace_back(m.where.index, b);
  }
  for (const FilterPruningModifier& m : recipe.filters) {
    std::string b = absl::StrCat("  - ", kFilter, "\n");
    WriteParams(b, m.params);
    WriteField(b, "sparsity", FormatNumber(m.sparsity));
    WriteField(b, "epoch", absl::StrCat(m.epoch));
    WriteField(b, "thinning", bool_text(m.thinning));
    blocks.emplace_back(m.where.index, b);
  }
  if (recipe.quantization.has_value()) {
    std::string b = absl::StrCat("  - ", kQuantization, "\n");
    WriteField(b, "start_epoch", absl::StrCat(recipe.quantization->start_epoch));
    WriteField(b, "bits", absl::StrCat(recipe.quantization->bits));
    blocks.emplace_back(recipe.quantization->where.index, b);
  }
  for (const LowRankModifier& m : recipe.low_rank) {
    std::string b = absl::StrCat("  - ", kLowRank, "\n");
    WriteParams(b, m.params);
    WriteField(b, "rank", absl::StrCat("'", m.rank, "'"));
    WriteField(b, "start_epoch", absl::StrCat(m.start_epoch));
    blocks.emplace_back(m.where.index, b);
  }
  std::stable_sort(blocks.begin(), blocks.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string out = absl::StrCat("# Effective recipe from ", recipe.source, ".\n");
  if (!recipe.variables.empty()) {
    std::vector<std::string> variables;
    for (const RecipeVariable& v : recipe.variables) {
      variables.push_back(
          absl::StrCat(v.name, " = ", v.value, v.overridden ? " (overridden)" : ""));
    }
    absl::StrAppend(&out, "# Variables: ", absl::StrJoin(variables, ", "), ".\n");
  }
  absl::StrAppend(&out, "version: ", recipe.version, "\nmodifiers:\n");
  for (const auto& [index, block] : blocks) out += block;
  return out;
}

}  // namespace edgecompress::pruning
