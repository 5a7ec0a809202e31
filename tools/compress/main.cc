// tools/compress: Deep Compression's weight sharing and Huffman coding of a
// (pruned) ONNX classifier: clusters every Conv/Gemm weight's non-zeros,
// writes the shared fp32 model, evaluates test top-1 of the input and of the
// shared model through inference/, and reports the coded size per layer.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/compress/weight_sharing.h"
#include "tools/io/atomic_file.h"
#include "tools/quantize/ptq_pipeline.h"
#include "tools/result/result_json.h"
#include "training/datasets.h"

ABSL_FLAG(std::string, model, "", "The fp32 ONNX model, pruned or not (train_prune's model.onnx).");
ABSL_FLAG(std::string, out, "", "Where to write the weight-shared ONNX model (required).");
ABSL_FLAG(std::string, result, "", "Write the JSON result here (atomically); stdout if empty.");
ABSL_FLAG(std::string, dataset, "fashion_mnist", "Dataset for evaluation.");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder; empty: the dataset's default.");
ABSL_FLAG(int, test_samples, 0, "Test images to evaluate; 0: the whole test split.");
ABSL_FLAG(int, clusters, 16, "Shared values per layer (k of k-means).");
ABSL_FLAG(std::string, init, "linear", "k-means start: linear (Deep Compression's) or kmeans++.");
ABSL_FLAG(uint64_t, seed, 0, "Seed of kmeans++.");
ABSL_FLAG(int, conv_index_bits, 8, "Relative-index bits of Conv layers (the paper's 8).");
ABSL_FLAG(int, fc_index_bits, 5, "Relative-index bits of Gemm layers (the paper's 5).");
ABSL_FLAG(int, bias_bits, 32, "Bits per bias value.");
ABSL_FLAG(int, batch_size, 50, "Evaluation batch size.");
ABSL_FLAG(int, threads, 1, "XNNPACK threads.");

namespace edgecompress::compress {
namespace {

enum ExitCode { kExitOk = 0, kExitBadInput = 2, kExitFailed = 3, kExitOutputFailed = 4 };

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "compress: " << status.message() << "\n";
  return code;
}

int Main() {
  const std::string model_path = absl::GetFlag(FLAGS_model), out_path = absl::GetFlag(FLAGS_out);
  if (model_path.empty() || out_path.empty()) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--model and --out are required"));
  }
  WeightSharingOptions options{.num_clusters = absl::GetFlag(FLAGS_clusters),
                               .seed = absl::GetFlag(FLAGS_seed),
                               .conv_index_bits = absl::GetFlag(FLAGS_conv_index_bits),
                               .fc_index_bits = absl::GetFlag(FLAGS_fc_index_bits),
                               .bias_bits = absl::GetFlag(FLAGS_bias_bits)};
  const std::string init = absl::GetFlag(FLAGS_init);
  if (init == "kmeans++") {
    options.init = clustering::KMeansInit::kKMeansPlusPlus;
  } else if (init != "linear") {
    return Fail(kExitBadInput, absl::InvalidArgumentError(
                                   absl::StrCat("--init=", init, ": expected linear or kmeans++")));
  }
  std::ifstream file(model_path, std::ios::binary);
  if (!file) return Fail(kExitBadInput, absl::NotFoundError(absl::StrCat(model_path, ": cannot open")));
  std::stringstream bytes;
  bytes << file.rdbuf();
  const std::string model_bytes = bytes.str();
  onnx::ModelProto model;
  if (!model.ParseFromString(model_bytes)) {
    return Fail(kExitBadInput, absl::DataLossError(absl::StrCat(model_path, ": not an ONNX ModelProto")));
  }
  absl::StatusOr<WeightSharingResult> shared = ShareWeights(model, options);
  if (!shared.ok()) {
    return Fail(kExitBadInput, absl::Status(shared.status().code(),
                                            absl::StrCat(model_path, ": ", shared.status().message())));
  }
  const std::string shared_bytes = shared->model.SerializeAsString();
  if (absl::Status s = tools::WriteFileAtomically(out_path, shared_bytes); !s.ok()) {
    return Fail(kExitOutputFailed, s);
  }

  absl::StatusOr<training::TrainTestSplits> data =
      training::LoadDataset(absl::GetFlag(FLAGS_dataset), absl::GetFlag(FLAGS_data_dir));
  if (!data.ok()) return Fail(kExitBadInput, data.status());
  const training::ChannelStatistics stats = training::ComputeChannelStatistics(data->train);
  const quantize::NormalizedImages test = quantize::Normalize(data->test, stats.mean, stats.stddev,
                                                              absl::GetFlag(FLAGS_test_samples));
  const int batch_size = absl::GetFlag(FLAGS_batch_size), threads = absl::GetFlag(FLAGS_threads);
  absl::StatusOr<quantize::Top1Result> before =
      quantize::EvaluateTop1(model_bytes, model_path, test, batch_size, threads);
  if (!before.ok()) return Fail(kExitFailed, before.status());
  absl::StatusOr<quantize::Top1Result> after =
      quantize::EvaluateTop1(shared_bytes, out_path, test, batch_size, threads);
  if (!after.ok()) return Fail(kExitFailed, after.status());

