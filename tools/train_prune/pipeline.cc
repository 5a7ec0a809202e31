#include "tools/train_prune/pipeline.h"

#include <sys/stat.h>
#include <torch/torch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pruning/recipe.h"
#include "pruning/sparsity_report.h"
#include "pruning/torch.h"
#include "tools/io/directory.h"
#include "tools/plot/line_chart.h"
#include "tools/quantize/ptq_pipeline.h"
#include "tools/result/result_json.h"
#include "tools/status/status_macros.h"
#include "tools/train_prune/int8_export.h"
#include "training/batch_source.h"
#include "training/datasets.h"
#include "training/models/zoo.h"
#include "pruning/acdc_pruning_callback.h"
#include "pruning/filter_pruning.h"
#include "pruning/filter_pruning_callback.h"
#include "pruning/magnitude.h"
#include "pruning/sensitivity.h"
#include "pruning/thinning.h"
#include "training/checkpoint.h"
#include "clustering/cluster_callback.h"
#include "intrinsic_dim/bit_allocation.h"
#include "lowrank/low_rank_callback.h"
#include "lowrank/onnx_factorize.h"
#include "quantization/int8_qat_callback.h"
#include "quantization/low_bit_callback.h"
#include "training/onnx/onnx_export.h"
#include "training/onnx/onnx_file.h"
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

std::string teacher_model_name(const TrainPruneConfig& config) {
  return config.teacher_model.empty() ? config.model : config.teacher_model;
}

// Restores only the model's weights from a train_prune checkpoint (not the
// optimizer, epochs or history). Loading a checkpoint also restores
// LibTorch's generator, which must stay as this run's seed left it.
absl::Status LoadWeights(const std::string& path, absl::string_view what,
                         training::ImageClassifier& model) {
  torch::optim::SGD unused(model.parameters(), torch::optim::SGDOptions(0.0));
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  const at::Tensor generator_state = generator.get_state();
  const absl::Status loaded = training::LoadCheckpoint(path, model, unused).status();
  generator.set_state(generator_state);
  if (!loaded.ok()) return absl::Status(loaded.code(), absl::StrCat(what, ": ", loaded.message()));
  return absl::OkStatus();
}

// The distillation teacher: a zoo model restored from a train_prune
// checkpoint.
absl::StatusOr<std::shared_ptr<training::ImageClassifier>> LoadTeacher(
    const TrainPruneConfig& config, const training::ImageDataset& train) {
  ASSIGN_OR_RETURN(std::shared_ptr<training::ImageClassifier> teacher,
                   training::CreateModel(teacher_model_name(config),
                                         {.num_classes = train.num_classes,
                                          .input_channels = train.channels,
                                          .input_size = train.height}));
  RETURN_IF_ERROR(LoadWeights(config.teacher_checkpoint, "teacher", *teacher));
  return teacher;
}

// Training batches: a shard per rank when data-parallel, augmented by
// loader threads, or shuffled in memory.
absl::StatusOr<std::unique_ptr<training::BatchSource>> MakeBatchSource(
    const TrainPruneConfig& config, bool augment, const training::ImageDataset& images,
    const training::TensorDataset& train, const training::ChannelStatistics& stats) {
  if (config.data_parallel.world_size > 1) {
    if (!augment) {
      return training::MakeShardedBatchSource(train, config.batch_size, config.seed,
                                              config.data_parallel.rank,
                                              config.data_parallel.world_size);
    }
    // Every rank augments the same global batches (the loader's randomness
    // comes from seed and epoch alone) and keeps its slice.
    ASSIGN_OR_RETURN(std::unique_ptr<training::BatchLoader> loader,
                     training::BatchLoader::Create(
                         &images, {.batch_size = config.batch_size,
                                   .drop_last = true,
                                   .augment = true,
                                   .augment_options = {.mean = stats.mean, .stddev = stats.stddev},
                                   .num_workers = config.data_workers,
                                   .seed = config.seed}));
    return training::ShardBatchSource(
        std::make_unique<training::LoaderBatchSource>(std::move(loader)), images.size,
        config.batch_size, config.data_parallel.rank, config.data_parallel.world_size);
  }
  if (augment) {
    ASSIGN_OR_RETURN(std::unique_ptr<training::BatchLoader> loader,
                     training::BatchLoader::Create(
                         &images, {.batch_size = config.batch_size,
                                   .augment = true,
                                   .augment_options = {.mean = stats.mean, .stddev = stats.stddev},
                                   .num_workers = config.data_workers,
                                   .seed = config.seed}));
    return std::make_unique<training::LoaderBatchSource>(std::move(loader));
  }
  return std::make_unique<training::InMemoryBatchSource>(train, config.batch_size, config.seed);
}

// The pruning of one run, from flags or a recipe: one callback per modifier.
struct PruningPlan {
  struct AcDc {
    pruning::AcDcPruningOptions options;
    std::vector<std::string> parameters;
  };
  std::vector<PruningConfig> gradual;  // GMP and constant pruning
  std::vector<AcDc> acdc;
  std::vector<pruning::FilterPruningStep> filters;
};

std::vector<std::string> WeightNames(const pruning::ParamSelection& params) {
  std::vector<std::string> names;
  for (const std::string& layer : params.layers) names.push_back(layer + ".weight");
  return names;
}

// Calibration images of the int8 export for what QAT did not observe.
constexpr int64_t kCalibrationImages = 500;

