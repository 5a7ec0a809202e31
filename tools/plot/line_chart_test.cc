#include "tools/plot/line_chart.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++count;
  return count;
}

TEST(NiceTicksTest, StepsOfOneTwoOrFive) {
  EXPECT_THAT(NiceTicks(0, 100), ElementsAre(0, 20, 40, 60, 80, 100));
  EXPECT_THAT(NiceTicks(0.05, 0.95), ElementsAre(0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0));
  EXPECT_THAT(NiceTicks(3, 7), ElementsAre(3, 4, 5, 6, 7));
}

TEST(RenderSvgTest, DrawsEverySeriesPointAndLegend) {
  LineChart chart = {.title = "GMP <0.05 -> 0.95>", .x_label = "epoch", .y_label = "sparsity"};
  chart.series.push_back({"target", {{0, 0.05}, {20, 0.84}, {40, 0.95}}});
  chart.series.push_back({"measured", {{0, 0.0}, {40, 0.95}}});
  absl::StatusOr<std::string> svg = RenderSvg(chart);
  ASSERT_THAT(svg, IsOk());
  EXPECT_THAT(*svg, HasSubstr("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_EQ(Count(*svg, "<polyline"), 2);
  EXPECT_EQ(Count(*svg, "<circle"), 5);
  EXPECT_THAT(*svg, HasSubstr("GMP &lt;0.05 -&gt; 0.95&gt;"));  // escaped
  EXPECT_THAT(*svg, Not(HasSubstr("<0.05")));
  EXPECT_THAT(*svg, HasSubstr(">measured</text>"));
  EXPECT_EQ(svg->substr(svg->size() - 7), "</svg>\n");
}

TEST(RenderSvgTest, FixedRangeAndSinglePoint) {
  LineChart chart = {.title = "top-1", .series = {{"test", {{1, 86.5}}}}, .y_range = {{0, 100}}};
  absl::StatusOr<std::string> svg = RenderSvg(chart);
  ASSERT_THAT(svg, IsOk());
  EXPECT_THAT(*svg, HasSubstr(">100</text>"));
  EXPECT_THAT(*svg, HasSubstr(">0</text>"));
}

TEST(RenderSvgTest, RejectsEmptyAndNonFinite) {
  EXPECT_THAT(RenderSvg({}), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no points")));
  LineChart chart = {.series = {{"bad", {{0, NAN}}}}};
  EXPECT_THAT(RenderSvg(chart), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'bad'")));
}

}  // namespace
}  // namespace edgecompress::tools
