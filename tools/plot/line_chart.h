// Small self-contained SVG line charts: sparsity schedules, accuracy per
// epoch, accuracy against latency. No scripts, fonts or styles from outside,
// so the file opens in any browser and can be committed next to results.
//
// Axes span the data (or the caller's fixed range) widened to "nice" tick
// steps of 1, 2 or 5 x 10^k, about five ticks per axis (Heckbert, "Nice
// numbers for graph labels", Graphics Gems, 1990). Each series is a polyline
// with a dot at every point and an entry in the legend. Text is XML-escaped.
#ifndef EDGECOMPRESS_TOOLS_PLOT_LINE_CHART_H_
#define EDGECOMPRESS_TOOLS_PLOT_LINE_CHART_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace edgecompress::tools {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), drawn in this order
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::optional<std::pair<double, double>> y_range;  // fixed [min, max], e.g. {0, 100}
  int width = 640, height = 400;                     // pixels
};

// kInvalidArgument when there is no point at all, or a coordinate is not finite.
absl::StatusOr<std::string> RenderSvg(const LineChart& chart);

// Tick positions covering [min, max] with a 1/2/5 x 10^k step, about
// `target` of them; min < max required (a degenerate range is widened by
// the caller).
std::vector<double> NiceTicks(double min, double max, int target = 5);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_PLOT_LINE_CHART_H_
