#include "sweep/config.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tools/status/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace edgecompress::sweep {
namespace {

// Reads one sweep file; all state for one ParseSweepConfig call.
class Parser {
 public:
  explicit Parser(absl::string_view source) : source_(source) {}

  absl::StatusOr<SweepConfig> Parse(absl::string_view yaml);

 private:
  static int Line(const YAML::Node& node) { return node.Mark().line + 1; }
  absl::Status ErrorAt(int line, absl::string_view message) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ":", line, ": ", message));
  }
  absl::Status ErrorAt(const YAML::Node& node, absl::string_view message) const {
    return ErrorAt(Line(node), message);
  }

  absl::Status CheckKeys(const YAML::Node& map, absl::string_view what,
                         const std::set<std::string>& allowed) const;
  absl::StatusOr<std::string> Scalar(const YAML::Node& node, absl::string_view what) const;
  absl::StatusOr<double> Number(const YAML::Node& node, absl::string_view what) const;
  absl::StatusOr<int64_t> Whole(const YAML::Node& node, absl::string_view what) const;
  absl::StatusOr<std::vector<MetricSpec>> ReadMetrics(const YAML::Node& node) const;
  absl::StatusOr<MetricSpec> ReadMetric(const YAML::Node& node) const;
  absl::StatusOr<ParameterSpec> ReadParameter(const std::string& name, const YAML::Node& key,
                                              const YAML::Node& node) const;
  absl::StatusOr<HyperbandSpec> ReadHyperband(const YAML::Node& node) const;

  std::string source_;
};

absl::Status Parser::CheckKeys(const YAML::Node& map, absl::string_view what,
                               const std::set<std::string>& allowed) const {
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>();
    if (allowed.count(key) == 0) {
      return ErrorAt(entry.first, absl::StrCat("unknown key '", key, "' in ", what,
                                               "; expected one of ", absl::StrJoin(allowed, ", ")));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Parser::Scalar(const YAML::Node& node, absl::string_view what) const {
  if (!node.IsScalar()) return ErrorAt(node, absl::StrCat(what, " must be a single value"));
  return node.Scalar();
}

absl::StatusOr<double> Parser::Number(const YAML::Node& node, absl::string_view what) const {
  ASSIGN_OR_RETURN(const std::string text, Scalar(node, what));
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !std::isfinite(value)) {
    return ErrorAt(node, absl::StrCat(what, " is '", text, "', not a finite number"));
  }
  return value;
}

absl::StatusOr<int64_t> Parser::Whole(const YAML::Node& node, absl::string_view what) const {
  ASSIGN_OR_RETURN(const std::string text, Scalar(node, what));
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) {
    return ErrorAt(node, absl::StrCat(what, " is '", text, "', not a whole number"));
  }
  return value;
}

absl::StatusOr<MetricSpec> Parser::ReadMetric(const YAML::Node& node) const {
  if (!node.IsMap()) return ErrorAt(node, "a metric must be a map with 'name' and 'goal'");
  // W&B's `target` (stop the sweep once reached) is not implemented; rejecting
  // it says so instead of silently ignoring it.
  RETURN_IF_ERROR(CheckKeys(node, "metric", {"name", "goal"}));
  MetricSpec metric;
  if (!node["name"]) return ErrorAt(node, "metric has no 'name'");
  ASSIGN_OR_RETURN(metric.name, Scalar(node["name"], "metric name"));
  if (metric.name.empty()) return ErrorAt(node["name"], "metric name is empty");
  // W&B's default goal is minimize.
  metric.goal = Goal::kMinimize;
  if (node["goal"]) {
    ASSIGN_OR_RETURN(const std::string goal, Scalar(node["goal"], "metric goal"));
    if (goal == "maximize") {
      metric.goal = Goal::kMaximize;
    } else if (goal != "minimize") {
      return ErrorAt(node["goal"],
                     absl::StrCat("metric goal is '", goal, "'; expected maximize or minimize"));
    }
  }
  return metric;
}

