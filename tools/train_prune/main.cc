// train_prune: trains a zoo model on a named dataset, optionally pruning it
// (gradual magnitude pruning by flags; AC/DC and L1 filter pruning with
// thinning by recipe), and reports accuracy, sparsity, size and MACs as JSON.
// Flag parsing and wiring only; the work is in pipeline.h.
#include <ATen/Parallel.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tools/result/result_json.h"
#include "tools/status/exit_code.h"
#include "tools/status/status_macros.h"
#include "metrics/metrics_run.h"
#include "tools/io/directory.h"
#include "lowrank/factorization.h"
#include "tools/train_prune/pipeline.h"
#include "training/heap_reuse.h"

ABSL_FLAG(std::string, model, "lenet5",
          "Model: lenet5, resnet20, resnet32, resnet56, resnet18, resnet50, mobilenet_v1.");
ABSL_FLAG(std::string, dataset, "fashion_mnist",
          "Dataset: fashion_mnist, mnist, cifar10, cifar100, synthetic; a ':' and classes "
          "keep only those, e.g. cifar10:cat,dog (the thesis' binary task).");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder; empty: the dataset's default.");
ABSL_FLAG(int, epochs, 2, "Training epochs; 0 evaluates a --dense_checkpoint model.");
ABSL_FLAG(std::string, augment, "auto",
          "Random crop + flip of training images: true, false, or auto (3-channel datasets).");
ABSL_FLAG(int, data_workers, 1, "Threads preparing augmented batches.");
ABSL_FLAG(int, batch_size, 64, "Mini-batch size.");
ABSL_FLAG(std::string, optimizer, "sgd", "sgd or adam.");
ABSL_FLAG(double, learning_rate, 0.05, "Base learning rate.");
ABSL_FLAG(std::string, lr_schedule, "cosine", "constant, multi_step, exponential or cosine.");
ABSL_FLAG(std::vector<std::string>, milestones, {}, "multi_step: epochs where lr *= gamma.");
ABSL_FLAG(double, gamma, 0.1, "multi_step and exponential decay factor.");
ABSL_FLAG(int, lr_start_epoch, 0, "exponential: first epoch that decays.");
ABSL_FLAG(double, warmup_epochs, 0, "Linear learning-rate warm-up, in epochs.");
ABSL_FLAG(double, momentum, 0.9, "SGD momentum.");
ABSL_FLAG(bool, nesterov, false, "SGD with Nesterov momentum.");
ABSL_FLAG(double, weight_decay, 0.0, "L2 weight decay.");
ABSL_FLAG(double, label_smoothing, 0.0, "Label smoothing in [0, 1).");
ABSL_FLAG(bool, channels_last, true,
          "Train on channels-last (NHWC) batches: faster convolutions and fused BatchNorm "
          "for conv nets; results equal NCHW training up to float rounding. "
          "--nochannels_last trains on NCHW batches.");
ABSL_FLAG(double, max_grad_norm, 0.0, "Clip the gradient norm; 0: off.");
ABSL_FLAG(double, sparsity, 0.8,
          "Final sparsity of gradual magnitude pruning in [0, 1); 0: train dense.");
ABSL_FLAG(double, initial_sparsity, 0.05, "GMP sparsity at the start epoch.");
ABSL_FLAG(double, prune_start_epoch, 0.0, "GMP start epoch.");
ABSL_FLAG(double, prune_end_epoch, -1.0,
          "GMP end epoch (final sparsity from there on); negative: 3/4 of --epochs.");
ABSL_FLAG(double, prune_frequency, 0.25, "Epochs between GMP mask updates.");
ABSL_FLAG(bool, global_pruning, true, "One magnitude threshold over all pruned layers.");
ABSL_FLAG(std::vector<std::string>, prune_params, {},
          "Parameters to prune; empty: all conv/linear weights but the first conv and last FC.");
ABSL_FLAG(std::string, recipe, "",
          "YAML recipe (see pruning/recipes/); sets epochs, learning rate and pruning, and "
          "replaces the pruning flags.");
ABSL_FLAG(std::vector<std::string>, override, {},
          "Recipe variable overrides, comma-separated name=value pairs (e.g. "
          "final_sparsity=0.95,num_epochs=20); a repeated --override replaces the earlier one.");
ABSL_FLAG(std::string, dense_checkpoint, "",
          "Start from the weights of this checkpoint.pt (a train_prune run of the same model "
          "and dataset); with --epochs=0 the model is only evaluated (and analysed).");
