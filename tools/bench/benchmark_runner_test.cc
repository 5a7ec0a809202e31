#include "tools/bench/benchmark_runner.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::bench {
namespace {

using ::testing::DoubleNear;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

constexpr char kSmallModel[] = "inference/testdata/small_cnn.onnx";

// ---------------------------------------------------------------------------
// Statistics: goldens computed by hand (and by numpy.percentile, whose
// default "linear" method is the convention here).

// 1..10: rank p/100 * 9; p50 = 5 + 0.5 = 5.5, p90 = 9 + 0.1 = 9.1,
// p99 = 9 + 0.91 = 9.91, p0 = 1, p100 = 10.
TEST(PercentileTest, OneToTen) {
  const std::vector<double> sorted = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  EXPECT_DOUBLE_EQ(Percentile(sorted, 50), 5.5);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 90), 9.1);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 99), 9.91);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 0), 1.0);
  EXPECT_DOUBLE_EQ(Percentile(sorted, 100), 10.0);
  EXPECT_DOUBLE_EQ(Percentile(std::vector<double>{7}, 99), 7.0);
}

// {2, 4, 4, 4, 5, 5, 7, 9} (shuffled): mean 5; squared deviations sum to 32,
// so the sample stdev is sqrt(32 / 7) = 2.1380899 (the population one is 2);
// median (4 + 5) / 2 = 4.5; p90 at rank 6.3 = 7 + 0.3 * 2 = 7.6; p99 at rank
// 6.93 = 7 + 0.93 * 2 = 8.86.
TEST(LatencyStatsTest, Golden) {
  absl::StatusOr<LatencyStats> stats = ComputeLatencyStats({5, 9, 4, 2, 7, 4, 5, 4});
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->count, 8u);
  EXPECT_DOUBLE_EQ(stats->mean_ms, 5.0);
  EXPECT_NEAR(stats->stdev_ms, 2.1380899, 1e-7);
  EXPECT_DOUBLE_EQ(stats->median_ms, 4.5);
  EXPECT_NEAR(stats->p90_ms, 7.6, 1e-12);
  EXPECT_NEAR(stats->p99_ms, 8.86, 1e-12);
  EXPECT_DOUBLE_EQ(stats->min_ms, 2.0);
  EXPECT_DOUBLE_EQ(stats->max_ms, 9.0);
}

TEST(LatencyStatsTest, OneSampleAndBadSamples) {
  absl::StatusOr<LatencyStats> one = ComputeLatencyStats({3.25});
  ASSERT_THAT(one, IsOk());
  EXPECT_EQ(one->stdev_ms, 0.0);
  EXPECT_EQ(one->p99_ms, 3.25);
  EXPECT_EQ(one->min_ms, 3.25);
  EXPECT_THAT(ComputeLatencyStats({}), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ComputeLatencyStats({1.0, std::nan("")}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("sample 1 is nan")));
}

// Order statistics are ordered, whatever the samples.
TEST(LatencyStatsTest, OrderedOnRandomSamples) {
  std::mt19937 rng(testing::UnitTest::GetInstance()->random_seed());
  std::lognormal_distribution<double> latency(0.0, 1.0);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> samples(1 + trial * 7);
    for (double& s : samples) s = latency(rng);
    absl::StatusOr<LatencyStats> s = ComputeLatencyStats(samples);
    ASSERT_THAT(s, IsOk());
    EXPECT_LE(s->min_ms, s->median_ms);
    EXPECT_LE(s->median_ms, s->p90_ms);
    EXPECT_LE(s->p90_ms, s->p99_ms);
    EXPECT_LE(s->p99_ms, s->max_ms);
    EXPECT_LE(s->min_ms, s->mean_ms);
    EXPECT_LE(s->mean_ms, s->max_ms);
    EXPECT_GE(s->stdev_ms, 0.0);
  }
}

// ---------------------------------------------------------------------------
// Repetitions, driven by a clock the runs advance.

