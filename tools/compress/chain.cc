#include "tools/compress/chain.h"

#include <cmath>
#include <map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tools/compress/stored_size.h"
#include "tools/compress/weight_sharing.h"
#include "tools/io/directory.h"
#include "tools/quantize/ptq_pipeline.h"
#include "tools/result/result_json.h"
#include "tools/status/status_macros.h"
#include "tools/train_prune/pipeline.h"
#include "training/datasets.h"
#include "training/onnx/float_tensor.h"
#include "training/onnx/onnx_file.h"

namespace edgecompress::compress {
namespace {

constexpr int kEvalBatchSize = 100;

// The Conv and Gemm layers with a constant weight, in graph order, at 32
// bits: the names and counts every stage's storage starts from.
std::vector<LayerStorage> Fp32Layers(const onnx::ModelProto& model) {
  std::map<std::string, int64_t> elements;
  for (const onnx::TensorProto& tensor : model.graph().initializer()) {
    int64_t count = 1;
    for (int64_t dim : tensor.dims()) count *= dim;
    elements[tensor.name()] = count;
  }
  std::vector<LayerStorage> layers;
  for (const onnx::NodeProto& node : model.graph().node()) {
    if ((node.op_type() != "Conv" && node.op_type() != "Gemm") || node.input_size() < 2) continue;
    const auto weight = elements.find(node.input(1));
    if (weight == elements.end()) continue;
    LayerStorage layer{.layer = node.name().empty() ? node.output(0) : node.name(),
                       .weights = weight->second};
    for (int i = 2; i < node.input_size(); ++i) {
      if (const auto bias = elements.find(node.input(i)); bias != elements.end()) {
        layer.biases += bias->second;
      }
    }
    layers.push_back(std::move(layer));
  }
  return layers;
}

nlohmann::json LayersJson(const std::vector<LayerStorage>& layers) {
  nlohmann::json json = nlohmann::json::array();
  for (const LayerStorage& layer : layers) {
    json.push_back({{"layer", layer.layer},
                    {"weights", layer.weights},
                    {"biases", layer.biases},
                    {"bits", layer.bits},
                    {"codebook_entries", layer.codebook_entries}});
  }
  return json;
}

// What every stage with a model reports: the file's top-1 on inference/ and
// its stored size.
absl::StatusOr<nlohmann::json> MeasureStage(int number, const std::string& name,
                                            const onnx::ModelProto& model,
                                            const std::string& onnx_path,
                                            const std::vector<LayerStorage>& layers,
                                            const quantize::NormalizedImages& test, int threads) {
  ASSIGN_OR_RETURN(const quantize::Top1Result top1,
                   quantize::EvaluateTop1(model.SerializeAsString(), onnx_path, test,
                                          kEvalBatchSize, threads));
  ASSIGN_OR_RETURN(const StoredSize size, ComputeStoredSize(layers));
  return nlohmann::json{{"stage", number},
                        {"name", name},
                        {"onnx", onnx_path},
                        {"onnx_bytes", static_cast<int64_t>(model.ByteSizeLong())},
                        {"test_top1", top1.top1_percent},
                        {"dense_bytes", size.dense_bytes},
                        {"stored_bytes", size.stored_bytes},
                        {"compression", size.compression},
                        {"memory_reduction", size.memory_reduction},
                        {"layers", LayersJson(layers)}};
}

// One train_prune run of the chain; kAborted when it was ruined.
absl::StatusOr<nlohmann::json> TrainStage(const tools::TrainPruneConfig& stage,
                                          training::ProgressBar& progress, std::FILE* log) {
  ASSIGN_OR_RETURN(nlohmann::json result, tools::RunTrainPrune(stage, nullptr, progress, log));
  if (result.value("ruined", false)) {
    return absl::AbortedError(absl::StrCat(stage.output_dir, ": training was ruined: ",
                                           result.value("ruined_reason", "")));
  }
  return result;
}

nlohmann::json TrainPruneJson(const nlohmann::json& result, const std::string& dir) {
  return {{"result", dir + "/result.json"},
          {"test_top1_torch", result["after"]["test_top1"]},
          {"epochs", result["epochs"].size()},
          {"train_seconds", result["train_seconds"]}};
}

// The layers that ShareWeights changed: none when every layer already held
// at most k values (after cluster-preserving training).
absl::StatusOr<std::vector<std::string>> ChangedLayers(const onnx::ModelProto& before,
                                                       const WeightSharingResult& shared) {
  std::map<std::string, const onnx::TensorProto*> original;
  for (const onnx::TensorProto& tensor : before.graph().initializer()) {
    original[tensor.name()] = &tensor;
  }
  std::map<std::string, const onnx::TensorProto*> after;
  for (const onnx::TensorProto& tensor : shared.model.graph().initializer()) {
    after[tensor.name()] = &tensor;
  }
  std::vector<std::string> changed;
  for (const SharedLayer& layer : shared.layers) {
    ASSIGN_OR_RETURN(const std::vector<float> a,
                     training::FloatTensorValues(*original.at(layer.weight), layer.weight));
    ASSIGN_OR_RETURN(const std::vector<float> b,
                     training::FloatTensorValues(*after.at(layer.weight), layer.weight));
    if (a != b) changed.push_back(layer.name);
  }
  return changed;
}

std::vector<LayerStorage> SharedStorage(const WeightSharingResult& shared) {
  std::vector<LayerStorage> layers;
  for (const SharedLayer& layer : shared.layers) {
    layers.push_back({.layer = layer.name,
                      .weights = layer.size.weights,
                      .biases = layer.other_parameters,
                      .bits = IndexBits(layer.clusters),
                      .codebook_entries = layer.clusters});
  }
  return layers;
}

absl::Status CheckConfig(const CompressChainConfig& c) {
  if (c.output_dir.empty()) return absl::InvalidArgumentError("an output folder is required");
  if (c.checkpoint.empty() && c.dense_epochs < 1) {
    return absl::InvalidArgumentError("without a checkpoint, dense_epochs must be at least 1");
  }
  if (c.qat_epochs < 1 || c.cluster_epochs < 1) {
    return absl::InvalidArgumentError("qat_epochs and cluster_epochs must be at least 1");
  }
  if (c.clusters < 2 || c.clusters > 65536) {
    return absl::InvalidArgumentError(absl::StrCat("clusters is ", c.clusters,
                                                   "; must be in [2, 65536]"));
  }
  if (c.id_samples < 3 || c.id_samples % c.precision.batch_size != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "id_samples is ", c.id_samples, "; must be at least 3 and a multiple of the batch size ",
        c.precision.batch_size));
  }
  if (!(c.learning_rate > 0) || !(c.dense_learning_rate > 0) || c.batch_size < 1 ||
      c.threads < 1) {
    return absl::InvalidArgumentError(
        "learning rates must be > 0, batch_size and threads at least 1");
  }
  return absl::OkStatus();
}

