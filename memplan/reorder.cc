#include "memplan/reorder.h"

#include <cassert>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "memplan/lifetimes.h"

namespace edgecompress::memplan {
namespace {

using Bitset = std::vector<uint64_t>;

struct BitsetHash {
  size_t operator()(const Bitset& bits) const {
    uint64_t hash = 0x9e3779b97f4a7c15ULL;
    for (uint64_t word : bits) {
      hash ^= word + 0x9e3779b97f4a7c15ULL + (hash << 6) + (hash >> 2);
    }
    return static_cast<size_t>(hash);
  }
};

constexpr int64_t kInfinity = std::numeric_limits<int64_t>::max();

// Shared by the exact search and the greedy fallback: which operators have
// run, and what running one more costs and frees.
class ScheduleState {
 public:
  explicit ScheduleState(const Graph& graph)
      : graph_(graph), executed_((graph.num_operators() + 63) / 64, 0) {
    for (const Tensor& tensor : graph.tensors()) {
      if (tensor.is_graph_input) live_bytes_ += tensor.size_bytes;
    }
  }

  bool IsExecuted(int op) const { return (executed_[op / 64] >> (op % 64)) & 1; }
  bool IsReady(int op) const {
    if (IsExecuted(op)) return false;
    for (int input : graph_.operators()[op].inputs) {
      const int producer = graph_.tensors()[input].producer;
      if (producer >= 0 && !IsExecuted(producer)) return false;
    }
    return true;
  }
  // Bytes live while `op` runs next.
  int64_t StepBytes(int op) const { return live_bytes_ + OutputBytes(op); }
  // Bytes of tensors whose lifetime ends at the step running `op` next.
  int64_t FreedBytes(int op) const {
    int64_t freed = 0;
    auto ends_here = [&](int t) {
      const Tensor& tensor = graph_.tensors()[t];
      if (tensor.is_graph_output) return false;
      for (int consumer : tensor.consumers) {
        if (consumer != op && !IsExecuted(consumer)) return false;
      }
      return true;
    };
    for (int t : graph_.operators()[op].inputs) {
      if (ends_here(t)) freed += graph_.tensors()[t].size_bytes;
    }
    for (int t : graph_.operators()[op].outputs) {
      if (ends_here(t)) freed += graph_.tensors()[t].size_bytes;
    }
    if (num_executed_ == 0) {  // graph inputs nobody reads live at step 0 only
      for (const Tensor& tensor : graph_.tensors()) {
        if (tensor.is_graph_input && tensor.consumers.empty() && !tensor.is_graph_output) {
          freed += tensor.size_bytes;
        }
      }
    }
    return freed;
  }
  // Returns what Undo needs.
  int64_t Run(int op) {
    const int64_t before = live_bytes_;
    live_bytes_ += OutputBytes(op) - FreedBytes(op);
    executed_[op / 64] |= uint64_t{1} << (op % 64);
    ++num_executed_;
    return before;
  }
  void Undo(int op, int64_t live_bytes_before) {
    executed_[op / 64] &= ~(uint64_t{1} << (op % 64));
    --num_executed_;
    live_bytes_ = live_bytes_before;
  }
  int64_t live_bytes() const { return live_bytes_; }
  int num_executed() const { return num_executed_; }
  const Bitset& executed() const { return executed_; }

 private:
  int64_t OutputBytes(int op) const {
    int64_t bytes = 0;
    for (int t : graph_.operators()[op].outputs) bytes += graph_.tensors()[t].size_bytes;
    return bytes;
  }

  const Graph& graph_;
  Bitset executed_;
  int64_t live_bytes_ = 0;
  int num_executed_ = 0;
};

class ExactSearch {
 public:
  ExactSearch(const Graph& graph, int64_t max_states)
      : graph_(graph), state_(graph), max_states_(max_states) {}

  // The minimum peak over all orders, or nullopt-like kInfinity with
  // exhausted() set when the state budget ran out.
  int64_t Run() { return BestPeak(); }
  bool exhausted() const { return exhausted_; }
  int64_t states() const { return static_cast<int64_t>(memo_.size()); }