class FakeClock : public Clock {
 public:
  double NowSeconds() override { return now_; }
  void Advance(double seconds) { now_ += seconds; }

 private:
  double now_ = 100.0;
};

// A takes 1/512 s (1.953125 ms), B 1/256 s (3.90625 ms), both exact in
// binary. min_seconds 0.05 needs ceil(0.05 * 512) = 26 runs of A (and 13 of
// B); interleaving runs B along until A is done: 26 each, after 2 warm-ups.
TEST(MeasureInterleavedTest, RunsUntilBothMinimaAndInterleaves) {
  FakeClock clock;
  std::string order;
  const std::function<absl::Status()> runs[] = {
      [&] {
        order += 'A';
        clock.Advance(1.0 / 512);
        return absl::OkStatus();
      },
      [&] {
        order += 'B';
        clock.Advance(1.0 / 256);
        return absl::OkStatus();
      },
  };
  RepetitionPolicy policy;
  policy.warmup_runs = 2;
  policy.min_reps = 5;
  policy.min_seconds = 0.05;
  absl::StatusOr<std::vector<std::vector<double>>> latencies =
      MeasureInterleaved(runs, policy, clock);
  ASSERT_THAT(latencies, IsOk());
  ASSERT_THAT(*latencies, SizeIs(2));
  EXPECT_THAT((*latencies)[0], SizeIs(26));
  EXPECT_THAT((*latencies)[1], SizeIs(26));
  EXPECT_THAT((*latencies)[0], Each(1.953125));
  EXPECT_THAT((*latencies)[1], Each(3.90625));
  std::string expected;
  for (int i = 0; i < 2 + 26; ++i) expected += "AB";
  EXPECT_EQ(order, expected);
}

TEST(MeasureInterleavedTest, MinRepsAloneAndMaxRepsCap) {
  FakeClock clock;
  int calls = 0;
  const std::function<absl::Status()> run[] = {[&] {
    ++calls;
    clock.Advance(0.5);
    return absl::OkStatus();
  }};
  RepetitionPolicy policy;
  policy.warmup_runs = 0;
  policy.min_reps = 3;
  policy.min_seconds = 0.0;
  absl::StatusOr<std::vector<std::vector<double>>> latencies =
      MeasureInterleaved(run, policy, clock);
  ASSERT_THAT(latencies, IsOk());
  EXPECT_THAT((*latencies)[0], ElementsAre(500.0, 500.0, 500.0));
  policy.min_seconds = 1e9;
  policy.max_reps = 7;
  latencies = MeasureInterleaved(run, policy, clock);
  ASSERT_THAT(latencies, IsOk());
  EXPECT_THAT((*latencies)[0], SizeIs(7));
  EXPECT_EQ(calls, 10);
}

TEST(MeasureInterleavedTest, ReturnsTheFirstFailureAndRejectsBadPolicies) {
  FakeClock clock;
  int calls = 0;
  const std::function<absl::Status()> run[] = {
      [&] { return ++calls == 4 ? absl::InternalError("run 4 broke") : absl::OkStatus(); }};
  RepetitionPolicy policy;
  policy.warmup_runs = 1;
  policy.min_reps = 10;
  policy.min_seconds = 0;
  EXPECT_THAT(MeasureInterleaved(run, policy, clock),
              StatusIs(absl::StatusCode::kInternal, "run 4 broke"));
  RepetitionPolicy bad;
  bad.min_reps = 0;
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("min_reps 0 must be at least 1")));
  bad = RepetitionPolicy();
  bad.min_seconds = -1;
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = RepetitionPolicy();
  bad.warmup_runs = -2;
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  bad = RepetitionPolicy();
  bad.max_reps = 3;
  EXPECT_THAT(ValidatePolicy(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("max_reps 3 is below min_reps 20")));
}

// ---------------------------------------------------------------------------
// Flags.

