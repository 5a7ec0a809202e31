#include "sweep/search_space.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::sweep {

std::optional<std::string> ValueOf(const Assignment& assignment, const std::string& name) {
  for (const auto& [key, value] : assignment) {
    if (key == name) return value;
  }
  return std::nullopt;
}

std::string FormatNumber(double value) {
  if (value == std::floor(value) && std::abs(value) < 9007199254740992.0) {
    return absl::StrFormat("%d", static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.6g", value);
}

absl::StatusOr<std::vector<std::string>> DiscreteValues(const ParameterSpec& spec) {
  std::vector<std::string> values;
  switch (spec.distribution) {
    case Distribution::kConstant:
    case Distribution::kCategorical:
      return spec.values;
    case Distribution::kIntUniform:
      for (double v = spec.min; v <= spec.max; v += 1) values.push_back(FormatNumber(v));
      return values;
    case Distribution::kQUniform: {
      // Multiples counted, not accumulated, so 0.1 steps do not drift.
      const int64_t steps = static_cast<int64_t>(std::floor((spec.max - spec.min) / spec.q + 1e-9));
      for (int64_t i = 0; i <= steps; ++i) values.push_back(FormatNumber(spec.min + i * spec.q));
      return values;
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", spec.name, "' (line ", spec.line, ") has continuous distribution ",
                       DistributionName(spec.distribution), " and no finite set of values"));
  }
}

absl::StatusOr<int64_t> GridSize(absl::Span<const ParameterSpec> parameters, int64_t limit) {
  int64_t size = 1;
  for (const ParameterSpec& spec : parameters) {
    absl::StatusOr<std::vector<std::string>> values = DiscreteValues(spec);
    if (!values.ok()) return values.status();
    size *= static_cast<int64_t>(values->size());
    if (size > limit) {
      return absl::InvalidArgumentError(absl::StrCat("the grid has more than ", limit, " points"));
    }
  }
  return size;
}

Assignment GridPoint(absl::Span<const ParameterSpec> parameters, int64_t index) {
  Assignment point(parameters.size());
  for (int i = static_cast<int>(parameters.size()) - 1; i >= 0; --i) {
    const std::vector<std::string> values = *DiscreteValues(parameters[i]);
    const int64_t n = static_cast<int64_t>(values.size());
    point[i] = {parameters[i].name, values[index % n]};
    index /= n;
  }
  return point;
}

absl::StatusOr<std::vector<Assignment>> ExpandGrid(absl::Span<const ParameterSpec> parameters) {
  absl::StatusOr<int64_t> size = GridSize(parameters);
  if (!size.ok()) return size.status();
  std::vector<Assignment> grid;
  grid.reserve(*size);
  for (int64_t i = 0; i < *size; ++i) grid.push_back(GridPoint(parameters, i));
  return grid;
}

std::string SampleValue(const ParameterSpec& spec, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  switch (spec.distribution) {
    case Distribution::kConstant:
      return spec.values[0];
    case Distribution::kCategorical: {
      if (spec.probabilities.empty()) {
        std::uniform_int_distribution<size_t> pick(0, spec.values.size() - 1);
        return spec.values[pick(rng)];
      }
      std::discrete_distribution<size_t> pick(spec.probabilities.begin(), spec.probabilities.end());
      return spec.values[pick(rng)];
    }
    case Distribution::kUniform:
      return FormatNumber(spec.min + (spec.max - spec.min) * unit(rng));
    case Distribution::kIntUniform: {
      std::uniform_int_distribution<int64_t> pick(static_cast<int64_t>(spec.min),
                                                  static_cast<int64_t>(spec.max));
      return FormatNumber(static_cast<double>(pick(rng)));
    }
    case Distribution::kQUniform: {
      // round(uniform / q) * q as W&B does, clamped so the ends stay inside.
      const double x = spec.min + (spec.max - spec.min) * unit(rng);
      const double steps = std::floor((spec.max - spec.min) / spec.q + 1e-9);
      const double k = std::clamp(std::round((x - spec.min) / spec.q), 0.0, steps);
      return FormatNumber(spec.min + k * spec.q);
    }
    case Distribution::kLogUniformValues:
      return FormatNumber(
          std::exp(std::log(spec.min) + (std::log(spec.max) - std::log(spec.min)) * unit(rng)));
    case Distribution::kNormal: {
      std::normal_distribution<double> normal(spec.mu, spec.sigma);
      return FormatNumber(normal(rng));
    }
  }
  return "";
}

Assignment SampleAssignment(absl::Span<const ParameterSpec> parameters, std::mt19937_64& rng) {
  Assignment point;
  for (const ParameterSpec& spec : parameters) point.emplace_back(spec.name, SampleValue(spec, rng));
  return point;
}

std::mt19937_64 TrialRng(uint64_t seed, int64_t trial_index) {
  std::seed_seq sequence{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                         static_cast<uint32_t>(trial_index),
                         static_cast<uint32_t>(static_cast<uint64_t>(trial_index) >> 32)};
  return std::mt19937_64(sequence);
}

UnitCubeEncoding::UnitCubeEncoding(absl::Span<const ParameterSpec> parameters)
    : parameters_(parameters.begin(), parameters.end()) {
  for (const ParameterSpec& spec : parameters_) {
    Column column{&spec, dimensions_, 1, false, false, spec.min, spec.max};
    switch (spec.distribution) {
      case Distribution::kConstant:
        column.width = 0;
        break;
      case Distribution::kCategorical: {
        std::vector<double> numbers;
        for (const std::string& text : spec.values) {
          double v = 0;
          if (!absl::SimpleAtod(text, &v)) break;
          numbers.push_back(v);
        }
        if (numbers.size() == spec.values.size()) {
          column.low = *std::min_element(numbers.begin(), numbers.end());
          column.high = *std::max_element(numbers.begin(), numbers.end());
        } else {
          column.one_hot = true;
          column.width = static_cast<int>(spec.values.size());
        }
        break;
      }
      case Distribution::kLogUniformValues:
        column.log = true;
        column.low = std::log(spec.min);
        column.high = std::log(spec.max);
        break;
      case Distribution::kNormal:
        column.low = spec.mu - 3 * spec.sigma;
        column.high = spec.mu + 3 * spec.sigma;
        break;
      default:
        break;
    }
    dimensions_ += column.width;
    columns_.push_back(column);
  }
}

absl::StatusOr<std::vector<double>> UnitCubeEncoding::Encode(const Assignment& assignment) const {
  std::vector<double> x(dimensions_, 0.0);
  for (const Column& column : columns_) {
    if (column.width == 0) continue;
    const std::optional<std::string> text = ValueOf(assignment, column.spec->name);
    if (!text) {
      return absl::InvalidArgumentError(absl::StrCat("no value for parameter '", column.spec->name, "'"));
    }
    if (column.one_hot) {
      const auto it = std::find(column.spec->values.begin(), column.spec->values.end(), *text);
      if (it == column.spec->values.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("parameter '", column.spec->name, "' has no value '", *text, "'"));
      }
      x[column.offset + (it - column.spec->values.begin())] = 1.0;
      continue;
    }
    double v = 0;
    if (!absl::SimpleAtod(*text, &v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("parameter '", column.spec->name, "' value '", *text, "' is not a number"));
    }
    if (column.log) v = std::log(std::max(v, 1e-300));
    const double span = column.high - column.low;
    x[column.offset] = span > 0 ? (v - column.low) / span : 0.5;
  }
  return x;
}

}  // namespace edgecompress::sweep
