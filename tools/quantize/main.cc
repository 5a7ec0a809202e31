// tools/quantize: post-training quantization of an fp32 ONNX classifier.
// Calibrates activation ranges on training images through XNNPACK, writes a
// QDQ (int8), dynamic-range (int8 weights) or fp16 ONNX file, and reports
// test top-1 of both files run through inference/, and their sizes.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "quantization/observers.h"
#include "quantization/onnx_qdq.h"
#include "tools/io/atomic_file.h"
#include "tools/quantize/ptq_pipeline.h"
#include "tools/result/result_json.h"
#include "training/datasets.h"

ABSL_FLAG(std::string, model, "", "The fp32 ONNX model (BatchNorm folded), e.g. model.onnx.");
ABSL_FLAG(std::string, dataset, "fashion_mnist", "Dataset for calibration and evaluation.");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder; empty: the dataset's default.");
ABSL_FLAG(int, calibration_samples, 500, "Training images used for calibration.");
ABSL_FLAG(std::string, calibration, "minmax",
          "Calibration: minmax, moving_average, percentile or entropy.");
ABSL_FLAG(std::string, mode, "int8", "int8 (QDQ), dynamic (int8 weights) or fp16.");
ABSL_FLAG(std::string, out, "", "Where to write the quantized ONNX model (required).");
ABSL_FLAG(std::string, result, "", "Write the JSON result here (atomically); stdout if empty.");
ABSL_FLAG(int, test_samples, 0, "Test images to evaluate; 0: the whole test split.");
ABSL_FLAG(int, batch_size, 50, "Batch size of calibration and evaluation runs.");
ABSL_FLAG(int, threads, 1, "XNNPACK threads.");

