#include "tools/train_prune/pipeline.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pruning/recipe.h"
#include "pruning/sparsity_report.h"
#include "pruning/torch.h"
#include "tools/plot/line_chart.h"
#include "tools/result/result_json.h"
#include "tools/status/status_macros.h"
#include "training/batch_source.h"
#include "training/datasets.h"
#include "training/models/zoo.h"
#include "training/onnx/torch_export.h"

namespace edgecompress::tools {
namespace {

using training::EvalStats;
using training::MetricValues;

// One line per epoch on the log (the progress bar only draws on terminals).
class EpochLog : public training::TrainingCallback {
 public:
  EpochLog(std::FILE* log, int num_epochs) : log_(log), num_epochs_(num_epochs) {}
  absl::Status OnEpochEnd(int epoch, MetricValues& m) override {
    if (log_ == nullptr) return absl::OkStatus();
    std::string line = absl::StrFormat(
        "epoch %d/%d lr %.4g loss %.4f train top-1 %.2f%% test top-1 %.2f%% %.1f s %.0f img/s",
        epoch + 1, num_epochs_, m["learning_rate"], m["train_loss"], m["train_top1"],
        m["val_top1"], m["seconds"], m["images_per_second"]);
    if (m.count("sparsity")) absl::StrAppendFormat(&line, " sparsity %.4f", m["sparsity"]);
    std::fprintf(log_, "%s\n", line.c_str());
    return absl::OkStatus();
  }

