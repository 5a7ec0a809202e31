// compress_chain: a trained model through intrinsic-dimension bit
// allocation, low-bit quantization-aware training, k-means weight sharing and
// cluster-preserving training, with accuracy and size after every stage.
// Flag parsing and wiring only; the work is in chain.h.
#include <ATen/Parallel.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "metrics/metrics_run.h"
#include "tools/compress/chain.h"
#include "tools/io/directory.h"
#include "tools/status/exit_code.h"
#include "tools/status/status_macros.h"
#include "training/heap_reuse.h"

ABSL_FLAG(std::string, model, "lenet5", "Zoo model (train_prune's names).");
ABSL_FLAG(std::string, dataset, "fashion_mnist", "Dataset to train and evaluate on.");
ABSL_FLAG(std::string, data_dir, "", "Dataset folder; empty: the dataset's default.");
ABSL_FLAG(std::string, checkpoint, "",
          "The trained fp32 model: a train_prune checkpoint.pt of --model on --dataset; empty: "
          "train one first for --dense_epochs.");
ABSL_FLAG(int, dense_epochs, 20, "Epochs of the fp32 model when no --checkpoint is given.");
ABSL_FLAG(double, dense_learning_rate, 0.05, "Its base learning rate (SGD, cosine).");
ABSL_FLAG(int, id_samples, 1000, "Test images whose activations the ID analysis reads.");
ABSL_FLAG(std::string, significance, "twonn_fit",
          "The ID the significance rule reads: twonn_fit, twonn_ml or pca.");
ABSL_FLAG(double, delta, 20.0, "Layer l gets 2 bits when |ID_l - ID_(l-1)| > delta, else 1.");
ABSL_FLAG(int, qat_epochs, 5, "Epochs of low-bit quantization-aware training.");
ABSL_FLAG(int, clusters, 16, "Shared values per layer (k of k-means).");
ABSL_FLAG(int, cluster_epochs, 2, "Epochs of cluster-preserving training.");
ABSL_FLAG(double, learning_rate, 0.01, "Base learning rate of both fine-tuning stages (cosine).");
ABSL_FLAG(int, batch_size, 64, "Training mini-batch size.");
ABSL_FLAG(uint64_t, seed, 1, "Seed for initialisation, shuffling and k-means.");
ABSL_FLAG(int, threads, 2, "LibTorch and XNNPACK threads.");
ABSL_FLAG(std::string, output_dir, "", "Where the stages and report.json go (required).");
ABSL_FLAG(std::string, metrics_dir, "",
          "W&B-compatible run directory for one row per stage; empty: <output_dir>/wandb. Rows "
          "go to WANDB_BASE_URL when set, else stay on disk.");