TEST(FlagTest, EnginesAndPositiveLists) {
  EngineList engines;
  std::string error;
  ASSERT_TRUE(AbslParseFlag("dense,int8,auto", &engines, &error));
  EXPECT_THAT(engines.engines, ElementsAre(Engine::kDense, Engine::kInt8, Engine::kAuto));
  EXPECT_EQ(AbslUnparseFlag(engines), "dense,int8,auto");
  EXPECT_FALSE(AbslParseFlag("dense,fast", &engines, &error));
  EXPECT_THAT(error, HasSubstr("'fast' is not an engine"));
  EXPECT_FALSE(AbslParseFlag("", &engines, &error));

  PositiveIntList list;
  ASSERT_TRUE(AbslParseFlag("1,8,64", &list, &error));
  EXPECT_THAT(list.values, ElementsAre(1, 8, 64));
  EXPECT_EQ(AbslUnparseFlag(list), "1,8,64");
  for (const char* bad : {"0", "-1", "x", "", "1,,2", "5000"}) {
    SCOPED_TRACE(bad);
    EXPECT_FALSE(AbslParseFlag(bad, &list, &error));
  }

  EXPECT_TRUE(UsesSparseModel(Engine::kSparse));
  EXPECT_TRUE(UsesSparseModel(Engine::kAuto));
  EXPECT_FALSE(UsesSparseModel(Engine::kDense));
  EXPECT_FALSE(UsesSparseModel(Engine::kInt8));
}

// ---------------------------------------------------------------------------
// Memory and whole points.

TEST(MemoryTest, ReadsAndResetsThePeak) {
  absl::StatusOr<MemoryUsage> before = ReadMemoryUsage();
  ASSERT_THAT(before, IsOk());
  EXPECT_GT(before->rss_bytes, 0);
  EXPECT_GE(before->peak_rss_bytes, before->rss_bytes);
  {
    // 64 MiB touched, then released (large blocks go back to the kernel).
    auto block = std::make_unique<char[]>(64 << 20);
    for (size_t i = 0; i < (64u << 20); i += 4096) block[i] = 1;
    absl::StatusOr<MemoryUsage> during = ReadMemoryUsage();
    ASSERT_THAT(during, IsOk());
    EXPECT_GE(during->peak_rss_bytes, before->rss_bytes + (60 << 20));
  }
  if (!ResetPeakRss()) GTEST_SKIP() << "/proc/self/clear_refs refused the reset";
  absl::StatusOr<MemoryUsage> after = ReadMemoryUsage();
  ASSERT_THAT(after, IsOk());
  EXPECT_LT(after->peak_rss_bytes, before->rss_bytes + (32 << 20));
}

TEST(MeasurePointTest, SmallModelWithCompare) {
  SteadyClock clock;
  absl::StatusOr<LoadedModel> model = LoadModel(kSmallModel, 3, clock);
  ASSERT_THAT(model, IsOk());
  EXPECT_GT(model->file_bytes, 1000);
  absl::StatusOr<LoadedModel> same = LoadModel(kSmallModel, 3, clock);
  ASSERT_THAT(same, IsOk());
  const LoadedModel* models[] = {&*model, &*same};
  PointConfig config;
  config.policy.warmup_runs = 1;
  config.policy.min_reps = 4;
  config.policy.min_seconds = 0;
  absl::StatusOr<PointResult> point = MeasurePoint(models, config, clock);
  ASSERT_THAT(point, IsOk());
  EXPECT_EQ(point->batch_size, 3u);
  ASSERT_THAT(point->models, SizeIs(2));
  for (const ModelMeasurement& m : point->models) {
    EXPECT_EQ(m.latency.count, 4u);
    EXPECT_GT(m.latency.min_ms, 0.0);
    EXPECT_THAT(m.input_shape, ElementsAre(3, 3, 16, 16));
    EXPECT_THAT(m.output_shape, ElementsAre(3, 10));
    EXPECT_NEAR(m.items_per_second, 3 * 1000.0 / m.latency.mean_ms, 1e-6);
  }
  ASSERT_TRUE(point->speedup.has_value());
  EXPECT_NEAR(*point->speedup,
              point->models[1].latency.median_ms / point->models[0].latency.median_ms, 1e-12);
  EXPECT_GT(point->peak_rss_bytes, 0);

  const nlohmann::json json = ToJson(*point);
  EXPECT_EQ(json["model"], kSmallModel);
  EXPECT_EQ(json["batch_size"], 3);
  EXPECT_EQ(json["threads"], 1);
  EXPECT_EQ(json["engine"], "dense");
  EXPECT_EQ(json["repetitions"], 4);
  for (const char* key : {"mean", "median", "p90", "p99", "min", "max", "stdev"}) {
    EXPECT_TRUE(json["latency_ms"].contains(key)) << key;
  }
  EXPECT_TRUE(json.contains("compare"));
  EXPECT_TRUE(json.contains("speedup"));
  EXPECT_THAT(FormatTable({*point}), HasSubstr("small_cnn.onnx"));

  // The sparse engines need the model imported for them.
  config.engine = Engine::kSparse;
  EXPECT_THAT(MeasurePoint(models, config, clock),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("with_sparse")));
  EXPECT_THAT(LoadModel("inference/testdata/missing.onnx", 1, clock),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing.onnx")));
}

