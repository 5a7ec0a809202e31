#include "clustering/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress {
namespace clustering {
namespace {

using ::testing::FloatNear;
using ::testing::HasSubstr;
using ::testing::Pointwise;

double Wcss(const std::vector<float>& weights, const KMeansResult& result) {
  double sum = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double d = static_cast<double>(weights[i]) - result.centroids[result.assignments[i]];
    sum += d * d;
  }
  return sum;
}

// Deep Compression, Figure 3: a 4x4 weight matrix shared among 4 clusters.
// Linear init over [-1.08, 2.12] puts centroids at -1.08, -0.0133, 1.0533,
// 2.12; one update moves them to the cluster means -4.00 / 4 = -1.00,
// 0.00 / 5 = 0.00, 4.50 / 3 = 1.50 and 8.00 / 4 = 2.00, the figure's
// centroids, and the next assignment changes nothing. The indices are the
// figure's cluster index matrix.
TEST(KMeans1DTest, DeepCompressionFigure3) {
  const std::vector<float> weights = {
      2.09f,  -0.98f, 1.48f,  0.09f,   //
      0.05f,  -0.14f, -1.08f, 2.12f,   //
      -0.91f, 1.92f,  0.0f,   -1.03f,  //
      1.87f,  0.0f,   1.53f,  1.49f,
  };
  absl::StatusOr<KMeansResult> result = KMeans1D(weights, {/*num_clusters=*/4});
  ASSERT_THAT(result, IsOk());
  EXPECT_THAT(result->centroids,
              Pointwise(FloatNear(1e-6f), std::vector<float>{-1.0f, 0.0f, 1.5f, 2.0f}));
  // clang-format off
  const std::vector<uint16_t> figure_indices = {
      3, 0, 2, 1,
      1, 1, 0, 3,
      0, 3, 1, 0,
      3, 1, 2, 2,
  };
  // clang-format on
  EXPECT_EQ(result->assignments, figure_indices);
  EXPECT_EQ(result->iterations, 1);
  EXPECT_TRUE(result->converged);
}

// Small hand-worked cases for the conventions in kmeans.h.
struct SmallCase {
  const char* name;
  std::vector<float> weights;
  KMeansOptions options;
  std::vector<float> centroids;
  std::vector<uint16_t> assignments;
  int32_t iterations;
  bool converged;
};

TEST(KMeans1DTest, SmallCases) {
  const SmallCase kCases[] = {
      // Init [0, 2]; 1 is equidistant and goes to the lower index 0.
      {"tie_at_init", {0.0f, 1.0f, 2.0f}, {2, 0}, {0.0f, 2.0f}, {0, 0, 1}, 0, false},
      // Then c0 = mean(0, 1) = 0.5 and nothing moves.
      {"tie_then_update", {0.0f, 1.0f, 2.0f}, {2, 10}, {0.5f, 2.0f}, {0, 0, 1}, 1, true},
      // Init [0, 5, 10]; nothing is near 5, so cluster 1 stays empty at 5.
      {"empty_cluster",
       {0.0f, 0.0f, 10.0f, 10.0f},
       {3, 10},
       {0.0f, 5.0f, 10.0f},
       {0, 0, 2, 2},
       1,
       true},
      // k > n and all weights equal: every centroid is 3, all ties go to 0.
      {"all_equal", {3.0f, 3.0f, 3.0f}, {4, 10}, {3.0f, 3.0f, 3.0f, 3.0f}, {0, 0, 0}, 1, true},
      // k = 1 starts at min and moves to the mean.
      {"one_cluster", {1.0f, 2.0f, 6.0f}, {1, 10}, {3.0f}, {0, 0, 0}, 1, true},
      // One weight per cluster: linspace lands on them exactly.
      {"k_equals_n", {-1.0f, 0.0f, 1.0f}, {3, 10}, {-1.0f, 0.0f, 1.0f}, {0, 1, 2}, 1, true},
  };
  for (const SmallCase& c : kCases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<KMeansResult> result = KMeans1D(c.weights, c.options);
    ASSERT_THAT(result, IsOk());
    EXPECT_THAT(result->centroids, Pointwise(FloatNear(1e-6f), c.centroids));
    EXPECT_EQ(result->assignments, c.assignments);
    EXPECT_EQ(result->iterations, c.iterations);
    EXPECT_EQ(result->converged, c.converged);
  }
}

TEST(KMeans1DTest, MaxClustersWithFewWeights) {
  absl::StatusOr<KMeansResult> result = KMeans1D({-1.0f, 0.5f, 1.0f}, {kMaxClusters, 5});
  ASSERT_THAT(result, IsOk());
  ASSERT_EQ(result->centroids.size(), kMaxClusters);
  EXPECT_EQ(result->centroids.front(), -1.0f);
  EXPECT_EQ(result->centroids.back(), 1.0f);
  EXPECT_EQ(result->assignments.front(), 0);
  EXPECT_EQ(result->assignments.back(), kMaxClusters - 1);
  EXPECT_NEAR(result->centroids[result->assignments[1]], 0.5f, 2.0f / kMaxClusters);
}

// Properties on Laplacian weights (the usual shape of trained layers), k from
// 2 to 256: nearest assignment with the tie rule (against brute force),
// centroids are the means of their members at convergence, sorted, WCSS
// never increases, and the result is deterministic.
TEST(KMeans1DTest, PropertiesOnRandomWeights) {
  const int seed = ::testing::UnitTest::GetInstance()->random_seed();
  SCOPED_TRACE(absl::StrCat("--gtest_random_seed=", seed));
  std::mt19937 rng(seed);
  std::exponential_distribution<float> magnitude(20.0f);
  std::bernoulli_distribution negative(0.5);
  std::vector<float> weights(4000);
  for (float& w : weights) w = negative(rng) ? -magnitude(rng) : magnitude(rng);

  for (int32_t k : {2, 4, 16, 32, 256}) {
    SCOPED_TRACE(absl::StrCat("k=", k));
    absl::StatusOr<KMeansResult> result = KMeans1D(weights, {k, 100000});
    ASSERT_THAT(result, IsOk());
    ASSERT_TRUE(result->converged) << "after " << result->iterations << " iterations";
    ASSERT_EQ(result->centroids.size(), k);
    ASSERT_EQ(result->assignments.size(), weights.size());
    EXPECT_TRUE(std::is_sorted(result->centroids.begin(), result->centroids.end()));

    std::vector<double> sums(k, 0.0);
    std::vector<int> counts(k, 0);
    for (size_t i = 0; i < weights.size(); ++i) {
      int best = 0;
      for (int j = 1; j < k; ++j) {
        if (std::fabs(static_cast<double>(weights[i]) - result->centroids[j]) <
            std::fabs(static_cast<double>(weights[i]) - result->centroids[best])) {
          best = j;
        }
      }
      ASSERT_EQ(result->assignments[i], best) << "weight " << i << " = " << weights[i];
      sums[best] += weights[i];
      ++counts[best];
    }
    for (int j = 0; j < k; ++j) {
      if (counts[j] == 0) continue;
      EXPECT_NEAR(result->centroids[j], sums[j] / counts[j],
                  1e-6 * std::fabs(sums[j] / counts[j]) + 1e-9)
          << "centroid " << j;
    }

    absl::StatusOr<KMeansResult> again = KMeans1D(weights, {k, 100000});
    ASSERT_THAT(again, IsOk());
    EXPECT_EQ(again->centroids, result->centroids);
    EXPECT_EQ(again->assignments, result->assignments);

    // Lloyd's WCSS is non-increasing: stop after 0, 1, 2, ... updates.
    double previous = std::numeric_limits<double>::infinity();
    for (int32_t cap = 0; cap <= std::min(result->iterations, 30); ++cap) {
      absl::StatusOr<KMeansResult> partial = KMeans1D(weights, {k, cap});
      ASSERT_THAT(partial, IsOk());
      const double wcss = Wcss(weights, *partial);
      EXPECT_LE(wcss, previous * (1.0 + 1e-9)) << "after " << cap << " updates";
      previous = wcss;
    }
    EXPECT_LE(Wcss(weights, *result), previous * (1.0 + 1e-9));
  }
}

// k-means++ seeding: deterministic by seed, different seeds may start
// differently, and the converged result has the same guarantees as the
// linear start (sorted centroids, every weight at its nearest centroid).
// Three well-separated groups {0, 0.1}, {10, 10.1}, {20, 20.1} with k = 3:
// D^2 seeding puts one centroid in each group with probability > 0.99 for
// any first pick (a second pick in the first's group has D^2 <= 0.01 of a
// total >= 100), so every seed converges to the group means.
TEST(KMeans1DTest, KMeansPlusPlusSeeding) {
  const std::vector<float> groups = {0.0f, 0.1f, 10.0f, 10.1f, 20.0f, 20.1f};
  for (uint64_t seed : {0u, 1u, 2u, 3u, 4u}) {
    absl::StatusOr<KMeansResult> result = KMeans1D(
        groups, {.num_clusters = 3, .init = KMeansInit::kKMeansPlusPlus, .seed = seed});
    ASSERT_THAT(result, IsOk());
    EXPECT_TRUE(result->converged);
    EXPECT_THAT(result->centroids,
                Pointwise(FloatNear(1e-5), std::vector<float>{0.05f, 10.05f, 20.05f}))
        << "seed " << seed;
    EXPECT_EQ(result->assignments, (std::vector<uint16_t>{0, 0, 1, 1, 2, 2}));
  }

  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  std::vector<float> weights(3000);
  for (float& w : weights) w = normal(rng);
  const KMeansOptions options{.num_clusters = 16, .init = KMeansInit::kKMeansPlusPlus, .seed = 9};
  absl::StatusOr<KMeansResult> a = KMeans1D(weights, options);
  absl::StatusOr<KMeansResult> b = KMeans1D(weights, options);
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_EQ(a->centroids, b->centroids);
  EXPECT_EQ(a->assignments, b->assignments);
  EXPECT_TRUE(std::is_sorted(a->centroids.begin(), a->centroids.end()));
  // Seeding alone (0 updates) already places the centroids on weights.
  absl::StatusOr<KMeansResult> seeded = KMeans1D(
      weights, {.num_clusters = 16, .max_iterations = 0, .init = KMeansInit::kKMeansPlusPlus,
                .seed = 9});
  ASSERT_THAT(seeded, IsOk());
  for (float c : seeded->centroids) {
    EXPECT_NE(std::find(weights.begin(), weights.end(), c), weights.end()) << c;
  }

  // Fewer distinct values than clusters: the extra centroids repeat and stay empty.
  absl::StatusOr<KMeansResult> few = KMeans1D(
      std::vector<float>{1.0f, 1.0f, 2.0f},
      {.num_clusters = 4, .init = KMeansInit::kKMeansPlusPlus, .seed = 3});
  ASSERT_THAT(few, IsOk());
  EXPECT_EQ(few->centroids.size(), 4u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(few->centroids[few->assignments[i]], i < 2 ? 1.0f : 2.0f);
  }
}

TEST(KMeans1DTest, RejectsBadArguments) {
  const std::vector<float> weights = {1.0f, 2.0f};
  EXPECT_THAT(KMeans1D({}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weights is empty")));
  EXPECT_THAT(KMeans1D(weights, {0, 10}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_clusters is 0")));
  EXPECT_THAT(KMeans1D(weights, {kMaxClusters + 1, 10}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_clusters is 65537")));
  EXPECT_THAT(KMeans1D(weights, {2, -1}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("max_iterations is -1")));
  EXPECT_THAT(KMeans1D({1.0f, std::nanf("")}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weights[1] is nan")));
}

// Sizes and ratios from r = n b / (n ceil(log2 k) + k b).
struct SizeCase {
  const char* name;
  int64_t num_weights, num_clusters;
  int64_t coded_bits;
  double ratio;
};

constexpr SizeCase kSizeCases[] = {
    // Deep Compression Sec. 3: "16 * 32 / (4 * 32 + 2 * 16) = 3.2".
    {"paper_example", 16, 4, 16 * 2 + 4 * 32, 3.2},
    // One cluster needs no index bits: 100 * 32 / 32.
    {"one_cluster", 100, 1, 32, 100.0},
    // k = 5 needs 3 bits: 10 * 3 + 5 * 32 = 190; 320 / 190.
    {"non_power_of_two", 10, 5, 190, 320.0 / 190.0},
    // A 5-bit (32-cluster) layer of 1M weights, the paper's FC setting:
    // 5,000,000 + 1,024 bits; 32e6 / 5,001,024 = 6.39869.
    {"fc_5_bits", 1000000, 32, 5001024, 32e6 / 5001024.0},
    // The largest k: 16-bit codes.
    {"max_clusters", 1 << 20, kMaxClusters, (int64_t{1} << 20) * 16 + 65536 * 32,
     32.0 * (1 << 20) / ((int64_t{1} << 20) * 16 + 65536 * 32)},
    {"no_weights", 0, 4, 128, 0.0},
};

TEST(CodedSizeTest, Goldens) {
  for (const SizeCase& c : kSizeCases) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(CodedSizeBits(c.num_weights, c.num_clusters), IsOk());
    EXPECT_EQ(CodedSizeBits(c.num_weights, c.num_clusters).value_or(-1), c.coded_bits);
    EXPECT_DOUBLE_EQ(CompressionRatio(c.num_weights, c.num_clusters).value_or(-1.0), c.ratio);
  }
  // 8-bit weights shared among 4 clusters: 16 * 8 / (16 * 2 + 4 * 8) = 2.
  EXPECT_DOUBLE_EQ(CompressionRatio(16, 4, 8).value_or(-1.0), 2.0);
}

TEST(CodedSizeTest, RejectsBadArguments) {
  EXPECT_THAT(CodedSizeBits(-1, 4),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_weights is -1")));
  EXPECT_THAT(CodedSizeBits(16, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("num_clusters is 0")));
  EXPECT_THAT(CodedSizeBits(16, 4, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("centroid_bits is 0")));
  EXPECT_THAT(CompressionRatio(16, 4, 0),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("weight_bits is 0")));
  EXPECT_THAT(CodedSizeBits(std::numeric_limits<int64_t>::max() / 2, 4),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overflows")));
  EXPECT_THAT(CodedSizeBits(1, std::numeric_limits<int64_t>::max() / 2),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overflows")));
}

}  // namespace
}  // namespace clustering
}  // namespace edgecompress