absl::StatusOr<std::vector<MetricSpec>> Parser::ReadMetrics(const YAML::Node& node) const {
  std::vector<MetricSpec> metrics;
  if (node.IsSequence()) {
    if (node.size() == 0) return ErrorAt(node, "metric list is empty");
    for (const YAML::Node& item : node) {
      ASSIGN_OR_RETURN(MetricSpec metric, ReadMetric(item));
      for (const MetricSpec& earlier : metrics) {
        if (earlier.name == metric.name) {
          return ErrorAt(item, absl::StrCat("metric '", metric.name, "' is listed twice"));
        }
      }
      metrics.push_back(std::move(metric));
    }
  } else {
    ASSIGN_OR_RETURN(MetricSpec metric, ReadMetric(node));
    metrics.push_back(std::move(metric));
  }
  return metrics;
}

absl::StatusOr<ParameterSpec> Parser::ReadParameter(const std::string& name, const YAML::Node& key,
                                                    const YAML::Node& node) const {
  ParameterSpec spec;
  spec.name = name;
  spec.line = Line(key);
  const std::string what = absl::StrCat("parameter '", name, "'");
  if (!node.IsMap()) {
    return ErrorAt(key, absl::StrCat(what, " must be a map (values, value, min/max, distribution)"));
  }
  if (node["parameters"]) {
    return ErrorAt(node["parameters"], absl::StrCat(what, ": nested parameters are not supported"));
  }
  RETURN_IF_ERROR(CheckKeys(
      node, what,
      {"values", "value", "min", "max", "distribution", "q", "mu", "sigma", "probabilities"}));

  // The distribution W&B infers when none is given: value -> constant,
  // values -> categorical, min/max -> int_uniform if both are integers,
  // else uniform.
  std::string distribution;
  if (node["distribution"]) {
    ASSIGN_OR_RETURN(distribution, Scalar(node["distribution"], absl::StrCat(what, " distribution")));
  } else if (node["value"]) {
    distribution = "constant";
  } else if (node["values"]) {
    distribution = "categorical";
  } else if (node["min"] && node["max"]) {
    int64_t unused = 0;
    const bool ints = node["min"].IsScalar() && node["max"].IsScalar() &&
                      absl::SimpleAtoi(node["min"].Scalar(), &unused) &&
                      absl::SimpleAtoi(node["max"].Scalar(), &unused);
    distribution = ints ? "int_uniform" : "uniform";
  } else if (node["mu"] || node["sigma"]) {
    distribution = "normal";
  } else {
    return ErrorAt(key, absl::StrCat(what, " has none of values, value, min/max, distribution"));
  }

  auto require = [&](const char* field) -> absl::StatusOr<YAML::Node> {
    if (!node[field]) {
      return ErrorAt(key, absl::StrCat(what, ": distribution ", distribution, " needs '", field, "'"));
    }
    return node[field];
  };
  auto read_range = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(const YAML::Node min, require("min"));
    ASSIGN_OR_RETURN(const YAML::Node max, require("max"));
    ASSIGN_OR_RETURN(spec.min, Number(min, absl::StrCat(what, " min")));
    ASSIGN_OR_RETURN(spec.max, Number(max, absl::StrCat(what, " max")));
    if (!(spec.min < spec.max)) {
      return ErrorAt(min, absl::StrCat(what, " has an empty range: min ", spec.min,
                                       " is not below max ", spec.max));
    }
    return absl::OkStatus();
  };

  if (distribution == "constant") {
    spec.distribution = Distribution::kConstant;
    ASSIGN_OR_RETURN(const YAML::Node value, require("value"));
    ASSIGN_OR_RETURN(std::string text, Scalar(value, absl::StrCat(what, " value")));
    spec.values.push_back(std::move(text));
  } else if (distribution == "categorical") {
    spec.distribution = Distribution::kCategorical;
    ASSIGN_OR_RETURN(const YAML::Node values, require("values"));
    if (!values.IsSequence()) return ErrorAt(values, absl::StrCat(what, " values must be a list"));
    if (values.size() == 0) return ErrorAt(values, absl::StrCat(what, " has an empty values list"));
    for (const YAML::Node& value : values) {
      ASSIGN_OR_RETURN(std::string text, Scalar(value, absl::StrCat(what, " value")));
      if (std::find(spec.values.begin(), spec.values.end(), text) != spec.values.end()) {
        return ErrorAt(value, absl::StrCat(what, " lists '", text, "' twice"));
      }
      spec.values.push_back(std::move(text));
    }
    if (node["probabilities"]) {
      const YAML::Node probabilities = node["probabilities"];
      if (!probabilities.IsSequence() || probabilities.size() != values.size()) {
        return ErrorAt(probabilities, absl::StrCat(what, " needs one probability per value"));
      }
      double sum = 0;
      for (const YAML::Node& p : probabilities) {
        ASSIGN_OR_RETURN(const double probability, Number(p, absl::StrCat(what, " probability")));
        if (probability < 0) return ErrorAt(p, absl::StrCat(what, " has a negative probability"));
        spec.probabilities.push_back(probability);
        sum += probability;
      }
      if (std::abs(sum - 1.0) > 1e-6) {
        return ErrorAt(probabilities, absl::StrCat(what, " probabilities sum to ", sum, ", not 1"));
      }
    }
  } else if (distribution == "uniform") {
    spec.distribution = Distribution::kUniform;
    RETURN_IF_ERROR(read_range());
  } else if (distribution == "int_uniform") {
    spec.distribution = Distribution::kIntUniform;
    RETURN_IF_ERROR(read_range());
    if (spec.min != std::floor(spec.min) || spec.max != std::floor(spec.max)) {
      return ErrorAt(key, absl::StrCat(what, ": int_uniform needs integer min and max"));
    }
  } else if (distribution == "q_uniform") {
    spec.distribution = Distribution::kQUniform;
    RETURN_IF_ERROR(read_range());
    ASSIGN_OR_RETURN(const YAML::Node q, require("q"));
    ASSIGN_OR_RETURN(spec.q, Number(q, absl::StrCat(what, " q")));
    if (!(spec.q > 0) || spec.q > spec.max - spec.min) {
      return ErrorAt(q, absl::StrCat(what, " q is ", spec.q, "; must be in (0, max - min]"));
    }
  } else if (distribution == "log_uniform_values") {
    spec.distribution = Distribution::kLogUniformValues;
    RETURN_IF_ERROR(read_range());
    if (!(spec.min > 0)) {
      return ErrorAt(node["min"], absl::StrCat(what, ": log_uniform_values needs min > 0, got ",
                                               spec.min));
    }
  } else if (distribution == "normal") {
    spec.distribution = Distribution::kNormal;
    if (node["mu"]) {
    ASSIGN_OR_RETURN(spec.mu, Number(node["mu"], absl::StrCat(what, " mu")));
  }
    if (node["sigma"]) {
      ASSIGN_OR_RETURN(spec.sigma, Number(node["sigma"], absl::StrCat(what, " sigma")));
    }
    if (!(spec.sigma > 0)) {
      return ErrorAt(key, absl::StrCat(what, " sigma is ", spec.sigma, "; must be > 0"));
    }
  } else {
    return ErrorAt(node["distribution"] ? node["distribution"] : key,
                   absl::StrCat(what, " has distribution '", distribution,
                                "'; expected constant, categorical, uniform, int_uniform, "
                                "q_uniform, log_uniform_values or normal"));
  }
  // Keys that belong to another distribution are a mistake worth naming
  // (e.g. `values` next to `min`/`max`: which one did the author mean?).
  std::set<std::string> used = {"distribution"};
  switch (spec.distribution) {
    case Distribution::kConstant: used.insert("value"); break;
    case Distribution::kCategorical: used.insert({"values", "probabilities"}); break;
    case Distribution::kQUniform: used.insert("q"); [[fallthrough]];
    case Distribution::kUniform:
    case Distribution::kIntUniform:
    case Distribution::kLogUniformValues: used.insert({"min", "max"}); break;
    case Distribution::kNormal: used.insert({"mu", "sigma"}); break;
  }
  for (const auto& entry : node) {
    const std::string field = entry.first.as<std::string>();
    if (used.count(field) == 0) {
      return ErrorAt(entry.first, absl::StrCat(what, ": '", field, "' does not apply to distribution ",
                                               DistributionName(spec.distribution)));
    }
  }
  return spec;
}

