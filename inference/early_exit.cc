#include "inference/early_exit.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "inference/onnx_subgraph.h"
#include "tools/status/status_macros.h"

namespace edgecompress::inference {
namespace {

// The nodes `value` needs, back to the graph input.
std::set<int> Closure(const onnx::GraphProto& graph, const std::map<std::string, int>& producer,
                      const std::string& value) {
  std::set<int> nodes;
  std::vector<std::string> pending = {value};
  while (!pending.empty()) {
    const auto it = producer.find(pending.back());
    pending.pop_back();
    if (it == producer.end() || !nodes.insert(it->second).second) continue;
    for (const std::string& in : graph.node(it->second).input()) pending.push_back(in);
  }
  return nodes;
}

absl::StatusOr<OnnxRuntime> Piece(const onnx::ModelProto& model, const std::string& from,
                                  const std::string& to, int num_threads) {
  ASSIGN_OR_RETURN(const onnx::ModelProto piece, ExtractSubgraph(model, from, to));
  ASSIGN_OR_RETURN(const OnnxModel imported,
                   OnnxModel::ImportBytes(piece.SerializeAsString(), {.batch_size = 1},
                                          absl::StrCat("the piece from '", from, "' to '", to, "'")));
  return imported.Build(num_threads);
}

}  // namespace

float SoftmaxConfidence(absl::Span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float z : logits) sum += std::exp(static_cast<double>(z - max));
  return static_cast<float>(1.0 / sum);  // exp(max - max) / sum
}

absl::StatusOr<EarlyExitModel> EarlyExitModel::Import(const onnx::ModelProto& model,
                                                      int num_threads) {
  const onnx::GraphProto& graph = model.graph();
  if (graph.output_size() < 2) {
    return absl::InvalidArgumentError(
        "an early-exit model has the final logits and at least one side exit as outputs");
  }
  std::set<std::string> constants;
  for (const onnx::TensorProto& tensor : graph.initializer()) constants.insert(tensor.name());
  std::map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const std::string& out : graph.node(i).output()) producer[out] = i;
  }
  const std::string& final_output = graph.output(0).name();
  const std::set<int> trunk = Closure(graph, producer, final_output);
  std::string input;
  for (const onnx::ValueInfoProto& in : graph.input()) {
    if (!constants.count(in.name())) input = in.name();
  }

  EarlyExitModel result;
  std::string from = input;
  for (int k = 1; k < graph.output_size(); ++k) {
    const std::string& exit = graph.output(k).name();
    std::set<int> head = Closure(graph, producer, exit);
    for (int node : trunk) head.erase(node);
    std::set<std::string> made, reads;
    for (int node : head) {
      for (const std::string& out : graph.node(node).output()) made.insert(out);
    }
    for (int node : head) {
      for (const std::string& in : graph.node(node).input()) {
        const auto from = producer.find(in);
        const bool constant = constants.count(in) > 0 ||
                              (from != producer.end() &&
                               graph.node(from->second).op_type() == "Constant");
        if (!in.empty() && !made.count(in) && !constant) reads.insert(in);
      }
    }
    if (reads.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "side exit '", exit, "' reads ", reads.size(), " values of the trunk; one expected"));
    }
    const std::string branch = *reads.begin();
    ASSIGN_OR_RETURN(OnnxRuntime segment, Piece(model, from, branch, num_threads));
    ASSIGN_OR_RETURN(OnnxRuntime head_runtime, Piece(model, branch, exit, num_threads));
    result.segments_.push_back(std::move(segment));
    result.heads_.push_back(std::move(head_runtime));
    from = branch;
  }
  ASSIGN_OR_RETURN(OnnxRuntime last, Piece(model, from, final_output, num_threads));
  result.segments_.push_back(std::move(last));
  for (const OnnxRuntime& segment : result.segments_) {
    result.trunk_.emplace_back(segment.output_size());
  }
  return result;
}

absl::StatusOr<EarlyExitModel::Result> EarlyExitModel::Run(absl::Span<const float> image,
                                                           absl::Span<const double> thresholds) {
  if (image.size() != input_size() || thresholds.size() != heads_.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an image of ", image.size(), " floats and ", thresholds.size(), " thresholds; the model takes ",
        input_size(), " and has ", heads_.size(), " side exits"));
  }
  Result result;
  absl::Span<const float> x = image;
  for (int k = 0; k < num_exits(); ++k) {
    RETURN_IF_ERROR(segments_[k].Run(x, absl::MakeSpan(trunk_[k])));
    x = trunk_[k];
    if (k + 1 == num_exits()) break;
    result.logits.resize(heads_[k].output_size());
    RETURN_IF_ERROR(heads_[k].Run(x, absl::MakeSpan(result.logits)));
    result.confidence = SoftmaxConfidence(result.logits);
    if (result.confidence >= thresholds[k]) {
      result.exit = k;
      return result;
    }
  }
  result.exit = num_exits() - 1;
  result.logits = trunk_.back();
  result.confidence = SoftmaxConfidence(result.logits);
  return result;
}

absl::StatusOr<std::vector<std::vector<float>>> EarlyExitModel::RunAllExits(
    absl::Span<const float> image) {
  if (image.size() != input_size()) {
    return absl::InvalidArgumentError(absl::StrCat("an image of ", image.size(),
                                                   " floats; the model takes ", input_size()));
  }
  std::vector<std::vector<float>> logits;
  absl::Span<const float> x = image;
  for (int k = 0; k < num_exits(); ++k) {
    RETURN_IF_ERROR(segments_[k].Run(x, absl::MakeSpan(trunk_[k])));
    x = trunk_[k];
    if (k + 1 == num_exits()) break;
    logits.emplace_back(heads_[k].output_size());
    RETURN_IF_ERROR(heads_[k].Run(x, absl::MakeSpan(logits.back())));
  }
  logits.push_back(trunk_.back());
  return logits;
}

}  // namespace edgecompress::inference