 private:
  std::FILE* log_;
  int num_epochs_;
};

// Every conv and linear weight but the first conv and the last linear.
std::vector<std::string> DefaultPrunableParameters(const training::LayerGraph& graph) {
  std::vector<std::string> names;
  int first_conv = -1, last_linear = -1;
  const std::vector<training::Layer>& layers = graph.layers();
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    if (layers[i].op == training::LayerOp::kConv2d && first_conv < 0) first_conv = i;
    if (layers[i].op == training::LayerOp::kLinear) last_linear = i;
  }
  for (int i = 0; i < static_cast<int>(layers.size()); ++i) {
    const bool prunable =
        layers[i].op == training::LayerOp::kConv2d || layers[i].op == training::LayerOp::kLinear;
    if (prunable && i != first_conv && i != last_linear) names.push_back(layers[i].name + ".weight");
  }
  return names;
}

nlohmann::json EvalJson(const EvalStats& eval) {
  return {{"test_top1", eval.top1}, {"test_top5", eval.top5}, {"test_loss", eval.loss}};
}

nlohmann::json ReportJson(const pruning::SparsityReport& report) {
  nlohmann::json layers = nlohmann::json::array();
  for (const pruning::LayerReport& layer : report.layers) {
    layers.push_back({{"name", layer.name},
                      {"weights", layer.weights},
                      {"zeros", layer.zeros},
                      {"sparsity", layer.sparsity},
                      {"dense_macs", layer.dense_macs},
                      {"effective_macs", layer.effective_macs}});
  }
  return {{"layers", layers},
          {"parameters", report.parameters},
          {"nonzero_parameters", report.nonzero_parameters},
          {"sparsity", report.sparsity},
          {"dense_bytes", report.dense_bytes},
          {"sparse_bytes", report.sparse_bytes},
          {"dense_macs", report.dense_macs},
          {"effective_macs", report.effective_macs}};
}

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

absl::Status RecipeUnsupported(const pruning::Recipe& recipe, absl::string_view modifier, int line) {
  return absl::UnimplementedError(absl::StrFormat(
      "%s:%d: train_prune does not apply %s yet (it applies GMP and constant pruning)",
      recipe.source, line, modifier));
}

// Applies a loaded recipe to the run: epochs, learning rate and the one
// unstructured pruning modifier the training loop supports today.
absl::Status ApplyRecipe(const pruning::Recipe& recipe, training::TrainerOptions& options,
                         std::optional<PruningConfig>& pruning_config) {
  if (recipe.epochs.start_epoch != 0) {
    return absl::UnimplementedError(absl::StrFormat(
        "%s:%d: the epoch range must start at 0", recipe.source, recipe.epochs.where.line));
  }
  options.epochs = static_cast<int>(recipe.epochs.end_epoch);
  if (recipe.learning_rate.has_value()) options.lr_schedule = recipe.learning_rate->options;
  if (!recipe.acdc.empty()) return RecipeUnsupported(recipe, "!ACDCPruningModifier", recipe.acdc[0].where.line);
  if (!recipe.filters.empty()) {
    return RecipeUnsupported(recipe, "!FilterPruningModifier", recipe.filters[0].where.line);
  }
  if (recipe.quantization.has_value()) {
    return RecipeUnsupported(recipe, "!QuantizationModifier", recipe.quantization->where.line);
  }
  if (recipe.gmp.size() + recipe.constant.size() > 1) {
    const int line = recipe.gmp.size() > 1 ? recipe.gmp[1].where.line : recipe.constant.back().where.line;
    return RecipeUnsupported(recipe, "a second pruning modifier", line);
  }
  const auto weights = [](const pruning::ParamSelection& params) {
    std::vector<std::string> names;
    for (const std::string& layer : params.layers) names.push_back(layer + ".weight");
    return names;
  };
  if (!recipe.gmp.empty()) {
    const pruning::GmpModifier& gmp = recipe.gmp[0];
    pruning_config = PruningConfig{
        .schedule = {.initial_sparsity = gmp.schedule.initial_sparsity,
                     .final_sparsity = gmp.schedule.final_sparsity,
                     .start_epoch = static_cast<double>(gmp.schedule.begin_step),
                     .end_epoch = static_cast<double>(gmp.schedule.end_step),
                     .update_frequency = static_cast<double>(gmp.schedule.frequency),
                     .global = gmp.global},
        .parameters = weights(gmp.params)};
  } else if (!recipe.constant.empty()) {
    const pruning::ConstantPruningModifier& constant = recipe.constant[0];
    const double epoch = static_cast<double>(constant.schedule.begin_step);
    pruning_config = PruningConfig{
        .schedule = {.initial_sparsity = constant.schedule.sparsity,
                     .final_sparsity = constant.schedule.sparsity,
                     .start_epoch = epoch, .end_epoch = epoch, .global = constant.global},
        .parameters = weights(constant.params)};
  }
  return absl::OkStatus();
}

absl::Status MakeDirectory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return absl::InternalError(absl::StrCat(dir, ": cannot create: ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat(path, ": write failed"));
  return absl::OkStatus();
}

// sparsity.svg and accuracy.svg from the epoch history.
absl::Status WritePlots(const std::string& dir, const std::vector<MetricValues>& history,
                        const pruning::GradualPruningCallback* pruner, int num_epochs) {
  Series top1 = {"test top-1", {}}, train_top1 = {"train top-1", {}};
  Series measured = {"measured", {}}, target = {"target (cubic)", {}};
  for (const MetricValues& row : history) {
    const double epoch = row.at("epoch");
    if (row.count("val_top1")) top1.points.emplace_back(epoch, row.at("val_top1"));
    train_top1.points.emplace_back(epoch, row.at("train_top1"));
    if (row.count("sparsity")) measured.points.emplace_back(epoch, row.at("sparsity"));
  }
  if (!train_top1.points.empty()) {
    ASSIGN_OR_RETURN(const std::string svg,
                     RenderSvg({.title = "Accuracy per epoch", .x_label = "epoch",
                                .y_label = "top-1 (%)", .series = {top1, train_top1},
                                .y_range = {{0, 100}}}));
    RETURN_IF_ERROR(WriteText(dir + "/accuracy.svg", svg));
  }
  if (pruner != nullptr) {
    for (int i = 0; i <= 4 * num_epochs; ++i) {
      target.points.emplace_back(i / 4.0, pruner->TargetSparsityAtEpoch(i / 4.0));
    }
    ASSIGN_OR_RETURN(const std::string svg,
                     RenderSvg({.title = "Sparsity schedule", .x_label = "epoch",
                                .y_label = "sparsity of pruned layers",
                                .series = {target, measured}, .y_range = {{0, 1}}}));
    RETURN_IF_ERROR(WriteText(dir + "/sparsity.svg", svg));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<nlohmann::json> RunTrainPrune(const TrainPruneConfig& config,
                                             training::MetricsSink* sink,
                                             training::ProgressBar& progress, std::FILE* log) {
  ASSIGN_OR_RETURN(training::TrainTestSplits data,
                   training::LoadDataset(config.dataset, config.data_dir));
  const training::ChannelStatistics stats = training::ComputeChannelStatistics(data.train);
  const training::TensorDataset train =
      training::ToTensorDataset(data.train, stats.mean, stats.stddev);
  const training::TensorDataset test = training::ToTensorDataset(data.test, stats.mean, stats.stddev);

  // LibTorch initialises weights from its process-wide generator.
  torch::manual_seed(config.seed);
  ASSIGN_OR_RETURN(std::shared_ptr<training::ImageClassifier> model,
                   training::CreateModel(config.model,
                                         {.num_classes = data.train.num_classes,
                                          .input_channels = data.train.channels,
                                          .input_size = data.train.height}));
  const training::LayerGraph graph = model->Describe();
  const training::Shape expected = {data.train.channels, data.train.height, data.train.width};
  if (graph.input_shape() != expected) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "model '%s' takes %dx%dx%d inputs, dataset '%s' has %dx%dx%d images", config.model,
        graph.input_shape()[0], graph.input_shape()[1], graph.input_shape()[2], config.dataset,
        expected[0], expected[1], expected[2]));
  }

  training::TrainerOptions options = config.trainer;
  options.num_classes = data.train.num_classes;
  std::optional<PruningConfig> pruning_config = config.pruning;
  std::optional<pruning::Recipe> recipe;
  if (!config.recipe_path.empty()) {
    if (config.pruning.has_value()) {
      return absl::InvalidArgumentError("give pruning either by recipe or by flags, not both");
    }
    ASSIGN_OR_RETURN(const std::string text, ReadText(config.recipe_path));
    ASSIGN_OR_RETURN(recipe, pruning::ParseRecipe(text, {.source = config.recipe_path,
                                                         .overrides = config.recipe_overrides,
                                                         .graph = &graph}));
    RETURN_IF_ERROR(ApplyRecipe(*recipe, options, pruning_config));
  }
  const bool distributed = config.data_parallel.world_size > 1;
  const bool writes_outputs = !config.output_dir.empty() && config.data_parallel.rank == 0;
  if (writes_outputs) {
    RETURN_IF_ERROR(MakeDirectory(config.output_dir));
    options.checkpoint_path = config.output_dir + "/checkpoint.pt";
  }
  ASSIGN_OR_RETURN(std::unique_ptr<training::Trainer> trainer,
                   training::Trainer::Create(*model, options));
  // Joins the group and takes rank 0's initial weights before anything else
  // reads them.
  std::unique_ptr<training::GradientAllReduce> all_reduce;
  if (distributed) {
    ASSIGN_OR_RETURN(all_reduce, training::GradientAllReduce::Create(*model, config.data_parallel));
  }
  if (config.resume) {
    if (config.output_dir.empty()) {
      return absl::InvalidArgumentError("resuming needs an output folder with a checkpoint");
    }
    RETURN_IF_ERROR(trainer->Resume(options.checkpoint_path));
  }
  const EvalStats before = training::Evaluate(*model, test);

  std::unique_ptr<pruning::GradualPruningCallback> pruner;
  std::vector<std::string> pruned;
  if (pruning_config.has_value()) {
    pruned = pruning_config->parameters.empty() ? DefaultPrunableParameters(graph)
                                                : pruning_config->parameters;
    ASSIGN_OR_RETURN(pruning::MaskedParameters masked,
                     pruning::MaskedParameters::Create(*model, pruned));
    ASSIGN_OR_RETURN(pruner, pruning::GradualPruningCallback::Create(std::move(masked),
                                                                     pruning_config->schedule));
  }
  EpochLog epoch_log(log, options.epochs);
  std::vector<training::TrainingCallback*> callbacks;
  // Gradients are averaged over ranks before pruning masks them.
  if (all_reduce != nullptr) callbacks.push_back(all_reduce.get());
  if (pruner != nullptr) callbacks.push_back(pruner.get());
  callbacks.push_back(&epoch_log);
  std::unique_ptr<training::BatchSource> batches;
  const bool augment = config.augment.value_or(data.train.channels == 3);
  if (distributed) {
    if (augment) {
      return absl::UnimplementedError(
          "data-parallel training with augmentation is not supported yet; pass --augment=false");
    }
    ASSIGN_OR_RETURN(batches, training::MakeShardedBatchSource(
                                  train, config.batch_size, config.seed,
                                  config.data_parallel.rank, config.data_parallel.world_size));
  } else if (augment) {
    ASSIGN_OR_RETURN(std::unique_ptr<training::BatchLoader> loader,
                     training::BatchLoader::Create(
                         &data.train, {.batch_size = config.batch_size,
                                       .augment = true,
                                       .augment_options = {.mean = stats.mean, .stddev = stats.stddev},
                                       .num_workers = config.data_workers,
                                       .seed = config.seed}));
    batches = std::make_unique<training::LoaderBatchSource>(std::move(loader));
  } else {
    batches = std::make_unique<training::InMemoryBatchSource>(train, config.batch_size, config.seed);
  }
  ASSIGN_OR_RETURN(const training::TrainResult trained,
                   trainer->Fit(*batches, &test, callbacks, sink, progress));
  const EvalStats after = training::Evaluate(*model, test);

  std::map<std::string, pruning::TensorCount> tensors;
  for (const auto& parameter : model->named_parameters()) {
    tensors[parameter.key()] = {parameter.value().numel(),
                                parameter.value().eq(0).sum().item<int64_t>()};
  }
  ASSIGN_OR_RETURN(const pruning::SparsityReport report,
                   pruning::MakeSparsityReport(graph, tensors, pruned));

  nlohmann::json result = NewResult("train_prune", config.seed, config.flags);
  result["model"] = config.model;
  result["dataset"] = config.dataset;
  result["augmentation"] = augment;
  result["num_classes"] = data.train.num_classes;
  result["parameter_count"] = training::CountParameters(*model);
  result["before"] = EvalJson(before);
  result["after"] = EvalJson(after);
  result["test_top1"] = after.top1;  // the headline number
  result["ruined"] = trained.ruined;
  if (trained.ruined) result["ruined_reason"] = trained.ruined_reason;
  result["stopped_early"] = trained.stopped_early;
  double train_seconds = 0.0;
  for (const MetricValues& row : trained.history) train_seconds += row.at("seconds");
  result["train_seconds"] = train_seconds;
  result["epochs"] = trained.history;
  result["sparsity_report"] = ReportJson(report);
  if (pruning_config.has_value()) {
    const pruning::GradualPruningOptions& s = pruning_config->schedule;
    result["pruning"] = {{"method", "gmp"},
                         {"initial_sparsity", s.initial_sparsity},
                         {"final_sparsity", s.final_sparsity},
                         {"start_epoch", s.start_epoch},
                         {"end_epoch", s.end_epoch},
                         {"update_frequency", s.update_frequency},
                         {"global", s.global},
                         {"parameters", pruned}};
  }
  const std::string table = pruning::FormatSparsityTable(report);
  if (log != nullptr) std::fprintf(log, "%s", table.c_str());
  if (sink != nullptr) {
    RETURN_IF_ERROR(sink->Summarize({{"test_top1", after.top1},
                                     {"test_top5", after.top5},
                                     {"sparsity", report.sparsity},
                                     {"sparse_bytes", static_cast<double>(report.sparse_bytes)},
                                     {"effective_macs", static_cast<double>(report.effective_macs)}}));
  }
  if (recipe.has_value()) {
    nlohmann::json variables = nlohmann::json::object();
    for (const pruning::RecipeVariable& variable : recipe->variables) {
      variables[variable.name] = variable.value;
    }
    result["recipe"] = {{"source", recipe->source}, {"variables", variables}};
  }
  if (distributed) {
    result["data_parallel"] = {{"world_size", config.data_parallel.world_size},
                               {"rank", config.data_parallel.rank}};
  }
  if (writes_outputs) {
    const std::string& dir = config.output_dir;
    RETURN_IF_ERROR(WriteText(dir + "/sparsity.txt", table));
    if (recipe.has_value()) {
      RETURN_IF_ERROR(WriteText(dir + "/recipe.yaml", pruning::RecipeToYaml(*recipe)));
    }
    RETURN_IF_ERROR(WritePlots(dir, trained.history, pruner.get(), options.epochs));
    const std::string onnx_path = dir + "/model.onnx";
    RETURN_IF_ERROR(training::ExportOnnxFile(*model, onnx_path));
    struct stat info;
    result["onnx_bytes"] = stat(onnx_path.c_str(), &info) == 0 ? static_cast<int64_t>(info.st_size) : -1;
    result["artifacts"] = {{"checkpoint", dir + "/checkpoint.pt"},
                           {"onnx", onnx_path},
                           {"result", dir + "/result.json"},
                           {"sparsity_table", dir + "/sparsity.txt"},
                           {"accuracy_plot", dir + "/accuracy.svg"}};
    if (pruner != nullptr) result["artifacts"]["sparsity_plot"] = dir + "/sparsity.svg";
    if (recipe.has_value()) result["artifacts"]["recipe"] = dir + "/recipe.yaml";
    RETURN_IF_ERROR(WriteJsonFile(dir + "/result.json", result));
  }
  return result;
}

}  // namespace edgecompress::tools