absl::StatusOr<HyperbandSpec> Parser::ReadHyperband(const YAML::Node& node) const {
  if (!node.IsMap()) return ErrorAt(node, "early_terminate must be a map");
  RETURN_IF_ERROR(CheckKeys(node, "early_terminate", {"type", "min_iter", "max_iter", "eta", "s"}));
  if (!node["type"]) return ErrorAt(node, "early_terminate has no 'type'");
  ASSIGN_OR_RETURN(const std::string type, Scalar(node["type"], "early_terminate type"));
  if (type != "hyperband") {
    return ErrorAt(node["type"], absl::StrCat("early_terminate type is '", type,
                                              "'; only hyperband is implemented"));
  }
  HyperbandSpec spec;
  if (node["eta"]) {
    ASSIGN_OR_RETURN(spec.eta, Number(node["eta"], "early_terminate eta"));
  }
  if (!(spec.eta > 1)) return ErrorAt(node["eta"], "early_terminate eta must be > 1");
  if (node["min_iter"]) {
    ASSIGN_OR_RETURN(spec.min_iter, Whole(node["min_iter"], "early_terminate min_iter"));
    if (spec.min_iter < 1) return ErrorAt(node["min_iter"], "early_terminate min_iter must be >= 1");
  } else if (node["max_iter"]) {
    ASSIGN_OR_RETURN(spec.max_iter, Whole(node["max_iter"], "early_terminate max_iter"));
    if (!node["s"]) return ErrorAt(node, "early_terminate with max_iter needs 's' (number of bands)");
    ASSIGN_OR_RETURN(spec.s, Whole(node["s"], "early_terminate s"));
    if (spec.s < 1 || spec.max_iter / spec.eta < 1) {
      return ErrorAt(node, "early_terminate gives no band: need s >= 1 and max_iter >= eta");
    }
  } else {
    return ErrorAt(node, "early_terminate needs min_iter, or max_iter and s");
  }
  return spec;
}