  nlohmann::json layers = nlohmann::json::array();
  std::fprintf(stderr, "%-10s %-5s %9s %9s %8s %4s %10s %10s %10s %8s\n", "layer", "op", "weights",
               "non-zero", "fillers", "k", "dense B", "fixed B", "coded B", "ratio");
  for (const SharedLayer& layer : shared->layers) {
    const clustering::LayerCodedSize& s = layer.size;
    std::fprintf(stderr, "%-10s %-5s %9lld %9lld %8lld %4d %10.0f %10.0f %10.0f %7.1fx\n",
                 layer.name.c_str(), layer.op.c_str(), static_cast<long long>(s.weights),
                 static_cast<long long>(s.nonzeros), static_cast<long long>(s.fillers),
                 layer.clusters, s.dense_bits / 8.0, s.fixed_width_bits / 8.0, s.total_bits / 8.0,
                 static_cast<double>(s.dense_bits) / s.total_bits);
    layers.push_back({{"layer", layer.name}, {"op", layer.op}, {"weight", layer.weight},
                      {"clusters", layer.clusters}, {"weights", s.weights},
                      {"nonzeros", s.nonzeros}, {"fillers", s.fillers},
                      {"bias_values", layer.other_parameters}, {"dense_bits", s.dense_bits},
                      {"fixed_width_bits", s.fixed_width_bits}, {"index_bits", s.index_bits},
                      {"cluster_bits", s.cluster_bits}, {"codebook_bits", s.codebook_bits},
                      {"huffman_table_bits", s.table_bits}, {"coded_bits", s.total_bits}});
  }
  const double ratio = static_cast<double>(shared->dense_bits) / shared->coded_bits;
  std::fprintf(stderr,
               "test top-1 %.2f%% -> %.2f%% (%+.2f pt) with %d clusters per layer; parameters "
               "%.0f bytes dense fp32 -> %.0f bytes coded (%.1fx smaller, biases at %d bits)\n",
               before->top1_percent, after->top1_percent,
               after->top1_percent - before->top1_percent, options.num_clusters,
               shared->dense_bits / 8.0, shared->coded_bits / 8.0, ratio, options.bias_bits);

  nlohmann::json result = tools::NewResult(
      "compress", options.seed,
      {{"model", model_path}, {"out", out_path}, {"dataset", absl::GetFlag(FLAGS_dataset)},
       {"clusters", absl::StrCat(options.num_clusters)}, {"init", init},
       {"conv_index_bits", absl::StrCat(options.conv_index_bits)},
       {"fc_index_bits", absl::StrCat(options.fc_index_bits)},
       {"bias_bits", absl::StrCat(options.bias_bits)},
       {"test_samples", absl::StrCat(absl::GetFlag(FLAGS_test_samples))}});
  result["test_samples"] = test.count;
  result["stages"] = {
      {{"stage", "input"}, {"test_top1", before->top1_percent}, {"bits", shared->dense_bits}},
      {{"stage", "weight_sharing+huffman"},
       {"test_top1", after->top1_percent},
       {"bits", shared->coded_bits}}};
  result["layers"] = std::move(layers);
  result["dense_bytes"] = shared->dense_bits / 8.0;
  result["coded_bytes"] = shared->coded_bits / 8.0;
  result["compression_ratio"] = ratio;
  result["top1_change_pt"] = after->top1_percent - before->top1_percent;
  const std::string result_path = absl::GetFlag(FLAGS_result);
  if (result_path.empty()) {
    std::cout << result.dump(2) << "\n";
  } else if (absl::Status s = tools::WriteJsonFile(result_path, result); !s.ok()) {
    return Fail(kExitOutputFailed, s);
  }
  return kExitOk;
}

}  // namespace
}  // namespace edgecompress::compress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Deep Compression's weight sharing and Huffman coding of a pruned ONNX classifier.\n"
      "  compress --model=/tmp/lenet_gmp90/model.onnx --clusters=16 --out=/tmp/shared.onnx\n"
      "Exit codes: 0 ok, 1 bad flag syntax, 2 bad input (flag value, model or dataset),\n"
      "3 evaluation failed, 4 an output could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::compress::Main();
}
