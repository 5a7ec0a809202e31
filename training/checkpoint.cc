#include "training/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <sys/stat.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "tools/io/atomic_file.h"

namespace edgecompress::training {
namespace {

// History rows are stored as two tensors per row: names joined by '\n' as
// bytes, and values as float64.
torch::Tensor StringTensor(const std::string& text) {
  return torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())},
                          torch::kUInt8)
      .clone();
}

std::string TensorString(const torch::Tensor& tensor) {
  const torch::Tensor bytes = tensor.contiguous();
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), bytes.numel());
}

}  // namespace

absl::Status SaveCheckpoint(absl::string_view path, torch::nn::Module& model,
                            torch::optim::Optimizer& optimizer, const CheckpointState& state) {
  std::string bytes;
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive, optimizer_archive;
    model.save(model_archive);
    optimizer.save(optimizer_archive);
    archive.write("model", model_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("completed_epochs", torch::tensor(static_cast<int64_t>(state.completed_epochs)));
    archive.write("rng", at::detail::getDefaultCPUGenerator().get_state());
    archive.write("history_rows", torch::tensor(static_cast<int64_t>(state.history.size())));
    for (size_t i = 0; i < state.history.size(); ++i) {
      std::string names;
      std::vector<double> values;
      for (const auto& [name, value] : state.history[i]) {
        absl::StrAppend(&names, name, "\n");
        values.push_back(value);
      }
      archive.write(absl::StrCat("history_names_", i), StringTensor(names));
      archive.write(absl::StrCat("history_values_", i), torch::tensor(values, torch::kDouble));
    }
    archive.save_to([&bytes](const void* data, size_t size) {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
  } catch (const c10::Error& error) {
    return absl::InternalError(absl::StrCat(path, ": cannot serialise checkpoint: ",
                                            error.what_without_backtrace()));
  }
  return tools::WriteFileAtomically(path, bytes);
}

absl::StatusOr<CheckpointState> LoadCheckpoint(absl::string_view path, torch::nn::Module& model,
                                               torch::optim::Optimizer& optimizer) {
  const std::string source(path);
  struct stat info;
  if (stat(source.c_str(), &info) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": no checkpoint: ", std::strerror(errno)));
  }
  CheckpointState state;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(source);
    torch::serialize::InputArchive model_archive, optimizer_archive;
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
    torch::Tensor epochs, rng, rows;
    archive.read("completed_epochs", epochs);
    archive.read("rng", rng);
    archive.read("history_rows", rows);
    state.completed_epochs = static_cast<int>(epochs.item<int64_t>());
    for (int64_t i = 0; i < rows.item<int64_t>(); ++i) {
      torch::Tensor names, values;
      archive.read(absl::StrCat("history_names_", i), names);
      archive.read(absl::StrCat("history_values_", i), values);
      MetricValues row;
      const std::string text = TensorString(names);
      size_t begin = 0;
      for (int64_t j = 0; j < values.numel(); ++j) {
        const size_t end = text.find('\n', begin);
        row[text.substr(begin, end - begin)] = values[j].item<double>();
        begin = end + 1;
      }
      state.history.push_back(std::move(row));
    }
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
  } catch (const c10::Error& error) {
    return absl::DataLossError(absl::StrCat(path, ": unreadable or mismatched checkpoint: ",
                                            error.what_without_backtrace()));
  }
  return state;
}

}  // namespace edgecompress::training
