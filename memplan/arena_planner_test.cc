#include "memplan/arena_planner.h"

#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace edgecompress::memplan {
namespace {

using ::testing::Eq;
using ::testing::Optional;

TEST(FindGapOffsetTest, FirstFitTakesTheLowestGapBestFitTheSmallest) {
  // Occupied [0,10), [30,40), [45,100): gaps of 20 at 10 and 5 at 40.
  const std::vector<std::pair<int64_t, int64_t>> occupied = {{45, 100}, {0, 10}, {30, 40}};
  EXPECT_EQ(FindGapOffset(occupied, 5, Fit::kFirst), 10);
  EXPECT_EQ(FindGapOffset(occupied, 5, Fit::kBest), 40);
  EXPECT_EQ(FindGapOffset(occupied, 20, Fit::kBest), 10);
  EXPECT_EQ(FindGapOffset(occupied, 21, Fit::kFirst), 100);  // no gap fits: on top
  EXPECT_EQ(FindGapOffset({}, 7, Fit::kBest), 0);
  // Overlapping ranges (from buffers live at different steps) still leave no gap.
  EXPECT_EQ(FindGapOffset({{0, 50}, {10, 20}, {55, 60}}, 5, Fit::kFirst), 50);
}

TEST(ArenaPlannerTest, LowerBoundIsTheBroadestStep) {
  // Steps: 0: 10+50 = 60; 1: 10+20+50 = 80; 2: 20+30 = 50; 3: 30+40 = 70; 4: 40.
  const std::vector<BufferRequest> buffers = {
      {10, 0, 1}, {20, 1, 2}, {30, 2, 3}, {40, 3, 4}, {50, 0, 1}};
  EXPECT_EQ(LowerBoundBytes(buffers), 80);
  EXPECT_EQ(LowerBoundBytes({}), 0);
  // Touching intervals share their common step (last_step is inclusive).
  EXPECT_EQ(LowerBoundBytes({{5, 0, 2}, {7, 2, 3}}), 12);
  EXPECT_EQ(LowerBoundBytes({{5, 0, 1}, {7, 2, 3}}), 7);
}

TEST(ArenaPlannerTest, OverlapNeedsCommonStepAndCommonBytes) {
  const std::vector<BufferRequest> buffers = {{10, 0, 1}, {10, 1, 2}, {10, 2, 3}};
  EXPECT_EQ(FindOverlap(buffers, {0, 10, 0}), std::nullopt);  // 0 and 2 never coexist
  EXPECT_EQ(ArenaBytes(buffers, {0, 10, 0}), 20);
  EXPECT_THAT(FindOverlap(buffers, {0, 5, 20}), Optional(Eq(std::make_pair(0, 1))));
  EXPECT_THAT(FindOverlap(buffers, {0, 10, 19}), Optional(Eq(std::make_pair(1, 2))));
  EXPECT_THAT(FindOverlap(buffers, {0, 10, -1}), Optional(Eq(std::make_pair(2, 2))));
  EXPECT_TRUE(OverlapInTime(buffers[0], buffers[1]));
  EXPECT_FALSE(OverlapInTime(buffers[0], buffers[2]));
}

}  // namespace
}  // namespace edgecompress::memplan
