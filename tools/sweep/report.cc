#include "tools/sweep/report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "sweep/controller.h"
#include "sweep/pareto.h"

namespace edgecompress::tools {
namespace {

using sweep::Trial;

std::string Escape(absl::string_view text) {
  return absl::StrReplaceAll(text, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string CsvField(absl::string_view text) {
  if (text.find_first_of(",\"\n") == absl::string_view::npos) return std::string(text);
  return absl::StrCat("\"", absl::StrReplaceAll(text, {{"\"", "\"\""}}), "\"");
}

double Seconds(const Trial& t) { return t.end_time_s > 0 ? t.end_time_s - t.start_time_s : 0; }

// Numeric value of column `c` for trial `t`: parameters first, then metrics;
// NaN when absent or not a number.
double ColumnValue(const Trial& t, const std::string& name) {
  if (auto it = t.metrics.find(name); it != t.metrics.end()) return it->second;
  if (std::optional<std::string> text = sweep::ValueOf(t.assignment, name)) {
    char* end = nullptr;
    const double v = std::strtod(text->c_str(), &end);
    if (end != text->c_str() && *end == '\0') return v;
  }
  return NAN;
}

constexpr int kWidth = 640, kHeight = 400, kMargin = 50;

std::string Scatter(const sweep::SweepConfig& config, absl::Span<const Trial> trials,
                    const std::vector<int64_t>& front) {
  if (config.metrics.empty()) return "<p>The sweep has no metric to plot.</p>";
  const bool two = config.metrics.size() >= 2;
  const std::string x_name = two ? config.metrics[1].name : "trial";
  const std::string y_name = config.metrics[0].name;
  std::vector<std::tuple<double, double, int64_t>> points;
  for (const Trial& t : trials) {
    if (!t.has_metrics() || t.metrics.count(y_name) == 0) continue;
    const double x = two ? ColumnValue(t, x_name) : static_cast<double>(t.id);
    if (std::isfinite(x)) points.emplace_back(x, t.metrics.at(y_name), t.id);
  }
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>",
      kWidth, kHeight);
  if (points.empty()) return svg + "<text x=\"20\" y=\"40\">no trial with metrics yet</text></svg>";
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& [x, y, id] : points) {
    x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
  }
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y0 -= 1, y1 += 1;
  auto px = [&](double x) { return kMargin + (x - x0) / (x1 - x0) * (kWidth - 2 * kMargin); };
  auto py = [&](double y) { return kHeight - kMargin - (y - y0) / (y1 - y0) * (kHeight - 2 * kMargin); };
  absl::StrAppendFormat(&svg,
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>"
                        "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>",
                        kMargin, kHeight - kMargin, kWidth - kMargin, kHeight - kMargin, kMargin,
                        kMargin, kMargin, kHeight - kMargin);
  absl::StrAppendFormat(&svg, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s (%g to %g)</text>",
                        kWidth / 2, kHeight - 12, Escape(x_name), x0, x1);
  absl::StrAppendFormat(&svg, "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\" "
                        "text-anchor=\"middle\">%s (%g to %g)</text>",
                        kHeight / 2, kHeight / 2, Escape(y_name), y0, y1);
  for (const auto& [x, y, id] : points) {
    const bool on_front = std::find(front.begin(), front.end(), id) != front.end();
    absl::StrAppendFormat(&svg,
                          "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"><title>trial %d: "
                          "%s %g, %s %g</title></circle>",
                          px(x), py(y), on_front ? 6 : 4, on_front ? "#d62728" : "#1f77b4", id,
                          Escape(x_name), x, Escape(y_name), y);
  }
  return svg + "</svg>";
}

std::string ParallelCoordinates(const sweep::SweepConfig& config, absl::Span<const Trial> trials) {
  std::vector<std::string> axes;
  for (const sweep::ParameterSpec& p : config.parameters) {
    if (p.distribution != sweep::Distribution::kConstant) axes.push_back(p.name);
  }
  for (const sweep::MetricSpec& m : config.metrics) axes.push_back(m.name);
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>",
      kWidth, kHeight);
  if (axes.size() < 2) return svg + "</svg>";
  std::vector<std::pair<double, double>> range(axes.size(), {INFINITY, -INFINITY});
  for (const Trial& t : trials) {
    for (size_t a = 0; a < axes.size(); ++a) {
      const double v = ColumnValue(t, axes[a]);
      if (std::isfinite(v)) range[a] = {std::min(range[a].first, v), std::max(range[a].second, v)};
    }
  }
  auto ax = [&](size_t a) { return kMargin + a * (kWidth - 2.0 * kMargin) / (axes.size() - 1); };
  for (size_t a = 0; a < axes.size(); ++a) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>"
                          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"11\">%s</text>"
                          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\">%g</text>"
                          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" font-size=\"9\">%g</text>",
                          ax(a), kMargin, ax(a), kHeight - kMargin, ax(a), kHeight - 20,
                          Escape(axes[a]), ax(a), kMargin - 5, range[a].second, ax(a),
                          kHeight - kMargin + 12, range[a].first);
  }
  const sweep::Trial* best = sweep::BestTrial(trials, config.metrics);
  for (const Trial& t : trials) {
    if (!t.has_metrics()) continue;
    std::vector<std::string> points;
    for (size_t a = 0; a < axes.size(); ++a) {
      const double v = ColumnValue(t, axes[a]);
      if (!std::isfinite(v)) continue;
      const double span = range[a].second - range[a].first;
      const double f = span > 0 ? (v - range[a].first) / span : 0.5;
      points.push_back(absl::StrFormat("%.1f,%.1f", ax(a), kHeight - kMargin - f * (kHeight - 2 * kMargin)));
    }
    absl::StrAppendFormat(&svg,
                          "<polyline points=\"%s\" fill=\"none\" stroke=\"%s\" stroke-opacity=\"0.6\">"
                          "<title>trial %d</title></polyline>",
                          absl::StrJoin(points, " "), &t == best ? "#d62728" : "#1f77b4", t.id);
  }
  return svg + "</svg>";
}

}  // namespace

