#include "pruning/sensitivity.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::pruning {
namespace {

using ::testing::DoubleNear;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A stand-in model: conv1 is sensitive (90 - 100 s^2), fc robust (90 - 2 s),
// as the first conv and the large FC usually are (Han et al. Fig. 6).
absl::StatusOr<double> Evaluate(const std::string& layer, double sparsity) {
  if (layer == "conv1") return 90.0 - 100.0 * sparsity * sparsity;
  if (layer == "fc") return 90.0 - 2.0 * sparsity;
  return absl::NotFoundError(absl::StrCat("no layer ", layer));
}

TEST(SensitivityTest, RecordsAccuracyAndDropLayerByLayer) {
  std::vector<std::pair<std::string, double>> calls;
  const auto evaluate = [&calls](const std::string& layer, double sparsity) {
    calls.emplace_back(layer, sparsity);
    return Evaluate(layer, sparsity);
  };
  const std::vector<std::string> layers = {"conv1", "fc"};
  absl::StatusOr<SensitivityTable> table =
      AnalyzeSensitivity(layers, DefaultSensitivitySparsities(), 90.0, evaluate);
  ASSERT_THAT(table, IsOk());
  ASSERT_EQ(table->rows.size(), 18u);
  EXPECT_EQ(calls.size(), 18u);
  EXPECT_EQ(calls[0], std::make_pair(std::string("conv1"), 0.1));
  EXPECT_EQ(calls[9], std::make_pair(std::string("fc"), 0.1));
  // conv1 at 0.5: 90 - 25 = 65, drop 25. fc at 0.9: 88.2, drop 1.8.
  EXPECT_EQ(table->rows[4].layer, "conv1");
  EXPECT_THAT(table->rows[4].accuracy, DoubleNear(65.0, 1e-9));
  EXPECT_THAT(table->rows[4].drop, DoubleNear(25.0, 1e-9));
  EXPECT_EQ(table->rows[17].layer, "fc");
  EXPECT_THAT(table->rows[17].drop, DoubleNear(1.8, 1e-9));
}

// Budget 1.0 point: conv1 drops 1.0 at 0.1 and 4.0 at 0.2 -> 0.1; fc drops
// at most 1.8 at 0.9, within 2.0 everywhere -> 0.9, and 0.5 (drop 1.0) for a
// budget of 1.0. A layer that recovers after a miss does not count.
TEST(SensitivityTest, MaxSparsityWithinDrop) {
  const std::vector<std::string> layers = {"conv1", "fc"};
  absl::StatusOr<SensitivityTable> table =
      AnalyzeSensitivity(layers, DefaultSensitivitySparsities(), 90.0, Evaluate);
  ASSERT_THAT(table, IsOk());
  EXPECT_DOUBLE_EQ(MaxSparsityWithinDrop(*table, "conv1", 1.0 + 1e-9), 0.1);
  EXPECT_DOUBLE_EQ(MaxSparsityWithinDrop(*table, "conv1", 0.5), 0.0);
  EXPECT_DOUBLE_EQ(MaxSparsityWithinDrop(*table, "fc", 2.0), 0.9);
  EXPECT_DOUBLE_EQ(MaxSparsityWithinDrop(*table, "fc", 1.0 + 1e-9), 0.5);
  EXPECT_DOUBLE_EQ(MaxSparsityWithinDrop(*table, "nothing", 5.0), 0.0);

  SensitivityTable bumpy = {.dense_accuracy = 90,
                            .layers = {"x"},
                            .sparsities = {0.1, 0.2, 0.3},
                            .rows = {{"x", 0.1, 89.5, 0.5},
                                     {"x", 0.2, 80, 10},
                                     {"x", 0.3, 89.9, 0.1}}};
  EXPECT_DOUBLE_EQ(MaxSparsityWithinDrop(bumpy, "x", 1.0), 0.1);
}

TEST(SensitivityTest, CsvJsonAndTable) {
  const std::vector<std::string> layers = {"conv1", "fc"};
  const std::vector<double> sparsities = {0.5, 0.9};
  absl::StatusOr<SensitivityTable> table = AnalyzeSensitivity(layers, sparsities, 90.0, Evaluate);
  ASSERT_THAT(table, IsOk());
  EXPECT_EQ(SensitivityCsv(*table),
            "layer,sparsity,accuracy,drop\n"
            "conv1,0.5,65,25\n"
            "conv1,0.9,9,81\n"
            "fc,0.5,89,1\n"
            "fc,0.9,88.2,1.8\n");
  const nlohmann::json json = SensitivityJson(*table);
  EXPECT_EQ(json["dense_accuracy"], 90.0);
  ASSERT_EQ(json["rows"].size(), 4u);
  EXPECT_EQ(json["rows"][3]["layer"], "fc");
  EXPECT_NEAR(json["rows"][3]["drop"].get<double>(), 1.8, 1e-9);
  const std::string text = FormatSensitivityTable(*table);
  EXPECT_THAT(text, HasSubstr("dense: 90.00"));
  EXPECT_THAT(text, HasSubstr("conv1    65.00     9.00"));
}

TEST(SensitivityTest, RejectsBadArgumentsAndPassesEvaluationErrorsOn) {
  const std::vector<std::string> layers = {"conv1", "conv2"};
  EXPECT_THAT(AnalyzeSensitivity(layers, DefaultSensitivitySparsities(), 90.0, Evaluate),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("'conv2' at sparsity 0.1"), HasSubstr("no layer conv2"))));
  const std::vector<std::string> twice = {"fc", "fc"};
  EXPECT_THAT(AnalyzeSensitivity(twice, DefaultSensitivitySparsities(), 90.0, Evaluate),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  const std::vector<std::string> one = {"fc"};
  EXPECT_THAT(AnalyzeSensitivity(one, std::vector<double>{0.5, 0.4}, 90.0, Evaluate),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ascending")));
  EXPECT_THAT(AnalyzeSensitivity(one, std::vector<double>{1.0}, 90.0, Evaluate),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("[0, 1)")));
  EXPECT_THAT(AnalyzeSensitivity({}, DefaultSensitivitySparsities(), 90.0, Evaluate),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(AnalyzeSensitivity(one, {}, 90.0, Evaluate),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace edgecompress::pruning