namespace {

enum ExitCode { kExitOk = 0, kExitBadInput = 2, kExitFailed = 3, kExitOutputFailed = 4 };

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "quantize: " << status.message() << "\n";
  return code;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Post-training quantization of an fp32 ONNX classifier.\n"
      "  quantize --model=/tmp/lenet_dense/model.onnx --calibration=entropy --mode=int8 "
      "--out=/tmp/lenet_int8.onnx --result=/tmp/lenet_int8.json\n"
      "Exit codes: 0 ok, 1 bad flag syntax (Abseil), 2 bad input (flag value, model or "
      "dataset file), 3 calibration or evaluation failed, 4 an output could not be written.");
  absl::ParseCommandLine(argc, argv);
  namespace q = edgecompress::quantization;
  const std::string model_path = absl::GetFlag(FLAGS_model), out_path = absl::GetFlag(FLAGS_out);
  if (model_path.empty() || out_path.empty()) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--model and --out are required"));
  }
  absl::StatusOr<q::CalibrationMethod> method =
      q::ParseCalibrationMethod(absl::GetFlag(FLAGS_calibration));
  if (!method.ok()) return Fail(kExitBadInput, method.status());
  absl::StatusOr<q::PtqMode> mode = q::ParsePtqMode(absl::GetFlag(FLAGS_mode));
  if (!mode.ok()) return Fail(kExitBadInput, mode.status());
  const int batch_size = absl::GetFlag(FLAGS_batch_size), threads = absl::GetFlag(FLAGS_threads);
  if (batch_size < 1 || threads < 1 || absl::GetFlag(FLAGS_calibration_samples) < batch_size) {
    return Fail(kExitBadInput,
                absl::InvalidArgumentError(
                    "--batch_size and --threads must be >= 1 and --calibration_samples at least "
                    "--batch_size"));
  }
  absl::StatusOr<std::string> fp32_bytes = ReadFile(model_path);
  if (!fp32_bytes.ok()) return Fail(kExitBadInput, fp32_bytes.status());
  onnx::ModelProto fp32;
  if (!fp32.ParseFromString(*fp32_bytes)) {
    return Fail(kExitBadInput,
                absl::DataLossError(absl::StrCat(model_path, ": not an ONNX ModelProto")));
  }
  // Other exporters (PyTorch's among them) keep BatchNormalization: folded
  // first, as quantization needs it gone.
  absl::StatusOr<q::FoldedModel> folded = q::FoldBatchNorms(fp32);
  if (!folded.ok()) {
    return Fail(kExitBadInput, absl::Status(folded.status().code(),
                                            absl::StrCat(model_path, ": ", folded.status().message())));
  }
  fp32 = std::move(folded->model);
  if (folded->folded > 0) {
    std::fprintf(stderr, "folded %d BatchNormalization nodes into their convolutions\n",
                 folded->folded);
  }
  absl::StatusOr<edgecompress::training::TrainTestSplits> data = edgecompress::training::LoadDataset(
      absl::GetFlag(FLAGS_dataset), absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) return Fail(kExitBadInput, data.status());
  const edgecompress::training::ChannelStatistics stats =
      edgecompress::training::ComputeChannelStatistics(data->train);
  const edgecompress::quantize::NormalizedImages calibration = edgecompress::quantize::Normalize(
      data->train, stats.mean, stats.stddev, absl::GetFlag(FLAGS_calibration_samples));
  const edgecompress::quantize::NormalizedImages test = edgecompress::quantize::Normalize(
      data->test, stats.mean, stats.stddev, absl::GetFlag(FLAGS_test_samples));

  std::map<std::string, q::Range> ranges;
  if (*mode == q::PtqMode::kInt8) {
    absl::StatusOr<std::vector<std::string>> names = q::ActivationsToQuantize(fp32);
    if (!names.ok()) return Fail(kExitBadInput, absl::Status(names.status().code(),
                                            absl::StrCat(model_path, ": ", names.status().message())));
    absl::StatusOr<std::map<std::string, q::Range>> calibrated = edgecompress::quantize::Calibrate(
        fp32, *names, calibration, {.method = *method}, batch_size, threads);
    if (!calibrated.ok()) return Fail(kExitFailed, calibrated.status());
    ranges = *std::move(calibrated);
    for (const auto& [name, range] : ranges) {
      std::fprintf(stderr, "range %-28s [%9.4f, %9.4f]\n", name.c_str(), range.min, range.max);
    }
  }
  absl::StatusOr<onnx::ModelProto> quantized = q::QuantizeModel(fp32, *mode, ranges);
  if (!quantized.ok()) {
    return Fail(kExitBadInput, absl::Status(quantized.status().code(),
                                            absl::StrCat(model_path, ": ",
                                                         quantized.status().message())));
  }
  const std::string quantized_bytes = quantized->SerializeAsString();
  if (absl::Status s = edgecompress::tools::WriteFileAtomically(out_path, quantized_bytes);
      !s.ok()) {
    return Fail(kExitOutputFailed, s);
  }

  absl::StatusOr<edgecompress::quantize::Top1Result> fp32_top1 =
      edgecompress::quantize::EvaluateTop1(*fp32_bytes, model_path, test, batch_size, threads);
  if (!fp32_top1.ok()) return Fail(kExitFailed, fp32_top1.status());
  absl::StatusOr<edgecompress::quantize::Top1Result> q_top1 =
      edgecompress::quantize::EvaluateTop1(quantized_bytes, out_path, test, batch_size, threads);
  if (!q_top1.ok()) return Fail(kExitFailed, q_top1.status());

  const double ratio = static_cast<double>(fp32_bytes->size()) / quantized_bytes.size();
  std::fprintf(stderr,
               "%s (%s, %d calibration samples): test top-1 fp32 %.2f%% -> %.2f%% (%+.2f pt), "
               "%zu -> %zu bytes (%.2fx smaller), %d ops int8\n",
               q::PtqModeName(*mode).c_str(), q::CalibrationMethodName(*method).c_str(),
               static_cast<int>(calibration.count), fp32_top1->top1_percent,
               q_top1->top1_percent, q_top1->top1_percent - fp32_top1->top1_percent,
               fp32_bytes->size(), quantized_bytes.size(), ratio, q_top1->int8_nodes);

  nlohmann::json result = edgecompress::tools::NewResult(
      "quantize", 0,
      {{"model", model_path},
       {"dataset", absl::GetFlag(FLAGS_dataset)},
       {"data_dir", absl::GetFlag(FLAGS_data_dir)},
       {"calibration_samples", absl::StrCat(absl::GetFlag(FLAGS_calibration_samples))},
       {"calibration", absl::GetFlag(FLAGS_calibration)},
       {"mode", absl::GetFlag(FLAGS_mode)},
       {"out", out_path},
       {"test_samples", absl::StrCat(absl::GetFlag(FLAGS_test_samples))},
       {"batch_size", absl::StrCat(batch_size)},
       {"threads", absl::StrCat(threads)}});
  result["mode"] = q::PtqModeName(*mode);
  result["folded_batch_norms"] = folded->folded;
  result["calibration"] = q::CalibrationMethodName(*method);
  result["calibration_samples"] = calibration.count;
  result["test_samples"] = test.count;
  result["fp32"] = {{"path", model_path},
                    {"test_top1", fp32_top1->top1_percent},
                    {"bytes", fp32_bytes->size()}};
  result["quantized"] = {{"path", out_path},
                         {"test_top1", q_top1->top1_percent},
                         {"bytes", quantized_bytes.size()},
                         {"int8_ops", q_top1->int8_nodes}};
  result["top1_change_pt"] = q_top1->top1_percent - fp32_top1->top1_percent;
  result["size_ratio"] = ratio;
  nlohmann::json& json_ranges = result["activation_ranges"];
  json_ranges = nlohmann::json::object();
  for (const auto& [name, range] : ranges) json_ranges[name] = {range.min, range.max};
  const std::string result_path = absl::GetFlag(FLAGS_result);
  if (result_path.empty()) {
    std::cout << result.dump(2) << "\n";
  } else if (absl::Status s = edgecompress::tools::WriteJsonFile(result_path, result); !s.ok()) {
    return Fail(kExitOutputFailed, s);
  }
  return kExitOk;
}