TEST(MeasurePointTest, SparseEnginesReportTheirLayers) {
  SteadyClock clock;
  absl::StatusOr<LoadedModel> model = LoadModel(kSmallModel, 2, clock, /*with_sparse=*/true);
  ASSERT_THAT(model, IsOk());
  ASSERT_NE(model->sparse, nullptr);
  const LoadedModel* models[] = {&*model};
  PointConfig config;
  config.policy.warmup_runs = 0;
  config.policy.min_reps = 2;
  config.policy.min_seconds = 0;
  for (Engine engine : {Engine::kSparse, Engine::kAuto}) {
    SCOPED_TRACE(EngineName(engine));
    config.engine = engine;
    absl::StatusOr<PointResult> point = MeasurePoint(models, config, clock);
    ASSERT_THAT(point, IsOk());
    const ModelMeasurement& m = point->models[0];
    EXPECT_FALSE(m.spmm_kernel.empty());
    EXPECT_EQ(m.sparse_candidates, static_cast<int>(model->sparse->candidates().size()));
    const nlohmann::json json = ToJson(*point);
    EXPECT_EQ(json["engine"], EngineName(engine));
    EXPECT_EQ(json["sparse"]["kernel"], m.spmm_kernel);
    EXPECT_EQ(json["sparse"]["layers"].size(), m.decisions.size());
  }
}

// The row a grid point becomes in the metrics run: the --model's numbers
// under the engine's prefix; speedup only with --compare.
TEST(PointMetricsTest, NamesTheModelsNumbersUnderTheEngine) {
  PointResult point;
  point.batch_size = 8;
  point.num_threads = 2;
  point.engine = Engine::kSparse;
  point.peak_rss_bytes = 1 << 20;
  ModelMeasurement model;
  model.file_bytes = 1234;
  model.latency.median_ms = 1.5;
  model.latency.p99_ms = 2.5;
  model.items_per_second = 5333.0;
  point.models = {model, model};
  training::MetricValues values = PointMetrics(point);
  EXPECT_EQ(values.at("bench/sparse/batch_size"), 8);
  EXPECT_EQ(values.at("bench/sparse/threads"), 2);
  EXPECT_EQ(values.at("bench/sparse/latency_median_ms"), 1.5);
  EXPECT_EQ(values.at("bench/sparse/latency_p99_ms"), 2.5);
  EXPECT_EQ(values.at("bench/sparse/model_bytes"), 1234);
  EXPECT_EQ(values.at("bench/sparse/peak_rss_bytes"), 1 << 20);
  EXPECT_EQ(values.count("bench/sparse/speedup"), 0u);
  point.speedup = 1.7;
  EXPECT_EQ(PointMetrics(point).at("bench/sparse/speedup"), 1.7);
}

}  // namespace
}  // namespace edgecompress::bench
