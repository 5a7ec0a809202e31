#include "tools/plot/line_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::tools {
namespace {

// Colour-blind-safe palette (Okabe & Ito, 2008).
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};
constexpr int kLeft = 64, kRight = 150, kTop = 36, kBottom = 48;  // margins, px

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

double NiceStep(double range, int target) {
  const double rough = range / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(rough)));
  const double fraction = rough / magnitude;
  const double nice = fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0;
  return nice * magnitude;
}

std::string Label(double value, double step) {
  // As many decimals as the step needs: 0.05 -> 2, 10 -> 0.
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return absl::StrFormat("%.*f", decimals, value);
}

}  // namespace

std::vector<double> NiceTicks(double min, double max, int target) {
  const double step = NiceStep(max - min, target);
  std::vector<double> ticks;
  for (double t = std::floor(min / step) * step; t <= max + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  if (ticks.back() < max) ticks.push_back(ticks.back() + step);
  return ticks;
}

absl::StatusOr<std::string> RenderSvg(const LineChart& chart) {
  double x_min = std::numeric_limits<double>::infinity(), x_max = -x_min;
  double y_min = x_min, y_max = -x_min;
  for (const Series& series : chart.series) {
    for (const auto& [x, y] : series.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) {
        return absl::InvalidArgumentError(
            absl::StrCat("series '", series.name, "' has a non-finite point"));
      }
      x_min = std::min(x_min, x), x_max = std::max(x_max, x);
      y_min = std::min(y_min, y), y_max = std::max(y_max, y);
    }
  }
  if (!std::isfinite(x_min)) return absl::InvalidArgumentError("the chart has no points");
  if (chart.y_range) std::tie(y_min, y_max) = *chart.y_range;
  if (x_max <= x_min) x_min -= 0.5, x_max += 0.5;
  if (y_max <= y_min) y_min -= 0.5, y_max += 0.5;
  const std::vector<double> x_ticks = NiceTicks(x_min, x_max);
  const std::vector<double> y_ticks =
      chart.y_range ? NiceTicks(y_min, y_max) : NiceTicks(y_min, y_max);
  if (!chart.y_range) y_min = y_ticks.front(), y_max = y_ticks.back();
  x_min = x_ticks.front(), x_max = x_ticks.back();
  const double plot_w = chart.width - kLeft - kRight, plot_h = chart.height - kTop - kBottom;
  const auto px = [&](double x) { return kLeft + (x - x_min) / (x_max - x_min) * plot_w; };
  const auto py = [&](double y) { return kTop + (1.0 - (y - y_min) / (y_max - y_min)) * plot_h; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"%d\" y=\"20\" font-size=\"14\">%s</text>\n",
      chart.width, chart.height, kLeft, Escape(chart.title));
  const double x_step = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1.0;
  const double y_step = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1.0;
  for (double t : x_ticks) {
    if (t < x_min - 1e-12 || t > x_max + 1e-12) continue;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                          px(t), kTop, px(t), kTop + plot_h, px(t), kTop + plot_h + 16,
                          Label(t, x_step));
  }
  for (double t : y_ticks) {
    if (t < y_min - 1e-12 || t > y_max + 1e-12) continue;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                          "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                          kLeft, py(t), kLeft + plot_w, py(t), kLeft - 6, py(t) + 4,
                          Label(t, y_step));
  }
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
                        "stroke=\"black\"/>\n"
                        "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n"
                        "<text transform=\"translate(16 %.1f) rotate(-90)\" "
                        "text-anchor=\"middle\">%s</text>\n",
                        kLeft, kTop, plot_w, plot_h, kLeft + plot_w / 2, chart.height - 10,
                        Escape(chart.x_label), kTop + plot_h / 2, Escape(chart.y_label));
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    const char* colour = kColours[s % (sizeof(kColours) / sizeof(kColours[0]))];
    std::string points;
    for (const auto& [x, y] : series.points) absl::StrAppendFormat(&points, "%.1f,%.1f ", px(x), py(y));
    absl::StrAppendFormat(&svg,
                          "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                          "points=\"%s\"/>\n",
                          colour, points);
    for (const auto& [x, y] : series.points) {
      absl::StrAppendFormat(&svg, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n",
                            px(x), py(y), colour);
    }
    const double legend_y = kTop + 8 + 18.0 * s;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                          "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                          kLeft + plot_w + 10, legend_y, kLeft + plot_w + 30, legend_y, colour,
                          kLeft + plot_w + 36, legend_y + 4, Escape(series.name));
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace edgecompress::tools