// A quantizer's LayerInputHook installed on the model until the guard goes
// out of scope (before the quantizer, when declared after it).
class ScopedLayerInputHook {
 public:
  explicit ScopedLayerInputHook(training::ImageClassifier& model) : model_(model) {}
  ScopedLayerInputHook(const ScopedLayerInputHook&) = delete;
  ScopedLayerInputHook& operator=(const ScopedLayerInputHook&) = delete;
  ~ScopedLayerInputHook() { model_.set_layer_input_hook(nullptr); }
  void Set(training::LayerInputHook* hook) { model_.set_layer_input_hook(hook); }

 private:
  training::ImageClassifier& model_;
};

// The layers trained at low rank, from --low_rank or a !LowRankModifier.
struct LowRankPlan {
  std::map<std::string, lowrank::RankRule> rules;  // by layer name
  int start_epoch = 0;
};

// Applies a loaded recipe to the run: epochs, learning rate, pruning, int8
// quantization-aware training and low rank.
absl::Status ApplyRecipe(const pruning::Recipe& recipe, training::TrainerOptions& options,
                         PruningPlan& plan, std::optional<int>& int8_qat_start_epoch,
                         LowRankPlan& low_rank) {
  if (recipe.epochs.start_epoch != 0) {
    return absl::UnimplementedError(absl::StrFormat(
        "%s:%d: the epoch range must start at 0", recipe.source, recipe.epochs.where.line));
  }
  if (recipe.quantization.has_value()) {
    const pruning::QuantizationModifier& q = *recipe.quantization;
    if (q.bits != 8) {
      return absl::UnimplementedError(absl::StrFormat(
          "%s:%d: !QuantizationModifier bits: %d; quantization-aware training is int8 (the "
          "thesis's 1/2-bit layers are train_prune --low_bit)",
          recipe.source, q.where.line, q.bits));
    }
    if (int8_qat_start_epoch.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s:%d: give --qat_start_epoch or a !QuantizationModifier, not both",
                          recipe.source, q.where.line));
    }
    int8_qat_start_epoch = static_cast<int>(q.start_epoch);
  }
  if (!recipe.low_rank.empty() && !low_rank.rules.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s:%d: give --low_rank or a !LowRankModifier, not both", recipe.source,
                        recipe.low_rank.front().where.line));
  }
  for (const pruning::LowRankModifier& modifier : recipe.low_rank) {
    absl::StatusOr<lowrank::RankRule> rule = lowrank::ParseRankRule(modifier.rank);
    if (!rule.ok()) {
      return absl::InvalidArgumentError(absl::StrFormat("%s:%d: !LowRankModifier: %s",
                                                        recipe.source, modifier.where.line,
                                                        rule.status().message()));
    }
    // One start for all: the callback turns every layer low-rank together.
    if (modifier.start_epoch != recipe.low_rank.front().start_epoch) {
      return absl::UnimplementedError(absl::StrFormat(
          "%s:%d: every !LowRankModifier must have the same start_epoch", recipe.source,
          modifier.where.line));
    }
    for (const std::string& layer : modifier.params.layers) low_rank.rules[layer] = *rule;
    low_rank.start_epoch = static_cast<int>(modifier.start_epoch);
  }
  options.epochs = static_cast<int>(recipe.epochs.end_epoch);
  if (recipe.learning_rate.has_value()) options.lr_schedule = recipe.learning_rate->options;
  for (const pruning::GmpModifier& gmp : recipe.gmp) {
    plan.gradual.push_back(
        {.schedule = {.initial_sparsity = gmp.schedule.initial_sparsity,
                      .final_sparsity = gmp.schedule.final_sparsity,
                      .start_epoch = static_cast<double>(gmp.schedule.begin_step),
                      .end_epoch = static_cast<double>(gmp.schedule.end_step),
                      .update_frequency = static_cast<double>(gmp.schedule.frequency),
                      .global = gmp.global},
         .parameters = WeightNames(gmp.params)});
  }
  for (const pruning::ConstantPruningModifier& constant : recipe.constant) {
    const double epoch = static_cast<double>(constant.schedule.begin_step);
    plan.gradual.push_back({.schedule = {.initial_sparsity = constant.schedule.sparsity,
                                         .final_sparsity = constant.schedule.sparsity,
                                         .start_epoch = epoch,
                                         .end_epoch = epoch,
                                         .global = constant.global},
                            .parameters = WeightNames(constant.params)});
  }
  for (const pruning::AcDcModifier& acdc : recipe.acdc) {
    plan.acdc.push_back({.options = {.schedule = acdc.schedule, .global = acdc.global},
                         .parameters = WeightNames(acdc.params)});
  }
  for (const pruning::FilterPruningModifier& filters : recipe.filters) {
    plan.filters.push_back({.convs = filters.params.layers,
                            .fraction = filters.sparsity,
                            .epoch = filters.epoch,
                            .thinning = filters.thinning});
  }
  return absl::OkStatus();
}

// The callbacks that carry out a PruningPlan, and what the result says of it.
struct Pruners {
  std::vector<std::unique_ptr<training::TrainingCallback>> callbacks;
  std::vector<std::string> unstructured;  // parameters under magnitude masks
  // The first unstructured modifier's target per (fractional) epoch, for
  // sparsity.svg; empty without one.
  std::function<double(double)> target_sparsity;
  const pruning::FilterPruningCallback* filters = nullptr;
  nlohmann::json description = nlohmann::json::array();
};

