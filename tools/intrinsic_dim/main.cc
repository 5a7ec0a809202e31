// tools/intrinsic_dim: intrinsic dimension of a point cloud (--input, a .npy
// file) or of every layer of a trained ONNX classifier on dataset images
// (--model), with the thesis's significance rule and 1/2-bit allocation.
// Flag parsing and wiring only; the estimators are in intrinsic_dim/.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/intrinsic_dim/dimension_estimates.h"
#include "tools/intrinsic_dim/layer_precision.h"
#include "tools/npy/npy.h"
#include "tools/quantize/ptq_pipeline.h"
#include "tools/result/result_json.h"
#include "training/datasets.h"

ABSL_FLAG(std::string, input, "", "Points: a .npy float32 array [N, D] (or [N, C, H, W]).");
ABSL_FLAG(std::string, model, "", "Or: an fp32 ONNX classifier; every Conv/Gemm layer is analysed.");
ABSL_FLAG(std::string, dataset, "fashion_mnist", "--model: dataset whose test images are fed.");
ABSL_FLAG(std::string, data_dir, "", "--model: dataset folder; empty: the dataset's default.");
ABSL_FLAG(int, samples, 1000, "--model: test images (one point each), spread over the split.");
ABSL_FLAG(int, batch_size, 50, "--model: images per inference batch; divides --samples.");
ABSL_FLAG(int, threads, 1, "--model: XNNPACK threads.");
ABSL_FLAG(double, pca_fraction, 0.95, "PCA dimension: components for this fraction of variance.");
ABSL_FLAG(bool, skip_duplicates, false, "Leave duplicate points out of TwoNN instead of failing.");
ABSL_FLAG(std::string, significance, "twonn_fit",
          "--model: the ID the significance rule reads: twonn_fit, twonn_ml or pca.");
ABSL_FLAG(double, delta, 20.0, "--model: layer l is significant when |ID_l - ID_(l-1)| > delta.");
ABSL_FLAG(std::string, out, "", "Write the JSON result here (atomically); stdout if empty.");

namespace edgecompress::intrinsic_dim_tool {
namespace {

enum ExitCode { kExitOk = 0, kExitBadInput = 2, kExitFailed = 3, kExitOutputFailed = 4 };

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "intrinsic_dim: " << status.message() << "\n";
  return code;
}

absl::Status Prefix(const absl::Status& status, const std::string& what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

nlohmann::json EstimatesJson(const DimensionEstimates& e, const std::string& pca_key) {
  return {{"n_points", e.n_points}, {"dimension", e.dimension}, {"twonn_ml", e.twonn_ml},
          {"twonn_fit", e.twonn_fit}, {pca_key, e.pca}, {"pca_points", e.pca_points},
          {"duplicates", e.duplicates}};
}

int Main() {
  const std::string input = absl::GetFlag(FLAGS_input), model_path = absl::GetFlag(FLAGS_model);
  if (input.empty() == model_path.empty()) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("give exactly one of --input and --model"));
  }
  const EstimateOptions options{.pca_fraction = absl::GetFlag(FLAGS_pca_fraction),
                                .skip_duplicates = absl::GetFlag(FLAGS_skip_duplicates)};
  const std::string pca_key = absl::StrCat("pca_", std::lround(options.pca_fraction * 100));
  nlohmann::json result = tools::NewResult(
      "intrinsic_dim", 0,
      {{"input", input}, {"model", model_path}, {"dataset", absl::GetFlag(FLAGS_dataset)},
       {"samples", absl::StrCat(absl::GetFlag(FLAGS_samples))},
       {"pca_fraction", absl::StrCat(options.pca_fraction)},
       {"skip_duplicates", options.skip_duplicates ? "true" : "false"},
       {"significance", absl::GetFlag(FLAGS_significance)},
       {"delta", absl::StrCat(absl::GetFlag(FLAGS_delta))}});

