#include "quantization/observers.h"

#include <cmath>
#include <limits>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace quantization {
namespace {

std::unique_ptr<RangeObserver> Make(const ObserverOptions& options) {
  absl::StatusOr<std::unique_ptr<RangeObserver>> observer = CreateObserver(options);
  EXPECT_THAT(observer.status(), IsOk());
  return observer.ok() ? *std::move(observer) : nullptr;
}

TEST(MinMaxObserverTest, RangeOfEveryBatch) {
  std::unique_ptr<RangeObserver> observer = Make({.method = CalibrationMethod::kMinMax});
  ASSERT_THAT(observer->Observe({1.0f, -2.0f, 3.0f}), IsOk());
  ASSERT_THAT(observer->Observe({}), IsOk());
  ASSERT_THAT(observer->Observe({0.5f, 4.0f}), IsOk());
  absl::StatusOr<Range> range = observer->ComputeRange();
  ASSERT_THAT(range.status(), IsOk());
  EXPECT_EQ(range->min, -2.0f);
  EXPECT_EQ(range->max, 4.0f);
}

TEST(MovingAverageObserverTest, FirstBatchSetsThenAverages) {
  // c = 0.5: min = 0 + 0.5 (-1 - 0) = -0.5, max = 1 + 0.5 (3 - 1) = 2; then
  // min = -0.5 + 0.5 (-0.5 + 0.5) = -0.5, max = 2 + 0.5 (0 - 2) = 1.
  std::unique_ptr<RangeObserver> observer =
      Make({.method = CalibrationMethod::kMovingAverage, .averaging_constant = 0.5});
  ASSERT_THAT(observer->Observe({0.0f, 1.0f}), IsOk());
  ASSERT_THAT(observer->Observe({-1.0f, 3.0f}), IsOk());
  absl::StatusOr<Range> range = observer->ComputeRange();
  ASSERT_THAT(range.status(), IsOk());
  EXPECT_FLOAT_EQ(range->min, -0.5f);
  EXPECT_FLOAT_EQ(range->max, 2.0f);
  ASSERT_THAT(observer->Observe({-0.5f, 0.0f}), IsOk());
  range = observer->ComputeRange();
  EXPECT_FLOAT_EQ(range->min, -0.5f);
  EXPECT_FLOAT_EQ(range->max, 1.0f);
}

TEST(PercentileObserverTest, ClipsTheTail) {
  // 10,000 values 0.000 .. 9.999: the 99th percentile is 9.9, found to within
  // one bin (9.999 / 2048 wide: the first batch sets the histogram range).
  std::unique_ptr<RangeObserver> observer =
      Make({.method = CalibrationMethod::kPercentile, .percentile = 99.0});
  std::vector<float> values;
  for (int i = 0; i < 10000; ++i) values.push_back(i / 1000.0f);
  ASSERT_THAT(observer->Observe(values), IsOk());
  absl::StatusOr<Range> range = observer->ComputeRange();
  ASSERT_THAT(range.status(), IsOk());
  EXPECT_EQ(range->min, 0.0f);
  EXPECT_NEAR(range->max, 9.9f, 9.999f / 2048);
}

TEST(PercentileObserverTest, HundredPercentIsMinMaxAcrossRangeDoubling) {
  // The range grows 1 -> 2 -> 4 -> 8 over these batches; merging bins keeps
  // every count, so the 100th percentile still covers the extremes.
  std::unique_ptr<RangeObserver> observer =
      Make({.method = CalibrationMethod::kPercentile, .percentile = 100.0});
  ASSERT_THAT(observer->Observe({0.0f, 0.0f}), IsOk());
  ASSERT_THAT(observer->Observe({1.0f, -0.25f}), IsOk());
  ASSERT_THAT(observer->Observe({-5.0f, 2.5f}), IsOk());
  absl::StatusOr<Range> range = observer->ComputeRange();
  ASSERT_THAT(range.status(), IsOk());
  EXPECT_EQ(range->min, -5.0f);
  EXPECT_EQ(range->max, 2.5f);
}

TEST(EntropyThresholdTest, UniformKeepsTheWholeRange) {
  // A uniform histogram loses information to any clipping, and Q of the full
  // range equals P (KL 0), so the threshold is the last edge.
  const std::vector<double> counts(2048, 10.0);
  absl::StatusOr<double> t = EntropyThreshold(counts, 0.01, 127);
  ASSERT_THAT(t.status(), IsOk());
  EXPECT_DOUBLE_EQ(*t, 2048 * 0.01);
}

TEST(EntropyThresholdTest, RareOutlierIsClipped) {
  // Exponential mass near 0 and one far outlier bin: keeping the outlier
  // would spend the 127 levels on empty space, so T stops well before it.
  std::vector<double> counts(2048, 0.0);
  for (int k = 0; k < 400; ++k) counts[k] = 1e6 * std::exp(-k / 60.0);
  counts[2047] = 1.0;
  absl::StatusOr<double> t = EntropyThreshold(counts, 1.0, 127);
  ASSERT_THAT(t.status(), IsOk());
  EXPECT_GE(*t, 127.0);
  EXPECT_LT(*t, 1024.0);
}

TEST(EntropyObserverTest, NonNegativeDataStaysNonNegative) {
  std::unique_ptr<RangeObserver> observer = Make({.method = CalibrationMethod::kEntropy});
  std::vector<float> values;
  for (int i = 0; i < 5000; ++i) values.push_back(std::exp(-i / 500.0f));
  ASSERT_THAT(observer->Observe(values), IsOk());
  absl::StatusOr<Range> range = observer->ComputeRange();
  ASSERT_THAT(range.status(), IsOk());
  EXPECT_GE(range->min, 0.0f);
  EXPECT_GT(range->max, range->min);
  EXPECT_LE(range->max, 1.0f);
}

TEST(ObserverTest, Errors) {
  for (CalibrationMethod method :
       {CalibrationMethod::kMinMax, CalibrationMethod::kMovingAverage,
        CalibrationMethod::kPercentile, CalibrationMethod::kEntropy}) {
    SCOPED_TRACE(CalibrationMethodName(method));
    std::unique_ptr<RangeObserver> observer = Make({.method = method});
    EXPECT_THAT(observer->ComputeRange().status(),
                StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(observer->Observe({1.0f, std::numeric_limits<float>::quiet_NaN()}),
                StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("[1]")));
    EXPECT_THAT(ParseCalibrationMethod(CalibrationMethodName(method)), IsOkAndHolds(method));
  }
  EXPECT_THAT(ParseCalibrationMethod("kl").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, testing::HasSubstr("'kl'")));
  EXPECT_THAT(CreateObserver({.method = CalibrationMethod::kMovingAverage,
                              .averaging_constant = 0.0})
                  .status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(
      CreateObserver({.method = CalibrationMethod::kPercentile, .percentile = 101.0}).status(),
      StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(CreateObserver({.method = CalibrationMethod::kEntropy, .num_bins = 100}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EntropyThreshold(std::vector<double>(10, 1.0), 1.0, 127).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace quantization
}  // namespace edgecompress
