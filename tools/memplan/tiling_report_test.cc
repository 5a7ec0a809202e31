#include "tools/memplan/tiling_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "partition/test_models.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::memplan_tool {
namespace {

using ::testing::HasSubstr;

// The stem's first layer in a 3x3 grid: partition/tile_memory_test.cc has
// the bytes by hand (18,000 + 904 whole; the bottom-right tile 2,252 + 904).
TEST(TilingReportTest, ListsEveryDevice) {
  absl::StatusOr<TilingReport> report = ReportTiling(partition::StemModel(), 1, 3, 3, 1);
  ASSERT_THAT(report, IsOk());
  EXPECT_EQ(report->json["whole_prefix_bytes"], 18000 + 904);
  ASSERT_EQ(report->json["devices"].size(), 9u);
  EXPECT_EQ(report->json["devices"][8]["total_bytes"], 2252 + 904);
  EXPECT_EQ(report->json["devices"][8]["input_rows"], 11);
  EXPECT_GE(report->json["max_device_bytes"].get<int64_t>(), 2252 + 904);
  EXPECT_THAT(report->table, HasSubstr("2,2"));
  EXPECT_THAT(report->table, HasSubstr("less than one device"));
}

TEST(TilingReportTest, RejectsAGridFinerThanTheCut) {
  EXPECT_THAT(ReportTiling(partition::StemModel(), 1, 40, 1, 1).status().message(),
              HasSubstr("does not fit"));
}

}  // namespace
}  // namespace edgecompress::memplan_tool