  if (!input.empty()) {
    absl::StatusOr<npy::NpyArray> points = npy::ReadNpyFile(input);
    if (!points.ok()) return Fail(kExitBadInput, points.status());
    absl::StatusOr<DimensionEstimates> estimates =
        EstimateDimensions(points->values, points->shape, options);
    if (!estimates.ok()) return Fail(kExitBadInput, Prefix(estimates.status(), input));
    std::fprintf(stderr, "%s: %lld points of dimension %lld: TwoNN ML %.3f, fit %.3f; PCA %lld\n",
                 input.c_str(), static_cast<long long>(estimates->n_points),
                 static_cast<long long>(estimates->dimension), estimates->twonn_ml,
                 estimates->twonn_fit, static_cast<long long>(estimates->pca));
    result.update(EstimatesJson(*estimates, pca_key));
  } else {
    absl::StatusOr<Significance> significance =
        ParseSignificance(absl::GetFlag(FLAGS_significance));
    if (!significance.ok()) return Fail(kExitBadInput, significance.status());
    std::ifstream file(model_path, std::ios::binary);
    if (!file) return Fail(kExitBadInput, absl::NotFoundError(absl::StrCat(model_path, ": cannot open")));
    std::stringstream bytes;
    bytes << file.rdbuf();
    onnx::ModelProto model;
    if (!model.ParseFromString(bytes.str())) {
      return Fail(kExitBadInput,
                  absl::DataLossError(absl::StrCat(model_path, ": not an ONNX ModelProto")));
    }
    absl::StatusOr<training::TrainTestSplits> data =
        training::LoadDataset(absl::GetFlag(FLAGS_dataset), absl::GetFlag(FLAGS_data_dir));
    if (!data.ok()) return Fail(kExitBadInput, data.status());
    // Normalised with the training split's statistics, as train_prune trains.
    const training::ChannelStatistics stats = training::ComputeChannelStatistics(data->train);
    const quantize::NormalizedImages images =
        quantize::Normalize(data->test, stats.mean, stats.stddev, absl::GetFlag(FLAGS_samples));
    absl::StatusOr<LayerPrecisionAnalysis> analysis = AnalyzeLayerPrecision(
        model, images.values, images.count,
        {.estimates = options,
         .significance = *significance,
         .bits = {.delta = absl::GetFlag(FLAGS_delta)},
         .batch_size = absl::GetFlag(FLAGS_batch_size),
         .num_threads = absl::GetFlag(FLAGS_threads)});
    if (!analysis.ok()) {
      return Fail(absl::IsFailedPrecondition(analysis.status()) ? kExitFailed : kExitBadInput,
                  Prefix(analysis.status(), model_path));
    }
    std::fprintf(stderr, "%s%lld images; memory reduction of these bit widths %.2fx\n",
                 FormatLayerPrecisionTable(*analysis).c_str(),
                 static_cast<long long>(images.count), analysis->memory_reduction);
    result["samples"] = images.count;
    result["layers"] = LayerPrecisionJson(*analysis, pca_key);
    result["memory_reduction"] = analysis->memory_reduction;
  }

  if (absl::Status s = tools::WriteResult(absl::GetFlag(FLAGS_out), result);
      !s.ok()) {
    return Fail(kExitOutputFailed, s);
  }
  return kExitOk;
}

}  // namespace
}  // namespace edgecompress::intrinsic_dim_tool

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Intrinsic dimension (TwoNN maximum likelihood and fit, PCA) of points or of a model's "
      "layers.\n"
      "  intrinsic_dim --input=points.npy [--out=id.json]\n"
      "  intrinsic_dim --model=model.onnx --dataset=fashion_mnist --samples=1000 --delta=20\n"
      "--model also applies the thesis's rule: layer l is significant (2 bits) when\n"
      "|ID_l - ID_(l-1)| > delta, else binary; the first and last layers stay fp32.\n"
      "Exit codes: 0 ok, 1 bad flag syntax, 2 bad input (file, shape, duplicates, NaN),\n"
      "3 an estimate failed, 4 the output could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::intrinsic_dim_tool::Main();
}