  std::vector<int> Order() {
    assert(!exhausted_);
    ScheduleState walk(graph_);
    std::vector<int> order;
    while (walk.num_executed() < graph_.num_operators()) {
      const int next = memo_.at(walk.executed()).next_op;
      order.push_back(next);
      walk.Run(next);
    }
    return order;
  }

 private:
  struct Entry {
    int64_t best_peak_bytes;
    int next_op;
  };

  int64_t BestPeak() {
    if (state_.num_executed() == graph_.num_operators()) return 0;
    auto found = memo_.find(state_.executed());
    if (found != memo_.end()) return found->second.best_peak_bytes;
    if (static_cast<int64_t>(memo_.size()) >= max_states_) {
      exhausted_ = true;
      return kInfinity;
    }
    Entry entry{kInfinity, -1};
    for (int op = 0; op < graph_.num_operators(); ++op) {
      if (!state_.IsReady(op)) continue;
      const int64_t step_bytes = state_.StepBytes(op);
      if (step_bytes >= entry.best_peak_bytes) continue;  // cannot beat the best
      const int64_t undo = state_.Run(op);
      const int64_t rest = BestPeak();
      state_.Undo(op, undo);
      if (exhausted_) return kInfinity;
      const int64_t peak = std::max(step_bytes, rest);
      if (peak < entry.best_peak_bytes) entry = {peak, op};
    }
    assert(entry.next_op >= 0);  // a valid graph always has a ready operator
    memo_.emplace(state_.executed(), entry);
    return entry.best_peak_bytes;
  }

  const Graph& graph_;
  ScheduleState state_;
  const int64_t max_states_;
  bool exhausted_ = false;
  std::unordered_map<Bitset, Entry, BitsetHash> memo_;
};

std::vector<int> GreedyOrder(const Graph& graph) {
  ScheduleState state(graph);
  std::vector<int> order;
  while (state.num_executed() < graph.num_operators()) {
    int best = -1;
    int64_t best_step = kInfinity, best_after = kInfinity;
    for (int op = 0; op < graph.num_operators(); ++op) {
      if (!state.IsReady(op)) continue;
      const int64_t step = state.StepBytes(op);
      const int64_t after = step - state.FreedBytes(op);
      if (step < best_step || (step == best_step && after < best_after)) {
        best = op;
        best_step = step;
        best_after = after;
      }
    }
    order.push_back(best);
    state.Run(best);
  }
  return order;
}

int64_t PeakOf(const Graph& graph, const std::vector<int>& order) {
  absl::StatusOr<ScheduleMemory> memory = ComputeScheduleMemory(graph, order);
  assert(memory.ok());  // orders built here are topological by construction
  return memory->peak_bytes;
}

}  // namespace

absl::StatusOr<Reordering> FindMinimumPeakOrder(const Graph& graph,
                                                const ReorderOptions& options) {
  if (options.max_states < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_states is ", options.max_states, "; must be >= 1"));
  }
  Reordering result;
  ExactSearch search(graph, options.max_states);
  const int64_t best_peak = search.Run();
  result.states_visited = search.states();
  if (!search.exhausted()) {
    result.order = search.Order();
    result.peak_bytes = PeakOf(graph, result.order);
    assert(result.peak_bytes == best_peak);
    (void)best_peak;
    result.exact = true;
    result.method = absl::StrCat("exact (", result.states_visited, " states)");
    return result;
  }
  // The budget ran out: a greedy order, never worse than the file's.
  const std::vector<int> greedy = GreedyOrder(graph);
  const std::vector<int> file_order = graph.FileOrder();
  const int64_t greedy_peak = PeakOf(graph, greedy);
  const int64_t file_peak = PeakOf(graph, file_order);
  const std::string why =
      absl::StrCat("exact search stopped at the state budget of ", options.max_states);
  if (greedy_peak < file_peak) {
    result.order = greedy;
    result.peak_bytes = greedy_peak;
    result.method = absl::StrCat("greedy (", why, ")");
  } else {
    result.order = file_order;
    result.peak_bytes = file_peak;
    result.method = absl::StrCat("file order (", why, "; greedy was no better)");
  }
  return result;
}

}  // namespace edgecompress::memplan