absl::StatusOr<SweepConfig> Parser::Parse(absl::string_view yaml) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::ParserException& e) {
    return ErrorAt(e.mark.line + 1, absl::StrCat("malformed YAML: ", e.msg));
  }
  if (!root.IsMap()) return ErrorAt(root.IsNull() ? 1 : Line(root), "a sweep must be a YAML map");
  RETURN_IF_ERROR(CheckKeys(root, "the sweep",
                            {"program", "command", "method", "metric", "parameters",
                             "early_terminate", "run_cap", "name", "description", "project",
                             "entity"}));
  SweepConfig config;
  if (!root["method"]) return ErrorAt(1, "the sweep has no 'method' (grid, random or bayes)");
  ASSIGN_OR_RETURN(const std::string method, Scalar(root["method"], "method"));
  if (method == "grid") {
    config.method = SearchMethod::kGrid;
  } else if (method == "random") {
    config.method = SearchMethod::kRandom;
  } else if (method == "bayes") {
    config.method = SearchMethod::kBayes;
  } else {
    return ErrorAt(root["method"],
                   absl::StrCat("method is '", method, "'; expected grid, random or bayes"));
  }
  if (root["program"]) {
    ASSIGN_OR_RETURN(config.program, Scalar(root["program"], "program"));
  }
  if (root["command"]) {
    const YAML::Node command = root["command"];
    if (!command.IsSequence() || command.size() == 0) {
      return ErrorAt(command, "command must be a non-empty list of words");
    }
    for (const YAML::Node& word : command) {
      ASSIGN_OR_RETURN(std::string text, Scalar(word, "a command word"));
      config.command.push_back(std::move(text));
    }
  } else {
    config.command = {"${program}", "${args}", "--out=${out}"};
  }
  const bool uses_program =
      std::find(config.command.begin(), config.command.end(), "${program}") != config.command.end();
  if (uses_program && config.program.empty()) {
    return ErrorAt(1, "the sweep has no 'program' but its command uses ${program}");
  }
  if (root["metric"]) {
    ASSIGN_OR_RETURN(config.metrics, ReadMetrics(root["metric"]));
  }
  if (config.metrics.empty() && config.method != SearchMethod::kGrid) {
    return ErrorAt(root["method"], absl::StrCat("method ", method, " needs a 'metric'"));
  }

  if (!root["parameters"]) return ErrorAt(1, "the sweep has no 'parameters'");
  const YAML::Node parameters = root["parameters"];
  if (!parameters.IsMap() || parameters.size() == 0) {
    return ErrorAt(parameters, "parameters must be a non-empty map of name: spec");
  }
  for (const auto& entry : parameters) {
    const std::string name = entry.first.as<std::string>();
    for (const ParameterSpec& earlier : config.parameters) {
      if (earlier.name == name) {
        return ErrorAt(entry.first, absl::StrCat("parameter '", name, "' is defined twice (first on line ",
                                                 earlier.line, ")"));
      }
    }
    ASSIGN_OR_RETURN(ParameterSpec spec, ReadParameter(name, entry.first, entry.second));
    if (config.method == SearchMethod::kGrid &&
        (spec.distribution == Distribution::kUniform ||
         spec.distribution == Distribution::kLogUniformValues ||
         spec.distribution == Distribution::kNormal)) {
      return ErrorAt(entry.first, absl::StrCat("grid cannot enumerate parameter '", name,
                                               "' with continuous distribution ",
                                               DistributionName(spec.distribution),
                                               "; give values, or int_uniform/q_uniform"));
    }
    config.parameters.push_back(std::move(spec));
  }

  if (root["early_terminate"]) {
    ASSIGN_OR_RETURN(config.early_terminate, ReadHyperband(root["early_terminate"]));
    if (config.metrics.empty()) return ErrorAt(root["early_terminate"], "hyperband needs a metric");
  }
  if (root["run_cap"]) {
    ASSIGN_OR_RETURN(config.run_cap, Whole(root["run_cap"], "run_cap"));
    if (config.run_cap < 1) return ErrorAt(root["run_cap"], "run_cap must be at least 1");
  }
  return config;
}

}  // namespace

absl::StatusOr<SweepConfig> ParseSweepConfig(absl::string_view yaml, absl::string_view source) {
  return Parser(source).Parse(yaml);
}

absl::string_view SearchMethodName(SearchMethod method) {
  switch (method) {
    case SearchMethod::kGrid: return "grid";
    case SearchMethod::kRandom: return "random";
    case SearchMethod::kBayes: return "bayes";
  }
  return "?";
}

absl::string_view DistributionName(Distribution distribution) {
  switch (distribution) {
    case Distribution::kConstant: return "constant";
    case Distribution::kCategorical: return "categorical";
    case Distribution::kUniform: return "uniform";
    case Distribution::kIntUniform: return "int_uniform";
    case Distribution::kQUniform: return "q_uniform";
    case Distribution::kLogUniformValues: return "log_uniform_values";
    case Distribution::kNormal: return "normal";
  }
  return "?";
}

}  // namespace edgecompress::sweep