absl::StatusOr<Pruners> MakePruners(const PruningPlan& plan, training::ImageClassifier& model,
                                    const training::LayerGraph& graph,
                                    torch::optim::Optimizer& optimizer) {
  Pruners pruners;
  for (const PruningConfig& gradual : plan.gradual) {
    const std::vector<std::string> names =
        gradual.parameters.empty() ? DefaultPrunableParameters(graph) : gradual.parameters;
    ASSIGN_OR_RETURN(pruning::MaskedParameters masked,
                     pruning::MaskedParameters::Create(model, names));
    ASSIGN_OR_RETURN(std::unique_ptr<pruning::GradualPruningCallback> callback,
                     pruning::GradualPruningCallback::Create(std::move(masked), gradual.schedule));
    const pruning::GradualPruningOptions& s = gradual.schedule;
    // Constant pruning is the degenerate schedule (gradual_pruning_callback.h).
    const bool constant =
        s.start_epoch == s.end_epoch && s.initial_sparsity == s.final_sparsity;
    pruners.description.push_back({{"method", constant ? "constant" : "gmp"},
                                   {"initial_sparsity", s.initial_sparsity},
                                   {"final_sparsity", s.final_sparsity},
                                   {"start_epoch", s.start_epoch},
                                   {"end_epoch", s.end_epoch},
                                   {"update_frequency", s.update_frequency},
                                   {"global", s.global},
                                   {"parameters", names}});
    if (!pruners.target_sparsity) {
      pruners.target_sparsity = [gmp = callback.get()](double epoch) {
        return gmp->TargetSparsityAtEpoch(epoch);
      };
    }
    pruners.unstructured.insert(pruners.unstructured.end(), names.begin(), names.end());
    pruners.callbacks.push_back(std::move(callback));
  }
  for (const PruningPlan::AcDc& acdc : plan.acdc) {
    ASSIGN_OR_RETURN(pruning::MaskedParameters masked,
                     pruning::MaskedParameters::Create(model, acdc.parameters));
    ASSIGN_OR_RETURN(std::unique_ptr<pruning::AcDcPruningCallback> callback,
                     pruning::AcDcPruningCallback::Create(std::move(masked), acdc.options,
                                                          &optimizer));
    const pruning::AcDcScheduleOptions& s = acdc.options.schedule;
    pruners.description.push_back({{"method", "acdc"},
                                   {"sparsity", s.sparsity},
                                   {"start_epoch", s.begin_step},
                                   {"phase_epochs", s.phase_steps},
                                   {"fine_tune_epoch", s.fine_tune_step},
                                   {"global", acdc.options.global},
                                   {"parameters", acdc.parameters}});
    if (!pruners.target_sparsity) {
      pruners.target_sparsity = [acdc = callback.get()](double epoch) {
        return acdc->TargetSparsityAtEpoch(epoch);
      };
    }
    pruners.unstructured.insert(pruners.unstructured.end(), acdc.parameters.begin(),
                                acdc.parameters.end());
    pruners.callbacks.push_back(std::move(callback));
  }
  if (!plan.filters.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<pruning::FilterPruningCallback> callback,
                     pruning::FilterPruningCallback::Create(model, graph, plan.filters));
    for (const pruning::FilterPruningStep& step : plan.filters) {
      pruners.description.push_back({{"method", "filters"},
                                     {"fraction", step.fraction},
                                     {"epoch", step.epoch},
                                     {"thinning", step.thinning},
                                     {"layers", step.convs}});
    }
    pruners.filters = callback.get();
    pruners.callbacks.push_back(std::move(callback));
  }
  return pruners;
}

// The model's float tensors (parameters and buffers) as framework-free copies.
absl::StatusOr<pruning::TensorMap> ModelTensors(training::ImageClassifier& model) {
  pruning::TensorMap tensors;
  try {
    const auto add = [&](const std::string& name, const torch::Tensor& tensor) {
      if (!c10::isFloatingType(tensor.scalar_type())) return;  // num_batches_tracked
      const torch::Tensor t = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
      tensors[name] = {t.sizes().vec(),
                       std::vector<float>(t.data_ptr<float>(), t.data_ptr<float>() + t.numel())};
    };
    for (const auto& item : model.named_parameters()) add(item.key(), item.value());
    for (const auto& item : model.named_buffers()) add(item.key(), item.value());
  } catch (const c10::Error& error) {
    return absl::InternalError(
        absl::StrCat("cannot copy the model's tensors: ", error.what_without_backtrace()));
  }
  return tensors;
}

// Sensitivity analysis (sensitivity.h) of the trained model on the test
// split: each conv and linear layer (each conv for filters) pruned alone by
// magnitude (or L1-ranked filters) at 0.1 .. 0.9, evaluated, then restored.
absl::StatusOr<pruning::SensitivityTable> AnalyzeModelSensitivity(
    training::ImageClassifier& model, const training::LayerGraph& graph,
    const training::TensorDataset& test, Sensitivity kind, double dense_top1,
    const training::TrainerOptions& evaluation) {
  std::vector<std::string> layers;
  for (const std::string& layer : pruning::PrunableLayers(graph)) {
    bool is_conv = false;
    for (const training::Layer& l : graph.layers()) {
      is_conv |= l.name == layer && l.op == training::LayerOp::kConv2d;
    }
    if (kind == Sensitivity::kWeights || is_conv) layers.push_back(layer);
  }
  const auto parameters = model.named_parameters();
  const auto evaluate = [&](const std::string& layer,
                            double sparsity) -> absl::StatusOr<double> {
    torch::Tensor weight = parameters[layer + ".weight"];
    torch::NoGradGuard no_grad;
    const torch::Tensor saved = weight.detach().clone();
    const torch::Tensor flat = saved.contiguous().view(-1);
    const absl::Span<const float> values(flat.data_ptr<float>(), flat.numel());
    std::vector<uint8_t> mask(values.size());
    if (kind == Sensitivity::kFilters) {
      const int64_t filters = weight.size(0);
      ASSIGN_OR_RETURN(const std::vector<int64_t> kept,
                       pruning::KeptFiltersByL1(values, filters, sparsity));
      mask = pruning::FilterMask(kept, filters, weight.numel() / filters);
    } else {
      RETURN_IF_ERROR(pruning::MagnitudeMask(values, sparsity, absl::MakeSpan(mask)));
    }
    const torch::Tensor mask_tensor =
        torch::from_blob(mask.data(), {static_cast<int64_t>(mask.size())}, torch::kUInt8)
            .to(torch::kFloat)
            .view(weight.sizes());
    weight.mul_(mask_tensor);
    const double top1 = training::Evaluate(model, test, evaluation.eval_batch_size,
                                           evaluation.channels_last)
                             .top1;
    weight.copy_(saved);
    return top1;
  };
  return pruning::AnalyzeSensitivity(layers, pruning::DefaultSensitivitySparsities(), dense_top1,
                                     evaluate);
}