ABSL_FLAG(std::string, sensitivity, "none",
          "After training, prune each layer alone at 0.1..0.9 without retraining and record "
          "test top-1: none, weights (magnitude) or filters (L1-ranked, convs only).");
ABSL_FLAG(std::string, teacher, "",
          "Distil from this checkpoint.pt (a train_prune run on the same dataset); empty: off.");
ABSL_FLAG(std::string, teacher_model, "", "The teacher's zoo model; empty: --model.");
ABSL_FLAG(double, distillation_temperature, 4.0, "Softmax temperature of the soft targets.");
ABSL_FLAG(double, distillation_alpha, 0.9,
          "Weight of the soft-target loss; 1 - alpha goes to the hard labels.");
ABSL_FLAG(std::vector<std::string>, exit_stages, {},
          "resnet20/32/56: a side exit (global pool + linear) after each of these stages, "
          "0-based, e.g. 0,1; model_exits.onnx then holds them (tools/bench:exit_bench).");
ABSL_FLAG(std::vector<std::string>, exit_loss_weights, {},
          "Early-exit models (resnet20_exits): the weight of each exit's loss, side exits "
          "first, e.g. 0.5,0.5,1; empty: 1 each.");
ABSL_FLAG(uint64_t, seed, 1, "Seed for initialisation and shuffling.");
ABSL_FLAG(int, threads, 2, "LibTorch intra-op threads.");
ABSL_FLAG(std::string, output_dir, "",
          "Folder for checkpoint.pt, result.json, sparsity.txt and plots; empty: none.");
ABSL_FLAG(int, world_size, 1, "Data-parallel processes; > 1 trains over c10d Gloo.");
ABSL_FLAG(int, rank, 0, "This process's rank in [0, world_size); rank 0 writes outputs.");
ABSL_FLAG(std::string, master_addr, "127.0.0.1", "Rank 0's address (TCPStore rendezvous).");
ABSL_FLAG(int, master_port, 29500, "Rank 0's TCPStore port.");
ABSL_FLAG(bool, resume, false, "Continue from <output_dir>/checkpoint.pt.");
ABSL_FLAG(std::string, out, "", "Also write the JSON result here; empty: stdout.");
ABSL_FLAG(std::vector<std::string>, low_bit, {},
          "Train these layers with the thesis's low-bit weights, e.g. conv2:1,fc1:2,fc2:1 "
          "(module name:bits, 1-8; quantization/low_bit.h). Not with pruning.");
ABSL_FLAG(std::string, low_bit_from, "",
          "Take --low_bit from a tools/intrinsic_dim --model result: its layers below 32 bits.");
ABSL_FLAG(int, low_bit_start_epoch, 0, "First epoch of low-bit training.");
ABSL_FLAG(bool, low_bit_activations, false,
          "Also clip the low-bit layers' inputs to [-1, 1] and quantize them at the layer's "
          "bits in training and evaluation (the thesis's scheme); model.onnx still computes "
          "them in fp32.");
ABSL_FLAG(int, qat_start_epoch, -1,
          "Int8 quantization-aware training of every conv and linear layer from this epoch on "
          "(or a recipe's !QuantizationModifier); writes model_int8.onnx. -1: off.");
ABSL_FLAG(int, cluster, 0,
          "Share this many values per conv and linear weight tensor from --cluster_start_epoch "
          "on, and train the centroids (Deep Compression); 0: off. After pruning has ended.");
ABSL_FLAG(int, cluster_start_epoch, 0, "First epoch of weight clustering.");
ABSL_FLAG(std::vector<std::string>, low_rank, {},
          "Train these layers at low rank and export them factorised, e.g. fc1:4x "
          "(parameters / 4), conv2:rank=8 or fc1:energy=0.95, and conv2:spatial:4x for a "
          "conv's k x 1 / 1 x k split (lowrank/factorization.h). "
          "Not with pruning, low-bit training or clustering.");
ABSL_FLAG(int, low_rank_start_epoch, 0,
          "First epoch of low-rank training; the rank is chosen from the weights then.");
ABSL_FLAG(std::string, bench_engine, "none",
          "After training, measure model.onnx's batch-1 latency on the inference runtime: "
          "none, dense, sparse or auto (tools/bench's engines; needs --output_dir). The result's "
          "\"bench\" block and the metrics summary hold it, so a sweep can weigh accuracy, "
          "latency and size.");
