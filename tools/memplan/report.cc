#include "tools/memplan/report.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/plot/line_chart.h"

namespace edgecompress::memplan {
namespace {

double ReductionPercent(int64_t baseline, int64_t value) {
  return baseline > 0 ? 100.0 * static_cast<double>(baseline - value) / baseline : 0.0;
}

int64_t BestArenaBytes(const SchedulePlan& plan) {
  return plan.arenas[plan.best_arena].arena_bytes;
}

double ArenaOverLowerBound(const SchedulePlan& plan) {
  return static_cast<double>(BestArenaBytes(plan)) / plan.lower_bound_bytes;
}

std::string XmlEscaped(const std::string& text) {
  std::string escaped;
  for (char c : text) {
    switch (c) {
      case '&': escaped += "&amp;"; break;
      case '<': escaped += "&lt;"; break;
      case '>': escaped += "&gt;"; break;
      case '"': escaped += "&quot;"; break;
      default: escaped += c;
    }
  }
  return escaped;
}

}  // namespace

std::string FormatTable(absl::Span<const SchedulePlan> plans) {
  std::string table = absl::StrFormat("%-10s %14s %18s", "schedule", "peak_bytes",
                                      "lower_bound_bytes");
  for (const ArenaPlan& arena : plans.front().arenas) {
    absl::StrAppendFormat(&table, " %18s", arena.planner);
  }
  absl::StrAppendFormat(&table, " %12s %10s  %s\n", "arena/bound", "reduction", "method");
  const int64_t baseline = plans.front().memory.peak_bytes;
  for (const SchedulePlan& plan : plans) {
    absl::StrAppendFormat(&table, "%-10s %14d %18d", plan.name, plan.memory.peak_bytes,
                          plan.lower_bound_bytes);
    for (const ArenaPlan& arena : plan.arenas) {
      absl::StrAppendFormat(&table, " %18d", arena.arena_bytes);
    }
    absl::StrAppendFormat(&table, " %12.4f %9.2f%%  %s\n", ArenaOverLowerBound(plan),
                          ReductionPercent(baseline, plan.memory.peak_bytes), plan.method);
  }
  return table;
}

void AddPlansToJson(const Graph& graph, absl::Span<const SchedulePlan> plans,
                    nlohmann::json& result) {
  int64_t activation_bytes = 0;
  nlohmann::json in_place = nlohmann::json::array();
  for (const Tensor& tensor : graph.tensors()) activation_bytes += tensor.size_bytes;
  for (const Operator& op : graph.operators()) {
    if (op.in_place_capable) in_place.push_back(op.name);
  }
  result["graph"] = {{"operators", graph.num_operators()},
                     {"tensors", graph.num_tensors()},
                     {"activation_bytes", activation_bytes},
                     {"in_place_capable", in_place}};
  const int64_t baseline = plans.front().memory.peak_bytes;
  nlohmann::json schedules = nlohmann::json::array();
  for (const SchedulePlan& plan : plans) {
    nlohmann::json order = nlohmann::json::array();
    for (int op : plan.order) order.push_back(graph.operators()[op].name);
    nlohmann::json arenas = nlohmann::json::array();
    for (const ArenaPlan& arena : plan.arenas) {
      arenas.push_back({{"planner", arena.planner}, {"arena_bytes", arena.arena_bytes}});
    }
    const ArenaPlan& best = plan.arenas[plan.best_arena];
    nlohmann::json tensors = nlohmann::json::array();
    for (int t = 0; t < graph.num_tensors(); ++t) {
      tensors.push_back({{"name", graph.tensors()[t].name},
                         {"size", graph.tensors()[t].size_bytes},
                         {"offset", best.offsets[t]},
                         {"first_step", plan.memory.lifetimes[t].first_step},
                         {"last_step", plan.memory.lifetimes[t].last_step}});
    }
    schedules.push_back({{"name", plan.name},
                         {"method", plan.method},
                         {"order", order},
                         {"peak_bytes", plan.memory.peak_bytes},
                         {"arena_bytes", best.arena_bytes},
                         {"lower_bound_bytes", plan.lower_bound_bytes},
                         {"arena_over_lower_bound", ArenaOverLowerBound(plan)},
                         {"reduction_percent", ReductionPercent(baseline, plan.memory.peak_bytes)},
                         {"planner", best.planner},
                         {"arenas", arenas},
                         {"live_bytes", plan.memory.live_bytes},
                         {"tensors", tensors}});
  }
  result["schedules"] = schedules;
}

std::string ArenaSvg(const Graph& graph, const SchedulePlan& plan, const std::string& title) {
  constexpr double kWidth = 800, kHeight = 480;
  constexpr double kLeft = 90, kRight = 20, kTop = 40, kBottom = 50;
  const ArenaPlan& arena = plan.arenas[plan.best_arena];
  const int num_steps = static_cast<int>(plan.order.size());
  const double max_bytes = static_cast<double>(std::max<int64_t>(arena.arena_bytes, 1));
  const double step_width = (kWidth - kLeft - kRight) / std::max(num_steps, 1);
  auto y_of = [&](double bytes) { return kTop + (kHeight - kTop - kBottom) * bytes / max_bytes; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
      "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%.0f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">%s</text>\n",
      kWidth, kHeight, kWidth, kHeight, kWidth / 2, XmlEscaped(title));
  // Byte axis: offsets grow downwards, as in a memory map.
  for (double tick : tools::NiceTicks(0, max_bytes)) {
    if (tick < 0 || tick > max_bytes) continue;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                          kLeft, kWidth - kRight, y_of(tick), y_of(tick), kLeft - 6,
                          y_of(tick) + 4, tick);
  }
  // Step axis: a label under the middle of each ticked step's column.
  for (double tick : tools::NiceTicks(0, std::max(num_steps - 1, 1))) {
    if (tick < 0 || tick > num_steps - 1 || tick != static_cast<int>(tick)) continue;
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>\n",
                          kLeft + (tick + 0.5) * step_width, kHeight - kBottom + 16, tick);
  }
  for (int t = 0; t < graph.num_tensors(); ++t) {
    const TensorLifetime& lifetime = plan.memory.lifetimes[t];
    const Tensor& tensor = graph.tensors()[t];
    // Golden-angle hues keep neighbouring tensors apart in colour.
    const int hue = static_cast<int>(t * 137.508) % 360;
    absl::StrAppendFormat(
        &svg,
        "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"hsl(%d,65%%,60%%)\" "
        "stroke=\"#333\" stroke-width=\"0.5\"><title>%s: %d bytes at offset %d, steps %d-%d"
        "</title></rect>\n",
        kLeft + lifetime.first_step * step_width, y_of(static_cast<double>(arena.offsets[t])),
        (lifetime.last_step - lifetime.first_step + 1) * step_width,
        std::max(y_of(static_cast<double>(arena.offsets[t] + tensor.size_bytes)) -
                     y_of(static_cast<double>(arena.offsets[t])),
                 0.5),
        hue, XmlEscaped(tensor.name), tensor.size_bytes, arena.offsets[t], lifetime.first_step,
        lifetime.last_step);
  }
  absl::StrAppendFormat(
      &svg,
      "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"black\" "
      "stroke-dasharray=\"6 4\"/><text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">"
      "lower bound %d bytes</text>\n",
      kLeft, kWidth - kRight, y_of(static_cast<double>(plan.lower_bound_bytes)),
      y_of(static_cast<double>(plan.lower_bound_bytes)), kWidth - kRight,
      y_of(static_cast<double>(plan.lower_bound_bytes)) - 4, plan.lower_bound_bytes);
  absl::StrAppendFormat(
      &svg,
      "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">step (operator in schedule order)</text>\n"
      "<text x=\"16\" y=\"%.0f\" text-anchor=\"middle\" transform=\"rotate(-90 16 %.0f)\">"
      "offset (bytes), %s: arena %d bytes</text>\n</svg>\n",
      (kLeft + kWidth - kRight) / 2, kHeight - 14, kHeight / 2, kHeight / 2,
      XmlEscaped(arena.planner), arena.arena_bytes);
  return svg;
}

absl::StatusOr<std::string> LiveMemorySvg(absl::Span<const SchedulePlan> plans,
                                          const std::string& title) {
  tools::LineChart chart;
  chart.title = title;
  chart.x_label = "step";
  chart.y_label = "live bytes";
  for (const SchedulePlan& plan : plans) {
    tools::Series series;
    series.name = absl::StrCat(plan.name, " (peak ", plan.memory.peak_bytes, " bytes)");
    for (size_t step = 0; step < plan.memory.live_bytes.size(); ++step) {
      series.points.emplace_back(static_cast<double>(step),
                                 static_cast<double>(plan.memory.live_bytes[step]));
    }
    chart.series.push_back(std::move(series));
  }
  return tools::RenderSvg(chart);
}

}  // namespace edgecompress::memplan