struct ThinnedModel {
  onnx::ModelProto onnx;
  int64_t parameters = 0;
  int64_t macs = 0;
};

// The trained model with the filters in `kept` physically removed
// (thinning.h), as ONNX. The removed channels are zero in `model`, so the
// thinned model computes what the trained one does.
absl::StatusOr<ThinnedModel> ThinModel(training::ImageClassifier& model,
                                       const training::LayerGraph& graph,
                                       const std::map<std::string, std::vector<int64_t>>& kept) {
  ASSIGN_OR_RETURN(pruning::TensorMap tensors, ModelTensors(model));
  ASSIGN_OR_RETURN(const pruning::ThinningPlan plan, pruning::PlanThinning(graph, kept));
  ASSIGN_OR_RETURN(const training::LayerGraph thinned, pruning::ThinGraph(graph, plan));
  RETURN_IF_ERROR(pruning::ThinTensors(graph, plan, tensors));
  training::ParameterLookup lookup;
  for (const auto& [name, tensor] : tensors) lookup[name] = {tensor.shape, tensor.values};
  ThinnedModel result;
  ASSIGN_OR_RETURN(result.onnx, training::ExportOnnx(thinned, lookup));
  ASSIGN_OR_RETURN(result.macs, training::CountMacs(thinned));
  for (const auto& item : model.named_parameters()) {
    result.parameters += static_cast<int64_t>(tensors.at(item.key()).values.size());
  }
  return result;
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
                        const std::function<double(double)>& target_sparsity, int num_epochs) {
  Series top1 = {"test top-1", {}}, train_top1 = {"train top-1", {}};
  Series measured = {"measured", {}}, target = {"target", {}};
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
  if (target_sparsity) {
    for (int i = 0; i <= 4 * num_epochs; ++i) {
      target.points.emplace_back(i / 4.0, target_sparsity(i / 4.0));
    }
    ASSIGN_OR_RETURN(const std::string svg,
                     RenderSvg({.title = "Sparsity schedule", .x_label = "epoch",
                                .y_label = "sparsity of pruned layers",
                                .series = {target, measured}, .y_range = {{0, 1}}}));
    RETURN_IF_ERROR(WriteText(dir + "/sparsity.svg", svg));
  }
  return absl::OkStatus();
}

// The layers' ranks and what they save; parameters_after is the model's
// count with each chosen weight replaced by its two factors.
nlohmann::json LowRankJson(const lowrank::LowRankCallback& low_rank, int64_t parameters) {
  nlohmann::json layers = nlohmann::json::array();
  int64_t saved = 0;
  for (const lowrank::LowRankCallback::Layer& layer : low_rank.layers()) {
    const int64_t before = static_cast<int64_t>(layer.rows) * layer.cols;
    const int64_t after = lowrank::FactorizedParameters(layer.rows, layer.cols, layer.rank);
    double energy = 0.0, kept = 0.0;
    for (size_t i = 0; i < layer.singular_values.size(); ++i) {
      energy += layer.singular_values[i] * layer.singular_values[i];
      if (static_cast<int>(i) < layer.rank) kept += layer.singular_values[i] * layer.singular_values[i];
    }
    if (layer.rank > 0) saved += before - after;
    layers.push_back({{"layer", layer.name},
                      {"rule", lowrank::RankRuleToString(layer.rule)},
                      {"rows", layer.rows},
                      {"cols", layer.cols},
                      {"rank", layer.rank},
                      {"weights_before", before},
                      {"weights_after", layer.rank > 0 ? after : before},
                      {"compression", layer.rank > 0 ? static_cast<double>(before) / after : 1.0},
                      {"energy_kept_at_start", energy > 0 ? kept / energy : 1.0}});
  }
  return {{"start_epoch", low_rank.start_epoch()},
          {"active", low_rank.active()},
          {"layers", std::move(layers)},
          {"parameters_before", parameters},
          {"parameters_after", parameters - saved}};
}

