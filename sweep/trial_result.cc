#include "sweep/trial_result.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace edgecompress::sweep {

absl::StatusOr<std::map<std::string, double>> ReadTrialMetrics(
    const std::string& path, absl::Span<const MetricSpec> metrics, const Assignment& assignment) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": the trial wrote no result"));
  const nlohmann::json result = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded()) return absl::DataLossError(absl::StrCat(path, ": not valid JSON"));
  std::map<std::string, double> values;
  for (const MetricSpec& metric : metrics) {
    const nlohmann::json* node = &result;
    for (absl::string_view part : absl::StrSplit(metric.name, '.')) {
      if (!node->is_object() || !node->contains(std::string(part))) {
        node = nullptr;
        break;
      }
      node = &(*node)[std::string(part)];
    }
    if (node != nullptr && node->is_number()) {
      values[metric.name] = node->get<double>();
      continue;
    }
    double parameter = 0;
    const std::optional<std::string> text = ValueOf(assignment, metric.name);
    if (text && absl::SimpleAtod(*text, &parameter)) {
      values[metric.name] = parameter;
      continue;
    }
    return absl::NotFoundError(absl::StrCat(path, ": no number at '", metric.name,
                                            "' and no parameter of that name"));
  }
  return values;
}

std::vector<double> MetricHistory(absl::string_view log, absl::string_view metric) {
  std::vector<double> history;
  const std::string key = absl::StrCat(metric, "=");
  // A result path's last component names the logged value ("after.score"
  // is logged per iteration as "score=").
  const size_t dot = metric.rfind('.');
  const std::string short_key =
      absl::StrCat(dot == absl::string_view::npos ? metric : metric.substr(dot + 1), "=");
  const bool top1 = metric == "test_top1" || absl::EndsWith(metric, ".test_top1");
  for (absl::string_view line : absl::StrSplit(log, '\n')) {
    for (absl::string_view word : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
      double value = 0;
      if ((absl::ConsumePrefix(&word, key) || absl::ConsumePrefix(&word, short_key)) &&
          absl::SimpleAtod(word, &value) && std::isfinite(value)) {
        history.push_back(value);
        break;
      }
    }
    const size_t at = line.find("test top-1 ");
    if (top1 && absl::StartsWith(line, "epoch ") && at != absl::string_view::npos) {
      absl::string_view rest = line.substr(at + 11);
      rest = rest.substr(0, rest.find('%'));
      double value = 0;
      if (absl::SimpleAtod(rest, &value)) history.push_back(value);
    }
  }
  return history;
}

std::string LastLogLine(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return "";
  const std::streamoff size = file.tellg();
  const std::streamoff start = size > 4096 ? size - 4096 : 0;
  file.seekg(start);
  std::stringstream tail;
  tail << file.rdbuf();
  std::string last;
  for (absl::string_view line : absl::StrSplit(tail.str(), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    // A progress bar redraws with \r: keep what was drawn last.
    if (const size_t cr = line.rfind('\r'); cr != absl::string_view::npos) line = line.substr(cr + 1);
    if (!line.empty()) last = std::string(line);
  }
  return last;
}

}  // namespace edgecompress::sweep