void LogStage(std::FILE* log, const nlohmann::json& stage) {
  if (log == nullptr || !stage.contains("test_top1")) return;
  std::fprintf(log, "stage %d %-12s top-1 %6.2f%%  %9lld bytes stored  %6.2fx smaller  "
               "memory reduction %6.2fx\n",
               stage["stage"].get<int>(), stage["name"].get<std::string>().c_str(),
               stage["test_top1"].get<double>(),
               static_cast<long long>(stage["stored_bytes"].get<int64_t>()),
               stage["compression"].get<double>(), stage["memory_reduction"].get<double>());
}

}  // namespace

absl::StatusOr<nlohmann::json> RunCompressChain(const CompressChainConfig& config,
                                                training::MetricsSink* sink,
                                                training::ProgressBar& progress, std::FILE* log) {
  RETURN_IF_ERROR(CheckConfig(config));
  const std::string& out = config.output_dir;
  RETURN_IF_ERROR(tools::MakeDirectory(out));
  ASSIGN_OR_RETURN(const training::TrainTestSplits data,
                   training::LoadDataset(config.dataset, config.data_dir));
  // As train_prune normalises: the training split's statistics.
  const training::ChannelStatistics stats = training::ComputeChannelStatistics(data.train);
  const quantize::NormalizedImages test =
      quantize::Normalize(data.test, stats.mean, stats.stddev, /*count=*/0);

  nlohmann::json report = tools::NewResult("compress_chain", config.seed, config.flags);
  report["model"] = config.model;
  report["dataset"] = config.dataset;
  report["stages"] = nlohmann::json::array();
  // Every stage is saved as soon as it is measured.
  const auto add_stage = [&](nlohmann::json stage) -> absl::Status {
    LogStage(log, stage);
    if (sink != nullptr && stage.contains("test_top1")) {
      RETURN_IF_ERROR(sink->Log(stage["stage"].get<int>(),
                                {{"test_top1", stage["test_top1"].get<double>()},
                                 {"stored_bytes", stage["stored_bytes"].get<double>()},
                                 {"compression", stage["compression"].get<double>()},
                                 {"memory_reduction", stage["memory_reduction"].get<double>()}}));
    }
    report["stages"].push_back(std::move(stage));
    return tools::WriteJsonFile(out + "/report.json", report);
  };

  tools::TrainPruneConfig base;
  base.model = config.model;
  base.dataset = config.dataset;
  base.data_dir = config.data_dir;
  base.batch_size = config.batch_size;
  base.seed = config.seed;
  base.flags = config.flags;
  base.trainer.optimizer.momentum = 0.9;
  base.trainer.lr_schedule.kind = training::LrScheduleKind::kCosine;

  // 1: the fp32 model.
  tools::TrainPruneConfig trained = base;
  trained.output_dir = out + "/1_trained";
  if (config.checkpoint.empty()) {
    trained.trainer.epochs = config.dense_epochs;
    trained.trainer.lr_schedule.base_learning_rate = config.dense_learning_rate;
    trained.trainer.lr_schedule.total_epochs = config.dense_epochs;
  } else {
    trained.trainer.epochs = 0;
    trained.dense_checkpoint = config.checkpoint;
  }
  const std::string fp32_checkpoint =
      config.checkpoint.empty() ? trained.output_dir + "/checkpoint.pt" : config.checkpoint;
  ASSIGN_OR_RETURN(const nlohmann::json trained_result, TrainStage(trained, progress, log));
  const std::string fp32_path = trained.output_dir + "/model.onnx";
  ASSIGN_OR_RETURN(const onnx::ModelProto fp32, training::ReadOnnxFile(fp32_path));
  const std::vector<LayerStorage> fp32_layers = Fp32Layers(fp32);
  ASSIGN_OR_RETURN(nlohmann::json stage1,
                   MeasureStage(1, "trained", fp32, fp32_path, fp32_layers, test, config.threads));
  stage1["checkpoint"] = fp32_checkpoint;
  stage1["train_prune"] = TrainPruneJson(trained_result, trained.output_dir);
  const double fp32_top1 = stage1["test_top1"].get<double>();
  const int64_t fp32_bytes = stage1["stored_bytes"].get<int64_t>();
  RETURN_IF_ERROR(add_stage(std::move(stage1)));

  // 2: bits per layer from the intrinsic dimension of its activations.
  const std::string id_dir = out + "/2_bit_allocation";
  RETURN_IF_ERROR(tools::MakeDirectory(id_dir));
  const quantize::NormalizedImages id_images =
      quantize::Normalize(data.test, stats.mean, stats.stddev, config.id_samples);
  ASSIGN_OR_RETURN(const intrinsic_dim_tool::LayerPrecisionAnalysis analysis,
                   intrinsic_dim_tool::AnalyzeLayerPrecision(fp32, id_images.values,
                                                             id_images.count, config.precision));
  if (log != nullptr) std::fprintf(log, "%s", FormatLayerPrecisionTable(analysis).c_str());
  std::map<std::string, int> low_bits;
  for (const intrinsic_dim_tool::LayerPrecisionRow& row : analysis.layers) {
    if (row.precision.bits < 32) low_bits[row.layer] = row.precision.bits;
  }
  if (low_bits.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(fp32_path, ": the analysis keeps every layer at 32 bits (",
                     analysis.layers.size(), " layers; the first and last stay fp32)"));
  }
  // tools/intrinsic_dim --model's result, which train_prune --low_bit_from reads.
  nlohmann::json id_result = tools::NewResult("intrinsic_dim", 0, config.flags);
  id_result["model"] = fp32_path;
  id_result["samples"] = id_images.count;
  id_result["layers"] = intrinsic_dim_tool::LayerPrecisionJson(
      analysis, absl::StrCat("pca_", std::lround(config.precision.estimates.pca_fraction * 100)));
  id_result["memory_reduction"] = analysis.memory_reduction;
  RETURN_IF_ERROR(tools::WriteJsonFile(id_dir + "/intrinsic_dim.json", id_result));
  RETURN_IF_ERROR(add_stage({{"stage", 2},
                             {"name", "bit_allocation"},
                             {"intrinsic_dim", id_dir + "/intrinsic_dim.json"},
                             {"samples", id_images.count},
                             {"delta", config.precision.bits.delta},
                             {"bits", low_bits},
                             {"planned_memory_reduction", analysis.memory_reduction}}));

  // 3: the thesis's low-bit weights trained in.
  tools::TrainPruneConfig qat = base;
  qat.output_dir = out + "/3_low_bit_qat";
  qat.dense_checkpoint = fp32_checkpoint;
  qat.low_bit = low_bits;
  qat.trainer.epochs = config.qat_epochs;
  qat.trainer.lr_schedule.base_learning_rate = config.learning_rate;
  qat.trainer.lr_schedule.total_epochs = config.qat_epochs;
  ASSIGN_OR_RETURN(const nlohmann::json qat_result, TrainStage(qat, progress, log));
  const std::string low_bit_path = qat.output_dir + "/model.onnx";
  ASSIGN_OR_RETURN(const onnx::ModelProto low_bit, training::ReadOnnxFile(low_bit_path));
  std::vector<LayerStorage> low_bit_layers = Fp32Layers(low_bit);
  for (LayerStorage& layer : low_bit_layers) {
    if (const auto bits = low_bits.find(layer.layer); bits != low_bits.end()) {
      layer.bits = bits->second;
      layer.codebook_entries = 1;  // alpha; the levels follow from the bits
    }
  }
  ASSIGN_OR_RETURN(nlohmann::json stage3, MeasureStage(3, "low_bit_qat", low_bit, low_bit_path,
                                                       low_bit_layers, test, config.threads));
  stage3["train_prune"] = TrainPruneJson(qat_result, qat.output_dir);
  RETURN_IF_ERROR(add_stage(std::move(stage3)));

  // 4: k-means weight sharing of stage 3's model, no retraining.
  const std::string shared_dir = out + "/4_clustering";
  RETURN_IF_ERROR(tools::MakeDirectory(shared_dir));
  ASSIGN_OR_RETURN(const WeightSharingResult shared,
                   ShareWeights(low_bit, {.num_clusters = config.clusters, .seed = config.seed}));
  const std::string shared_path = shared_dir + "/model.onnx";
  RETURN_IF_ERROR(training::WriteOnnxFile(shared.model, shared_path));
  ASSIGN_OR_RETURN(nlohmann::json stage4,
                   MeasureStage(4, "clustering", shared.model, shared_path, SharedStorage(shared),
                                test, config.threads));
  ASSIGN_OR_RETURN(stage4["clustered_layers"], ChangedLayers(low_bit, shared));
  RETURN_IF_ERROR(add_stage(std::move(stage4)));

  // 5: the centroids trained, from stage 3's weights.
  tools::TrainPruneConfig cqat = base;
  cqat.output_dir = out + "/5_cluster_qat";
  cqat.dense_checkpoint = qat.output_dir + "/checkpoint.pt";
  cqat.cluster = config.clusters;
  cqat.trainer.epochs = config.cluster_epochs;
  cqat.trainer.lr_schedule.base_learning_rate = config.learning_rate;
  cqat.trainer.lr_schedule.total_epochs = config.cluster_epochs;
  ASSIGN_OR_RETURN(const nlohmann::json cqat_result, TrainStage(cqat, progress, log));
  ASSIGN_OR_RETURN(const onnx::ModelProto tied, training::ReadOnnxFile(cqat.output_dir + "/model.onnx"));
  // Tied weights hold at most k values per layer, so sharing only reads the
  // codebooks off; ChangedLayers would name a layer it had to cluster.
  ASSIGN_OR_RETURN(const WeightSharingResult final_model,
                   ShareWeights(tied, {.num_clusters = config.clusters, .seed = config.seed}));
  ASSIGN_OR_RETURN(const std::vector<std::string> reclustered, ChangedLayers(tied, final_model));
  if (!reclustered.empty()) {
    return absl::InternalError(absl::StrCat(cqat.output_dir, "/model.onnx: layer '",
                                            reclustered.front(), "' holds more than ",
                                            config.clusters, " values after cluster training"));
  }
  const std::string final_path = out + "/model.onnx";
  RETURN_IF_ERROR(training::WriteOnnxFile(final_model.model, final_path));
  ASSIGN_OR_RETURN(nlohmann::json stage5,
                   MeasureStage(5, "cluster_qat", final_model.model, final_path,
                                SharedStorage(final_model), test, config.threads));
  stage5["train_prune"] = TrainPruneJson(cqat_result, cqat.output_dir);
  const nlohmann::json final_numbers = {
      {"onnx", final_path},
      {"test_top1", stage5["test_top1"]},
      {"top1_drop", fp32_top1 - stage5["test_top1"].get<double>()},
      {"fp32_bytes", fp32_bytes},
      {"stored_bytes", stage5["stored_bytes"]},
      {"compression", stage5["compression"]},
      {"memory_reduction", stage5["memory_reduction"]}};
  RETURN_IF_ERROR(add_stage(std::move(stage5)));
  report["final"] = final_numbers;
  if (sink != nullptr) {
    training::MetricValues summary;
    for (const auto& [name, value] : final_numbers.items()) {
      if (value.is_number()) summary[name] = value.get<double>();
    }
    RETURN_IF_ERROR(sink->Summarize(summary));
  }
  RETURN_IF_ERROR(tools::WriteJsonFile(out + "/report.json", report));
  return report;
}

}  // namespace edgecompress::compress