// The low-bit layers and the thesis's memory reduction, 32 sum P / sum P b,
// over every conv and linear layer (weights and biases; others at 32 bits).
absl::StatusOr<nlohmann::json> LowBitJson(const quantization::LowBitCallback& low_bit,
                                          const training::LayerGraph& graph,
                                          const torch::nn::Module& model) {
  std::map<std::string, int> bits;
  nlohmann::json layers = nlohmann::json::array();
  for (const quantization::LowBitCallback::Layer& layer : low_bit.layers()) {
    bits[layer.name] = layer.bits;
    layers.push_back({{"layer", layer.name}, {"bits", layer.bits}, {"alpha", layer.alpha}});
  }
  const auto parameters = model.named_parameters();
  std::vector<intrinsic_dim::LayerSize> sizes;
  for (const training::Layer& layer : graph.layers()) {
    if (layer.op != training::LayerOp::kConv2d && layer.op != training::LayerOp::kLinear) continue;
    int64_t count = 0;
    for (const char* suffix : {".weight", ".bias"}) {
      if (const torch::Tensor* t = parameters.find(layer.name + suffix)) count += t->numel();
    }
    const auto it = bits.find(layer.name);
    sizes.push_back({count, it == bits.end() ? 32 : it->second});
  }
  ASSIGN_OR_RETURN(const double reduction, intrinsic_dim::MemoryReduction(sizes));
  return nlohmann::json{{"start_epoch", low_bit.start_epoch()},
                        {"layers", std::move(layers)},
                        {"memory_reduction", reduction}};
}

// Test top-1 of every exit of an early-exit model (side exits first).
std::vector<double> ExitTop1(training::ImageClassifier& model, const training::TensorDataset& test) {
  torch::NoGradGuard no_grad;
  model.eval();
  const int exits = model.num_exits();
  std::vector<int64_t> correct(exits, 0);
  const int64_t size = test.images.size(0);
  for (int64_t begin = 0; begin < size; begin += 1000) {
    const int64_t end = std::min<int64_t>(begin + 1000, size);
    const std::vector<torch::Tensor> logits = model.ForwardExits(test.images.slice(0, begin, end));
    const torch::Tensor labels = test.labels.slice(0, begin, end);
    for (int k = 0; k < exits; ++k) {
      correct[k] += logits[k].argmax(1).eq(labels).sum().item<int64_t>();
    }
  }
  std::vector<double> top1;
  for (int64_t c : correct) top1.push_back(100.0 * c / size);
  return top1;
}