ABSL_FLAG(int, bench_threads, 1, "Threads of --bench_engine's runtime.");
ABSL_FLAG(double, bench_min_seconds, 1.0, "Measured time of --bench_engine (after warm-up).");
ABSL_FLAG(std::string, metrics_dir, "",
          "W&B-compatible run directory for the epoch history and summary; empty: "
          "<output_dir>/wandb, or none without --output_dir. Rows go to WANDB_BASE_URL when "
          "set (WANDB_API_KEY, WANDB_PROJECT, ... from the environment), else stay on disk.");

namespace edgecompress {
namespace {

using tools::ExitCode;
using tools::ExitCodeFor;
using tools::kExitBadInput;
using tools::kExitOk;
using tools::kExitOutputFailed;
using tools::kExitRuined;

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "train_prune: " << status.message() << "\n";
  return code;
}

absl::StatusOr<tools::TrainPruneConfig> ConfigFromFlags() {
  tools::TrainPruneConfig config;
  config.model = absl::GetFlag(FLAGS_model);
  config.dataset = absl::GetFlag(FLAGS_dataset);
  config.data_dir = absl::GetFlag(FLAGS_data_dir);
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.output_dir = absl::GetFlag(FLAGS_output_dir);
  config.resume = absl::GetFlag(FLAGS_resume);
  for (const std::string& entry : absl::GetFlag(FLAGS_low_bit)) {
    const std::vector<std::string> parts = absl::StrSplit(entry, ':');
    int bits = 0;
    if (parts.size() != 2 || parts[0].empty() || !absl::SimpleAtoi(parts[1], &bits)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--low_bit entry '", entry, "' is not <layer>:<bits>"));
    }
    config.low_bit[parts[0]] = bits;
  }
  if (const std::string path = absl::GetFlag(FLAGS_low_bit_from); !path.empty()) {
    if (!config.low_bit.empty()) {
      return absl::InvalidArgumentError("give --low_bit or --low_bit_from, not both");
    }
    std::ifstream file(path);
    if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
    const nlohmann::json id = nlohmann::json::parse(file, nullptr, /*allow_exceptions=*/false);
    if (id.is_discarded() || !id.contains("layers") || !id["layers"].is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a tools/intrinsic_dim --model result (no \"layers\" array)"));
    }
    for (const nlohmann::json& layer : id["layers"]) {
      if (!layer.contains("layer") || !layer["layer"].is_string() || !layer.contains("bits") ||
          !layer["bits"].is_number_integer()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path, ": a layer without a string \"layer\" and integer \"bits\""));
      }
      if (layer["bits"].get<int>() < 32) {
        config.low_bit[layer["layer"].get<std::string>()] = layer["bits"].get<int>();
      }
    }
  }
  config.low_bit_start_epoch = absl::GetFlag(FLAGS_low_bit_start_epoch);
  config.low_bit_activations = absl::GetFlag(FLAGS_low_bit_activations);
  if (const int qat = absl::GetFlag(FLAGS_qat_start_epoch); qat >= 0) {
    config.int8_qat_start_epoch = qat;
  } else if (qat != -1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--qat_start_epoch=", qat, ": expected an epoch >= 0, or -1 for off"));
  }
  for (const std::string& entry : absl::GetFlag(FLAGS_low_rank)) {
    const std::vector<std::string> parts = absl::StrSplit(entry, absl::MaxSplits(':', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--low_rank entry '", entry, "' is not <layer>:<rule>"));
    }
    absl::StatusOr<lowrank::RankRule> rule = lowrank::ParseRankRule(parts[1]);
    if (!rule.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--low_rank entry '", entry, "': ", rule.status().message()));
    }
    config.low_rank[parts[0]] = *rule;
  }
  config.low_rank_start_epoch = absl::GetFlag(FLAGS_low_rank_start_epoch);
  config.cluster = absl::GetFlag(FLAGS_cluster);
  config.cluster_start_epoch = absl::GetFlag(FLAGS_cluster_start_epoch);
  if (config.cluster < 0) return absl::InvalidArgumentError("--cluster must be >= 0");
  const std::string bench_engine = absl::GetFlag(FLAGS_bench_engine);
  if (bench_engine != "none") {
    bench::EngineList engines;
    std::string error;
    if (!AbslParseFlag(bench_engine, &engines, &error) || engines.engines.size() != 1 ||
        engines.engines[0] == bench::Engine::kInt8) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--bench_engine is '", bench_engine, "'; expected none, dense, sparse or auto"));
    }
    if (config.output_dir.empty()) {
      return absl::InvalidArgumentError("--bench_engine needs --output_dir (it measures model.onnx)");
    }
    config.bench_engine = engines.engines[0];
    config.bench_threads = absl::GetFlag(FLAGS_bench_threads);
    config.bench_min_seconds = absl::GetFlag(FLAGS_bench_min_seconds);
    if (config.bench_threads < 1 || !(config.bench_min_seconds >= 0)) {
      return absl::InvalidArgumentError("--bench_threads must be >= 1 and --bench_min_seconds >= 0");
    }
  }
  if (config.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be at least 1");
  const std::string augment = absl::GetFlag(FLAGS_augment);
  if (augment == "true" || augment == "false") {
    config.augment = augment == "true";
  } else if (augment != "auto") {
    return absl::InvalidArgumentError(
        absl::StrCat("--augment is '", augment, "'; expected true, false or auto"));
  }
  config.data_workers = absl::GetFlag(FLAGS_data_workers);
  config.recipe_path = absl::GetFlag(FLAGS_recipe);
  config.teacher_checkpoint = absl::GetFlag(FLAGS_teacher);
  config.dense_checkpoint = absl::GetFlag(FLAGS_dense_checkpoint);
  const std::string sensitivity = absl::GetFlag(FLAGS_sensitivity);
  if (sensitivity == "weights") {
    config.sensitivity = tools::Sensitivity::kWeights;
  } else if (sensitivity == "filters") {
    config.sensitivity = tools::Sensitivity::kFilters;
  } else if (sensitivity != "none") {
    return absl::InvalidArgumentError(
        absl::StrCat("--sensitivity is '", sensitivity, "'; expected none, weights or filters"));
  }
  config.teacher_model = absl::GetFlag(FLAGS_teacher_model);
  config.recipe_overrides = absl::GetFlag(FLAGS_override);
  config.data_parallel = {.world_size = absl::GetFlag(FLAGS_world_size),
                          .rank = absl::GetFlag(FLAGS_rank),
                          .master_addr = absl::GetFlag(FLAGS_master_addr),
                          .master_port = absl::GetFlag(FLAGS_master_port)};

  training::TrainerOptions& t = config.trainer;
  t.epochs = absl::GetFlag(FLAGS_epochs);
  ASSIGN_OR_RETURN(t.optimizer.kind, training::ParseOptimizerKind(absl::GetFlag(FLAGS_optimizer)));
  t.optimizer.momentum = absl::GetFlag(FLAGS_momentum);
  t.optimizer.nesterov = absl::GetFlag(FLAGS_nesterov);
  t.optimizer.weight_decay = absl::GetFlag(FLAGS_weight_decay);
  t.label_smoothing = absl::GetFlag(FLAGS_label_smoothing);
  t.channels_last = absl::GetFlag(FLAGS_channels_last);
  t.max_grad_norm = absl::GetFlag(FLAGS_max_grad_norm);
  t.distillation_temperature = absl::GetFlag(FLAGS_distillation_temperature);
  t.distillation_alpha = absl::GetFlag(FLAGS_distillation_alpha);
  for (const std::string& stage : absl::GetFlag(FLAGS_exit_stages)) {
    int value = 0;
    if (!absl::SimpleAtoi(stage, &value)) {
      return absl::InvalidArgumentError(absl::StrCat("--exit_stages: '", stage, "' is not a stage"));
    }
    config.exit_stages.push_back(value);
  }
  for (const std::string& weight : absl::GetFlag(FLAGS_exit_loss_weights)) {
    double value = 0;
    if (!absl::SimpleAtod(weight, &value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--exit_loss_weights: '", weight, "' is not a number"));
    }
    t.exit_loss_weights.push_back(value);
  }
  ASSIGN_OR_RETURN(t.lr_schedule.kind,
                   training::ParseLrScheduleKind(absl::GetFlag(FLAGS_lr_schedule)));
  t.lr_schedule.base_learning_rate = absl::GetFlag(FLAGS_learning_rate);
  t.lr_schedule.gamma = absl::GetFlag(FLAGS_gamma);
  t.lr_schedule.start_epoch = absl::GetFlag(FLAGS_lr_start_epoch);
  t.lr_schedule.total_epochs = t.epochs;
  t.lr_schedule.warmup_epochs = absl::GetFlag(FLAGS_warmup_epochs);
  for (const std::string& milestone : absl::GetFlag(FLAGS_milestones)) {
    int epoch = 0;
    if (!absl::SimpleAtoi(milestone, &epoch)) {
      return absl::InvalidArgumentError(absl::StrCat("--milestones: '", milestone, "' is not an epoch"));
    }
    t.lr_schedule.milestones.push_back(epoch);
  }

  const double sparsity = absl::GetFlag(FLAGS_sparsity);
  // The pruning flags (on by default) apply to training runs; --epochs=0
  // only evaluates.
  if (sparsity > 0 && t.epochs > 0 && config.recipe_path.empty()) {
    double end = absl::GetFlag(FLAGS_prune_end_epoch);
    if (end < 0) end = 0.75 * t.epochs;
    config.pruning = tools::PruningConfig{
        .schedule = {.initial_sparsity = std::min(absl::GetFlag(FLAGS_initial_sparsity), sparsity),
                     .final_sparsity = sparsity,
                     .start_epoch = absl::GetFlag(FLAGS_prune_start_epoch),
                     .end_epoch = end,
                     .update_frequency = absl::GetFlag(FLAGS_prune_frequency),
                     .global = absl::GetFlag(FLAGS_global_pruning)},
        .parameters = absl::GetFlag(FLAGS_prune_params)};
  } else if (sparsity < 0) {
    return absl::InvalidArgumentError("--sparsity must be in [0, 1)");
  }
  config.flags = {
      {"model", config.model},
      {"dataset", config.dataset},
      {"data_dir", config.data_dir},
      {"epochs", absl::StrCat(t.epochs)},
      {"batch_size", absl::StrCat(config.batch_size)},
      {"optimizer", absl::GetFlag(FLAGS_optimizer)},
      {"learning_rate", absl::StrCat(t.lr_schedule.base_learning_rate)},
      {"lr_schedule", absl::GetFlag(FLAGS_lr_schedule)},
      {"milestones", absl::StrJoin(absl::GetFlag(FLAGS_milestones), ",")},
      {"momentum", absl::StrCat(t.optimizer.momentum)},
      {"weight_decay", absl::StrCat(t.optimizer.weight_decay)},
      {"label_smoothing", absl::StrCat(t.label_smoothing)},
      {"channels_last", t.channels_last ? "true" : "false"},
      {"sparsity", absl::StrCat(sparsity)},
      {"recipe", config.recipe_path},
      {"teacher", config.teacher_checkpoint},
      {"dense_checkpoint", config.dense_checkpoint},
      {"sensitivity", sensitivity},
      {"override", absl::StrJoin(config.recipe_overrides, ",")},
      {"threads", absl::StrCat(absl::GetFlag(FLAGS_threads))},
      {"bench_engine", bench_engine},
      {"low_bit", absl::StrJoin(absl::GetFlag(FLAGS_low_bit), ",")},
      {"low_bit_from", absl::GetFlag(FLAGS_low_bit_from)},
      {"low_bit_start_epoch", absl::StrCat(config.low_bit_start_epoch)},
      {"low_bit_activations", config.low_bit_activations ? "true" : "false"},
      {"qat_start_epoch", absl::StrCat(absl::GetFlag(FLAGS_qat_start_epoch))},
      {"low_rank", absl::StrJoin(absl::GetFlag(FLAGS_low_rank), ",")},
      {"low_rank_start_epoch", absl::StrCat(config.low_rank_start_epoch)},
      {"cluster", absl::StrCat(config.cluster)},
      {"cluster_start_epoch", absl::StrCat(config.cluster_start_epoch)},
      {"exit_stages", absl::StrJoin(absl::GetFlag(FLAGS_exit_stages), ",")},
      {"exit_loss_weights", absl::StrJoin(absl::GetFlag(FLAGS_exit_loss_weights), ",")},
  };
  return config;
}

// Reports the run's outcome; the exit code.
int Report(const absl::StatusOr<nlohmann::json>& result) {
  if (!result.ok()) return Fail(ExitCodeFor(result.status()), result.status());
  std::fprintf(stderr, "test top-1 %.2f%% (before %.2f%%), sparsity %.4f, %lld of %lld bytes\n",
               (*result)["after"]["test_top1"].get<double>(),
               (*result)["before"]["test_top1"].get<double>(),
               (*result)["sparsity_report"]["sparsity"].get<double>(),
               static_cast<long long>((*result)["sparsity_report"]["sparse_bytes"].get<int64_t>()),
               static_cast<long long>((*result)["sparsity_report"]["dense_bytes"].get<int64_t>()));

  if (result->contains("thinning")) {
    const nlohmann::json& thinning = (*result)["thinning"];
    std::fprintf(stderr, "thinned: %lld -> %lld parameters, %lld -> %lld MACs",
                 static_cast<long long>(thinning["parameters_before"].get<int64_t>()),
                 static_cast<long long>(thinning["parameters_after"].get<int64_t>()),
                 static_cast<long long>(thinning["macs_before"].get<int64_t>()),
                 static_cast<long long>(thinning["macs_after"].get<int64_t>()));
    if (thinning.contains("onnx_bytes_before")) {
      std::fprintf(stderr, ", model.onnx %lld -> %lld bytes",
                   static_cast<long long>(thinning["onnx_bytes_before"].get<int64_t>()),
                   static_cast<long long>((*result)["onnx_bytes"].get<int64_t>()));
    }
    std::fprintf(stderr, "\n");
  }
  if (absl::Status status = tools::WriteResult(absl::GetFlag(FLAGS_out), *result);
      !status.ok()) {
    return Fail(kExitOutputFailed, status);
  }
  if ((*result)["ruined"].get<bool>()) {
    std::cerr << "train_prune: run ruined: " << (*result)["ruined_reason"].get<std::string>()
              << "\n";
    return kExitRuined;
  }
  return kExitOk;
}

int Run() {
  if (absl::GetFlag(FLAGS_threads) < 1) {
    return Fail(kExitBadInput, absl::InvalidArgumentError("--threads must be at least 1"));
  }
  // LibTorch sees one core here unless told otherwise.
  at::set_num_threads(absl::GetFlag(FLAGS_threads));
  // Activations are reallocated every step; keep them out of mmap (heap_reuse.h).
  if (absl::Status kept = training::KeepFreedBuffersInHeap(); !kept.ok()) {
    std::cerr << "train_prune: warning: " << kept.message() << "\n";
  }
  absl::StatusOr<tools::TrainPruneConfig> config = ConfigFromFlags();
  if (!config.ok()) return Fail(kExitBadInput, config.status());

  training::ProgressBar progress(stderr, isatty(STDERR_FILENO) != 0);
  // Metrics go to a W&B-compatible run (spooled in its directory, uploaded
  // when the environment names a server); only rank 0 of a data-parallel
  // group logs, as its replicas log the same numbers.
  std::string metrics_dir = absl::GetFlag(FLAGS_metrics_dir);
  if (metrics_dir.empty() && !config->output_dir.empty()) {
    metrics_dir = config->output_dir + "/wandb";
  }
  std::unique_ptr<metrics::MetricsRun> run;
  if (!metrics_dir.empty() && config->data_parallel.rank == 0) {
    if (!config->output_dir.empty() && absl::GetFlag(FLAGS_metrics_dir).empty()) {
      if (absl::Status made = tools::MakeDirectory(config->output_dir); !made.ok()) {
        return Fail(kExitOutputFailed, made);
      }
    }
    metrics::MetricsRunOptions options = metrics::MetricsRunOptionsFromEnvironment(metrics_dir);
    if (options.job_type.empty()) options.job_type = "train_prune";
    for (const auto& [name, value] : config->flags) options.config[name] = value;
    absl::StatusOr<std::unique_ptr<metrics::MetricsRun>> opened = metrics::OpenMetricsRun(options);
    if (!opened.ok()) return Fail(kExitOutputFailed, opened.status());
    run = *std::move(opened);
  }
  absl::StatusOr<nlohmann::json> result = tools::RunTrainPrune(
      *config, run.get(), progress, isatty(STDERR_FILENO) != 0 ? nullptr : stderr);
  const int code = Report(result);
  if (run != nullptr) {
    if (absl::Status finished = run->Finish(code); !finished.ok()) {
      return code != kExitOk ? code : Fail(kExitOutputFailed, finished);
    }
  }
  return code;
}


}  // namespace
}  // namespace edgecompress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Trains a model, optionally pruning it (GMP by flags; GMP, AC/DC and L1\n"
      "filter pruning with thinning by --recipe), and reports accuracy,\n"
      "sparsity, size and MACs as JSON.\n"
      "Example: bazel run //tools/train_prune -- --epochs=10 --sparsity=0.9 "
      "--output_dir=/tmp/lenet90\n"
      "Exit codes: 0 success, 1 bad flags, 2 bad input (data, model, options),\n"
      "3 training failed, 4 an output could not be written, 5 the run was ruined\n"
      "(loss diverged or accuracy fell to chance; results are still written).");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::Run();
}