std::vector<int64_t> ParetoTrialIds(const sweep::SweepConfig& config, absl::Span<const Trial> trials) {
  std::vector<std::vector<double>> points;
  std::vector<int64_t> ids;
  std::vector<sweep::Goal> goals;
  for (const sweep::MetricSpec& m : config.metrics) goals.push_back(m.goal);
  for (const Trial& t : trials) {
    if (!t.has_metrics() || t.metrics.size() < config.metrics.size()) continue;
    std::vector<double> row;
    for (const sweep::MetricSpec& m : config.metrics) row.push_back(t.metrics.at(m.name));
    points.push_back(std::move(row));
    ids.push_back(t.id);
  }
  std::vector<int64_t> front;
  if (goals.empty()) return front;
  for (int i : sweep::ParetoFront(points, goals)) front.push_back(ids[i]);
  return front;
}

std::string ResultsTable(const sweep::SweepConfig& config, absl::Span<const Trial> trials) {
  std::string table = absl::StrFormat("%-5s %-9s %4s %8s", "trial", "state", "exit", "seconds");
  for (const sweep::ParameterSpec& p : config.parameters) absl::StrAppendFormat(&table, " %14s", p.name);
  for (const sweep::MetricSpec& m : config.metrics) absl::StrAppendFormat(&table, " %16s", m.name);
  table += "\n";
  for (const Trial& t : trials) {
    absl::StrAppendFormat(&table, "%-5d %-9s %4d %8.1f", t.id, sweep::TrialStateName(t.state),
                          t.exit_code, Seconds(t));
    for (const auto& [name, value] : t.assignment) absl::StrAppendFormat(&table, " %14s", value);
    for (const sweep::MetricSpec& m : config.metrics) {
      auto it = t.metrics.find(m.name);
      absl::StrAppendFormat(&table, " %16s", it == t.metrics.end() ? "-" : absl::StrFormat("%.4g", it->second));
    }
    if (!t.error.empty()) absl::StrAppend(&table, "  ", t.error);
    table += "\n";
  }
  if (const Trial* best = sweep::BestTrial(trials, config.metrics)) {
    absl::StrAppendFormat(&table, "best: trial %d, %s %.4g\n", best->id, config.metrics[0].name,
                          best->metrics.at(config.metrics[0].name));
  }
  return table;
}

std::string ResultsCsv(const sweep::SweepConfig& config, absl::Span<const Trial> trials) {
  std::vector<std::string> header = {"trial", "state", "exit_code", "seconds"};
  for (const sweep::ParameterSpec& p : config.parameters) header.push_back(CsvField(p.name));
  for (const sweep::MetricSpec& m : config.metrics) header.push_back(CsvField(m.name));
  header.push_back("error");
  std::string csv = absl::StrJoin(header, ",") + "\n";
  for (const Trial& t : trials) {
    std::vector<std::string> row = {absl::StrCat(t.id), std::string(sweep::TrialStateName(t.state)),
                                    absl::StrCat(t.exit_code), absl::StrFormat("%.3f", Seconds(t))};
    for (const auto& [name, value] : t.assignment) row.push_back(CsvField(value));
    for (const sweep::MetricSpec& m : config.metrics) {
      auto it = t.metrics.find(m.name);
      row.push_back(it == t.metrics.end() ? "" : absl::StrFormat("%.17g", it->second));
    }
    row.push_back(CsvField(t.error));
    csv += absl::StrJoin(row, ",") + "\n";
  }
  return csv;
}

void AddResults(const sweep::SweepConfig& config, absl::Span<const Trial> trials, nlohmann::json& result) {
  nlohmann::json list = nlohmann::json::array();
  for (const Trial& t : trials) {
    nlohmann::json parameters = nlohmann::json::object();
    for (const auto& [name, value] : t.assignment) parameters[name] = value;
    list.push_back({{"id", t.id}, {"state", sweep::TrialStateName(t.state)}, {"exit_code", t.exit_code},
                    {"seconds", Seconds(t)}, {"parameters", parameters}, {"metrics", t.metrics},
                    {"history", t.history}, {"error", t.error}});
  }
  result["method"] = sweep::SearchMethodName(config.method);
  result["trials"] = list;
  const Trial* best = sweep::BestTrial(trials, config.metrics);
  result["best"] = best == nullptr ? nlohmann::json(nullptr) : nlohmann::json(best->id);
  result["pareto_front"] = ParetoTrialIds(config, trials);
}

std::string ResultsHtml(const sweep::SweepConfig& config, absl::Span<const Trial> trials) {
  const std::vector<int64_t> front = ParetoTrialIds(config, trials);
  std::string html = absl::StrCat(
      "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>sweep report</title></head><body>",
      "<h1>Sweep: ", sweep::SearchMethodName(config.method), ", ", trials.size(), " trials</h1>");
  absl::StrAppend(&html, "<h2>", config.metrics.size() >= 2 ? "Pareto front (red)" : "Metric per trial",
                  "</h2>", Scatter(config, trials, front));
  absl::StrAppend(&html, "<h2>Parallel coordinates (best in red)</h2>", ParallelCoordinates(config, trials));
  absl::StrAppend(&html, "<h2>Trials</h2><pre>", Escape(ResultsTable(config, trials)), "</pre></body></html>\n");
  return html;
}

}  // namespace edgecompress::tools