// Step 7: latency of the exported model at batch 1 on the inference runtime,
// as `bench --model=<onnx> --engine=<engine> --batch=1` measures it.
absl::StatusOr<nlohmann::json> BenchModel(const std::string& onnx_path, bench::Engine engine,
                                          int num_threads, double min_seconds,
                                          training::MetricsSink* sink, std::FILE* log) {
  bench::SteadyClock clock;
  ASSIGN_OR_RETURN(const bench::LoadedModel model,
                   bench::LoadModel(onnx_path, /*batch_size=*/1, clock,
                                    /*with_sparse=*/bench::UsesSparseModel(engine)));
  bench::PointConfig point_config;
  point_config.engine = engine;
  point_config.num_threads = num_threads;
  point_config.policy.min_seconds = min_seconds;
  const bench::LoadedModel* models[] = {&model};
  ASSIGN_OR_RETURN(const bench::PointResult point, bench::MeasurePoint(models, point_config, clock));
  const bench::ModelMeasurement& measured = point.models.front();
  if (log != nullptr) {
    std::fprintf(log, "bench %s batch 1, %d thread(s): median %.4f ms, p90 %.4f ms, %.0f img/s\n",
                 bench::EngineName(engine), num_threads, measured.latency.median_ms,
                 measured.latency.p90_ms, measured.items_per_second);
  }
  if (sink != nullptr) RETURN_IF_ERROR(sink->Summarize(bench::PointMetrics(point)));
  return nlohmann::json{{"engine", bench::EngineName(engine)},
                        {"batch_size", 1},
                        {"threads", num_threads},
                        {"repetitions", measured.latency.count},
                        {"latency_median_ms", measured.latency.median_ms},
                        {"latency_mean_ms", measured.latency.mean_ms},
                        {"latency_p90_ms", measured.latency.p90_ms},
                        {"items_per_second", measured.items_per_second},
                        {"model_bytes", measured.file_bytes}};
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
                                          .input_size = data.train.height,
                                          .exit_stages = config.exit_stages}));
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
  PruningPlan plan;
  if (config.pruning.has_value()) plan.gradual.push_back(*config.pruning);
  LowRankPlan low_rank_plan{config.low_rank, config.low_rank_start_epoch};
  std::optional<int> int8_qat_start_epoch = config.int8_qat_start_epoch;
  std::optional<pruning::Recipe> recipe;
  if (!config.recipe_path.empty()) {
    if (config.pruning.has_value()) {
      return absl::InvalidArgumentError("give pruning either by recipe or by flags, not both");
    }
    ASSIGN_OR_RETURN(const std::string text, ReadText(config.recipe_path));
    ASSIGN_OR_RETURN(recipe, pruning::ParseRecipe(text, {.source = config.recipe_path,
                                                         .overrides = config.recipe_overrides,
                                                         .graph = &graph}));
    RETURN_IF_ERROR(ApplyRecipe(*recipe, options, plan, int8_qat_start_epoch, low_rank_plan));
  }
  if (!config.dense_checkpoint.empty()) {
    RETURN_IF_ERROR(LoadWeights(config.dense_checkpoint, "dense checkpoint", *model));
  }
  std::shared_ptr<training::ImageClassifier> teacher;
  if (!config.teacher_checkpoint.empty()) {
    ASSIGN_OR_RETURN(teacher, LoadTeacher(config, data.train));
    options.teacher = teacher.get();
  }
  const bool trains = options.epochs > 0;
  const bool prunes = !plan.gradual.empty() || !plan.acdc.empty() || !plan.filters.empty();
  if (!config.low_bit.empty() && prunes) {
    // sign(0) is +1: low-bit weights would revive every pruned weight.
    return absl::InvalidArgumentError("low-bit training cannot be combined with pruning yet");
  }
  if (config.cluster > 0) {
    if (!config.low_bit.empty() || !plan.acdc.empty()) {
      return absl::InvalidArgumentError(
          "weight clustering cannot be combined with low-bit training or AC/DC");
    }
    for (const PruningConfig& gradual : plan.gradual) {
      // Masks that change after clustering would be overwritten by centroids.
      if (config.cluster_start_epoch < gradual.schedule.end_epoch) {
        return absl::InvalidArgumentError(absl::StrCat(
            "clustering starts at epoch ", config.cluster_start_epoch,
            ", before pruning ends at epoch ", gradual.schedule.end_epoch));
      }
    }
  }
  if (!low_rank_plan.rules.empty() && (prunes || !config.low_bit.empty() || config.cluster > 0)) {
    // The projection would fill pruned zeros and move quantized or shared values.
    return absl::InvalidArgumentError(
        "low-rank training cannot be combined with pruning, low-bit training or clustering yet");
  }
  if (int8_qat_start_epoch.has_value() &&
      (!config.low_bit.empty() || config.cluster > 0 || !low_rank_plan.rules.empty())) {
    // Each would move weights off the int8 grid after QAT put them on it.
    return absl::InvalidArgumentError(
        "int8 quantization-aware training cannot be combined with low-bit training, clustering "
        "or low rank");
  }
  if (int8_qat_start_epoch.has_value() && *int8_qat_start_epoch >= options.epochs) {
    return absl::InvalidArgumentError(absl::StrCat("QAT starts at epoch ", *int8_qat_start_epoch,
                                                   ", but training ends after epoch ",
                                                   options.epochs - 1));
  }
  if (!trains && (config.resume || prunes || !config.low_bit.empty() || config.cluster > 0 ||
                  !low_rank_plan.rules.empty() || int8_qat_start_epoch.has_value())) {
    return absl::InvalidArgumentError(
        "with 0 epochs train_prune only evaluates (and analyses) a model: no pruning, no resume");
  }
  const bool distributed = config.data_parallel.world_size > 1;
  const bool writes_outputs = !config.output_dir.empty() && config.data_parallel.rank == 0;
  if (writes_outputs) {
    RETURN_IF_ERROR(MakeDirectory(config.output_dir));
    if (trains) options.checkpoint_path = config.output_dir + "/checkpoint.pt";
  }
  std::unique_ptr<training::Trainer> trainer;
  std::unique_ptr<training::GradientAllReduce> all_reduce;
  if (trains) {
    ASSIGN_OR_RETURN(trainer, training::Trainer::Create(*model, options));
    // Joins the group and takes rank 0's initial weights before anything
    // else reads them.
    if (distributed) {
      ASSIGN_OR_RETURN(all_reduce,
                       training::GradientAllReduce::Create(*model, config.data_parallel));
    }
    if (config.resume) {
      if (config.output_dir.empty()) {
        return absl::InvalidArgumentError("resuming needs an output folder with a checkpoint");
      }
      RETURN_IF_ERROR(trainer->Resume(config.output_dir + "/checkpoint.pt"));
      // The checkpoint holds the model and optimizer, not the quantizers'
      // full-precision shadow weights or observed ranges: a resumed QAT run
      // starts its shadows from the quantized weights and observes afresh.
      if ((int8_qat_start_epoch.has_value() || !config.low_bit.empty()) && log != nullptr) {
        std::fprintf(log,
                     "warning: resumed quantization-aware training restarts from the "
                     "checkpoint's quantized weights and re-observes activation ranges; it "
                     "will not match an uninterrupted run exactly\n");
      }
    }
  }
  const EvalStats before =
      training::Evaluate(*model, test, options.eval_batch_size, options.channels_last);

  Pruners pruners;
  std::unique_ptr<quantization::LowBitCallback> low_bit;
  std::unique_ptr<quantization::Int8QatCallback> int8_qat;
  // Removes the quantizers' hook from the model before they are destroyed.
  ScopedLayerInputHook input_hook(*model);
  std::unique_ptr<clustering::ClusterCallback> clusters;
  std::unique_ptr<lowrank::LowRankCallback> low_rank;
  training::TrainResult trained;
  const bool augment = config.augment.value_or(data.train.channels == 3);
  if (trains) {
    ASSIGN_OR_RETURN(pruners, MakePruners(plan, *model, graph, trainer->optimizer()));
    EpochLog epoch_log(log, options.epochs);
    std::vector<training::TrainingCallback*> callbacks;
    // Gradients are averaged over ranks before pruning masks them.
    if (all_reduce != nullptr) callbacks.push_back(all_reduce.get());
    for (const auto& pruner : pruners.callbacks) callbacks.push_back(pruner.get());
    if (!config.low_bit.empty()) {
      ASSIGN_OR_RETURN(low_bit, quantization::LowBitCallback::Create(*model, config.low_bit,
                                                                    config.low_bit_start_epoch));
      callbacks.push_back(low_bit.get());
      if (config.low_bit_activations) input_hook.Set(low_bit.get());
    }
    if (int8_qat_start_epoch.has_value()) {
      // After the pruning callbacks: masks first, then the int8 grid (which
      // keeps zeros zero).
      ASSIGN_OR_RETURN(int8_qat, quantization::Int8QatCallback::Create(
                                     *model, pruning::PrunableLayers(graph),
                                     {.start_epoch = *int8_qat_start_epoch}));
      callbacks.push_back(int8_qat.get());
      input_hook.Set(int8_qat.get());
    }
    if (config.cluster > 0) {
      std::vector<std::string> kernels;
      for (const std::string& layer : pruning::PrunableLayers(graph)) {
        kernels.push_back(layer + ".weight");
      }
      ASSIGN_OR_RETURN(clusters, clustering::ClusterCallback::Create(
                                     *model, kernels, config.cluster, config.cluster_start_epoch));
      // After the pruning callbacks: masks first, then the tie to centroids.
      callbacks.push_back(clusters.get());
    }
    if (!low_rank_plan.rules.empty()) {
      ASSIGN_OR_RETURN(low_rank, lowrank::LowRankCallback::Create(*model, low_rank_plan.rules,
                                                                 low_rank_plan.start_epoch));
      callbacks.push_back(low_rank.get());
    }
    callbacks.push_back(&epoch_log);
    ASSIGN_OR_RETURN(std::unique_ptr<training::BatchSource> batches,
                     MakeBatchSource(config, augment, data.train, train, stats));
    ASSIGN_OR_RETURN(trained, trainer->Fit(*batches, &test, callbacks, sink, progress));
  }
  const EvalStats after =
      training::Evaluate(*model, test, options.eval_batch_size, options.channels_last);
  std::optional<pruning::SensitivityTable> sensitivity;
  if (config.sensitivity != Sensitivity::kNone) {
    ASSIGN_OR_RETURN(sensitivity,
                     AnalyzeModelSensitivity(*model, graph, test, config.sensitivity, after.top1,
                                             options));
    if (log != nullptr) {
      std::fprintf(log, "sensitivity (test top-1 %%, one layer pruned at a time, no retraining):\n%s",
                   pruning::FormatSensitivityTable(*sensitivity).c_str());
    }
  }

  std::map<std::string, pruning::TensorCount> tensors;
  for (const auto& parameter : model->named_parameters()) {
    tensors[parameter.key()] = {parameter.value().numel(),
                                parameter.value().eq(0).sum().item<int64_t>()};
  }
  ASSIGN_OR_RETURN(const pruning::SparsityReport report,
                   pruning::MakeSparsityReport(graph, tensors, pruners.unstructured));

  nlohmann::json result = NewResult("train_prune", config.seed, config.flags);
  result["model"] = config.model;
  result["dataset"] = config.dataset;
  result["augmentation"] = augment;
  result["num_classes"] = data.train.num_classes;
  result["parameter_count"] = training::CountParameters(*model);
  result["before"] = EvalJson(before);
  result["after"] = EvalJson(after);
  result["test_top1"] = after.top1;  // the headline number
  if (clusters != nullptr) {
    nlohmann::json tensors = nlohmann::json::array();
    for (const clustering::ClusterCallback::Tensor& t : clusters->tensors()) {
      tensors.push_back({{"parameter", t.name},
                         {"clusters", t.clusters},
                         {"nonzeros", static_cast<int64_t>(t.positions.size())}});
    }
    result["clustering"] = {{"clusters", config.cluster},
                            {"start_epoch", config.cluster_start_epoch},
                            {"clustered", clusters->clustered()},
                            {"tensors", std::move(tensors)}};
  }
  if (low_bit != nullptr) {
    ASSIGN_OR_RETURN(result["low_bit"], LowBitJson(*low_bit, graph, *model));
    result["low_bit"]["activations"] =
        config.low_bit_activations
            ? "low-bit layers' inputs clipped to [-1, 1] and quantized at the layer's bits in "
              "training and evaluation; model.onnx computes them in fp32"
            : "fp32 (not quantized)";
    if (log != nullptr) {
      std::fprintf(log, "low-bit weights: memory reduction %.2fx over conv and linear layers\n",
                   result["low_bit"]["memory_reduction"].get<double>());
    }
  }
  if (int8_qat != nullptr) {
    result["int8_qat"] = {{"start_epoch", int8_qat->options().start_epoch},
                          {"active", int8_qat->active()},
                          {"layers", pruning::PrunableLayers(graph).size()},
                          {"observer", quantization::CalibrationMethodName(
                                           int8_qat->options().observer.method)},
                          {"fake_quant_top1", after.top1}};
  }
  if (model->num_exits() > 1) {
    const std::vector<double> top1 = ExitTop1(*model, test);
    result["exits"] = {{"num_exits", model->num_exits()},
                       {"test_top1", top1},
                       {"loss_weights", options.exit_loss_weights.empty()
                                            ? std::vector<double>(model->num_exits(), 1.0)
                                            : options.exit_loss_weights}};
    if (log != nullptr) {
      std::string line = "exits: test top-1";
      for (double t : top1) absl::StrAppendFormat(&line, " %.2f%%", t);
      std::fprintf(log, "%s (side exits first)\n", line.c_str());
    }
  }
  if (low_rank != nullptr) {
    result["low_rank"] = LowRankJson(*low_rank, training::CountParameters(*model));
    if (log != nullptr) {
      std::fprintf(log, "low-rank layers: %lld parameters (from %lld)\n",
                   static_cast<long long>(result["low_rank"]["parameters_after"].get<int64_t>()),
                   static_cast<long long>(result["low_rank"]["parameters_before"].get<int64_t>()));
    }
  }
  result["ruined"] = trained.ruined;
  if (trained.ruined) result["ruined_reason"] = trained.ruined_reason;
  result["stopped_early"] = trained.stopped_early;
  double train_seconds = 0.0;
  for (const MetricValues& row : trained.history) train_seconds += row.at("seconds");
  result["train_seconds"] = train_seconds;
  result["epochs"] = trained.history;
  result["sparsity_report"] = ReportJson(report);
  result["pruning"] = pruners.description;
  if (sensitivity.has_value()) {
    result["sensitivity"] = pruning::SensitivityJson(*sensitivity);
    result["sensitivity"]["structure"] =
        config.sensitivity == Sensitivity::kFilters ? "filters" : "weights";
  }
  if (!config.teacher_checkpoint.empty()) {
    result["distillation"] = {{"teacher_checkpoint", config.teacher_checkpoint},
                              {"teacher_model", teacher_model_name(config)},
                              {"temperature", options.distillation_temperature},
                              {"alpha", options.distillation_alpha}};
  }
  std::optional<ThinnedModel> thinned;
  if (pruners.filters != nullptr && !pruners.filters->thinned_filters().empty()) {
    ASSIGN_OR_RETURN(thinned, ThinModel(*model, graph, pruners.filters->thinned_filters()));
    ASSIGN_OR_RETURN(const int64_t macs, training::CountMacs(graph));
    result["thinning"] = {{"parameters_before", training::CountParameters(*model)},
                          {"parameters_after", thinned->parameters},
                          {"macs_before", macs},
                          {"macs_after", thinned->macs},
                          {"kept_filters", pruners.filters->thinned_filters()}};
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
    if (sensitivity.has_value()) {
      RETURN_IF_ERROR(WriteText(dir + "/sensitivity.csv", pruning::SensitivityCsv(*sensitivity)));
    }
    RETURN_IF_ERROR(WritePlots(dir, trained.history, pruners.target_sparsity, options.epochs));
    const std::string onnx_path = dir + "/model.onnx";
    ASSIGN_OR_RETURN(onnx::ModelProto trained_onnx, training::ExportOnnx(*model));
    if (low_rank != nullptr && low_rank->active()) {
      std::map<std::string, lowrank::LayerRank> ranks;
      for (const lowrank::LowRankCallback::Layer& layer : low_rank->layers()) {
        ranks.emplace(layer.name, lowrank::LayerRank(layer.rank, layer.rule.spatial));
      }
      ASSIGN_OR_RETURN(const std::vector<lowrank::FactorizedLayer> factorized,
                       lowrank::FactorizeOnnxLayers(trained_onnx, ranks));
      for (const lowrank::FactorizedLayer& layer : factorized) {
        // Exact up to float rounding: training kept the weight at this rank.
        result["low_rank"]["onnx_relative_error"][layer.layer] = layer.relative_error;
      }
      RETURN_IF_ERROR(training::CheckOnnxModel(trained_onnx));
    }
    RETURN_IF_ERROR(training::WriteOnnxFile(thinned.has_value() ? thinned->onnx : trained_onnx,
                                            onnx_path));
    struct stat info;
    result["onnx_bytes"] = stat(onnx_path.c_str(), &info) == 0 ? static_cast<int64_t>(info.st_size) : -1;
    if (thinned.has_value()) {
      // What thinning saved: the same model with the filters kept as zeros.
      result["thinning"]["onnx_bytes_before"] = static_cast<int64_t>(trained_onnx.ByteSizeLong());
    }
    result["artifacts"] = {{"onnx", onnx_path},
                           {"result", dir + "/result.json"},
                           {"sparsity_table", dir + "/sparsity.txt"}};
    if (trains) {
      result["artifacts"]["checkpoint"] = dir + "/checkpoint.pt";
      result["artifacts"]["accuracy_plot"] = dir + "/accuracy.svg";
    }
    if (pruners.target_sparsity) result["artifacts"]["sparsity_plot"] = dir + "/sparsity.svg";
    if (recipe.has_value()) result["artifacts"]["recipe"] = dir + "/recipe.yaml";
    if (sensitivity.has_value()) result["artifacts"]["sensitivity"] = dir + "/sensitivity.csv";
    if (int8_qat != nullptr && int8_qat->active()) {
      const quantize::NormalizedImages calibration =
          quantize::Normalize(data.train, stats.mean, stats.stddev, kCalibrationImages);
      const quantize::NormalizedImages test_images =
          quantize::Normalize(data.test, stats.mean, stats.stddev, /*count=*/0);
      ASSIGN_OR_RETURN(const nlohmann::json exported,
                       ExportInt8Qat({.fp32 = thinned ? &thinned->onnx : &trained_onnx,
                                      .layer_input_ranges = int8_qat->activation_ranges(),
                                      .calibration = &calibration,
                                      .test = &test_images,
                                      .path = dir + "/model_int8.onnx"}));
      result["int8_qat"].update(exported);
      result["artifacts"]["onnx_int8"] = dir + "/model_int8.onnx";
      if (log != nullptr) {
        std::fprintf(log,
                     "int8 QAT: fake-quant top-1 %.2f%%, model_int8.onnx top-1 %.2f%% "
                     "(%d int8 ops)\n",
                     after.top1, exported["onnx_int8_top1"].get<double>(),
                     exported["int8_nodes"].get<int>());
      }
    }
    if (model->num_exits() > 1) {
      // model.onnx is the final classifier alone; this one also outputs the
      // side exits, for inference/early_exit and tools/bench:exit_bench.
      training::OnnxExportOptions exits;
      exits.side_outputs = true;
      RETURN_IF_ERROR(training::ExportOnnxFile(*model, dir + "/model_exits.onnx", exits));
      result["artifacts"]["onnx_exits"] = dir + "/model_exits.onnx";
    }
    if (config.bench_engine.has_value()) {
      ASSIGN_OR_RETURN(result["bench"], BenchModel(onnx_path, *config.bench_engine,
                                                   config.bench_threads,
                                                   config.bench_min_seconds, sink, log));
    }
    RETURN_IF_ERROR(WriteJsonFile(dir + "/result.json", result));
  }
  return result;
}

}  // namespace edgecompress::tools