namespace edgecompress::compress {
namespace {

using tools::ExitCode;
using tools::ExitCodeFor;
using tools::kExitBadInput;
using tools::kExitOk;
using tools::kExitOutputFailed;

int Fail(ExitCode code, const absl::Status& status) {
  std::cerr << "compress_chain: " << status.message() << "\n";
  return code;
}

absl::StatusOr<CompressChainConfig> ConfigFromFlags() {
  CompressChainConfig config;
  config.model = absl::GetFlag(FLAGS_model);
  config.dataset = absl::GetFlag(FLAGS_dataset);
  config.data_dir = absl::GetFlag(FLAGS_data_dir);
  config.checkpoint = absl::GetFlag(FLAGS_checkpoint);
  config.dense_epochs = absl::GetFlag(FLAGS_dense_epochs);
  config.dense_learning_rate = absl::GetFlag(FLAGS_dense_learning_rate);
  config.id_samples = absl::GetFlag(FLAGS_id_samples);
  ASSIGN_OR_RETURN(config.precision.significance,
                   intrinsic_dim_tool::ParseSignificance(absl::GetFlag(FLAGS_significance)));
  config.precision.bits.delta = absl::GetFlag(FLAGS_delta);
  config.precision.num_threads = absl::GetFlag(FLAGS_threads);
  config.qat_epochs = absl::GetFlag(FLAGS_qat_epochs);
  config.clusters = absl::GetFlag(FLAGS_clusters);
  config.cluster_epochs = absl::GetFlag(FLAGS_cluster_epochs);
  config.learning_rate = absl::GetFlag(FLAGS_learning_rate);
  config.batch_size = absl::GetFlag(FLAGS_batch_size);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.threads = absl::GetFlag(FLAGS_threads);
  config.output_dir = absl::GetFlag(FLAGS_output_dir);
  if (config.output_dir.empty()) return absl::InvalidArgumentError("--output_dir is required");
  if (config.threads < 1) return absl::InvalidArgumentError("--threads must be at least 1");
  config.flags = {
      {"model", config.model},
      {"dataset", config.dataset},
      {"checkpoint", config.checkpoint},
      {"dense_epochs", absl::StrCat(config.dense_epochs)},
      {"id_samples", absl::StrCat(config.id_samples)},
      {"significance", absl::GetFlag(FLAGS_significance)},
      {"delta", absl::StrCat(config.precision.bits.delta)},
      {"qat_epochs", absl::StrCat(config.qat_epochs)},
      {"clusters", absl::StrCat(config.clusters)},
      {"cluster_epochs", absl::StrCat(config.cluster_epochs)},
      {"learning_rate", absl::StrCat(config.learning_rate)},
      {"batch_size", absl::StrCat(config.batch_size)},
      {"seed", absl::StrCat(config.seed)},
      {"threads", absl::StrCat(config.threads)},
  };
  return config;
}

int Run() {
  absl::StatusOr<CompressChainConfig> config = ConfigFromFlags();
  if (!config.ok()) return Fail(kExitBadInput, config.status());
  // LibTorch sees one core here unless told otherwise.
  at::set_num_threads(config->threads);
  // Activations are reallocated every step; keep them out of mmap (heap_reuse.h).
  if (absl::Status kept = training::KeepFreedBuffersInHeap(); !kept.ok()) {
    std::cerr << "compress_chain: warning: " << kept.message() << "\n";
  }
  if (absl::Status made = tools::MakeDirectory(config->output_dir); !made.ok()) {
    return Fail(kExitOutputFailed, made);
  }
  std::string metrics_dir = absl::GetFlag(FLAGS_metrics_dir);
  if (metrics_dir.empty()) metrics_dir = config->output_dir + "/wandb";
  metrics::MetricsRunOptions options = metrics::MetricsRunOptionsFromEnvironment(metrics_dir);
  if (options.job_type.empty()) options.job_type = "compress_chain";
  // The run's notes (where its rows went) follow a success; a failure is the
  // one line of its error.
  absl::Mutex notes_mutex;
  std::vector<std::string> notes;
  options.log_line = [&](absl::string_view line) {
    absl::MutexLock lock(&notes_mutex);
    notes.emplace_back(line);
  };
  for (const auto& [name, value] : config->flags) options.config[name] = value;
  absl::StatusOr<std::unique_ptr<metrics::MetricsRun>> run = metrics::OpenMetricsRun(options);
  if (!run.ok()) return Fail(kExitOutputFailed, run.status());

  training::ProgressBar progress(stderr, isatty(STDERR_FILENO) != 0);
  absl::StatusOr<nlohmann::json> report =
      RunCompressChain(*config, run->get(), progress, isatty(STDERR_FILENO) != 0 ? nullptr : stderr);
  const ExitCode code = report.ok() ? kExitOk : ExitCodeFor(report.status());
  const absl::Status finished = (*run)->Finish(code);
  if (!report.ok()) return Fail(code, report.status());
  if (!finished.ok()) return Fail(kExitOutputFailed, finished);
  {
    absl::MutexLock lock(&notes_mutex);
    for (const std::string& note : notes) std::fprintf(stderr, "%s\n", note.c_str());
  }
  const nlohmann::json& final_numbers = (*report)["final"];
  std::fprintf(stderr,
               "compress_chain: %s top-1 %.2f%% (%.2f pt below fp32), %lld bytes stored, "
               "%.2fx smaller, memory reduction %.2fx; report %s/report.json\n",
               final_numbers["onnx"].get<std::string>().c_str(),
               final_numbers["test_top1"].get<double>(), final_numbers["top1_drop"].get<double>(),
               static_cast<long long>(final_numbers["stored_bytes"].get<int64_t>()),
               final_numbers["compression"].get<double>(),
               final_numbers["memory_reduction"].get<double>(), config->output_dir.c_str());
  return kExitOk;
}

}  // namespace
}  // namespace edgecompress::compress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Compresses a trained model in five stages, each measured on the test split:\n"
      "1 the fp32 model, 2 bits per layer from the intrinsic dimension of its\n"
      "activations, 3 low-bit quantization-aware training, 4 k-means weight\n"
      "sharing, 5 cluster-preserving training. Writes <output_dir>/model.onnx and\n"
      "<output_dir>/report.json (accuracy, stored bytes, compression and memory\n"
      "reduction per stage).\n"
      "Example: bazel run //tools/compress:compress_chain -- "
      "--checkpoint=/tmp/lenet/checkpoint.pt --output_dir=/tmp/chain\n"
      "Exit codes: 0 success, 1 bad flag syntax, 2 bad input (data, model, options),\n"
      "3 a stage failed, 4 an output could not be written, 5 a training stage was\n"
      "ruined (the report keeps the stages before it).");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::compress::Run();
}
