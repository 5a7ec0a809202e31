// Where training and benchmark metrics go, as W&B models them: a history of
// rows (one per step or epoch, each a set of named numbers) and a summary of
// final numbers. Training code logs through this interface and never knows
// whether the rows end in a W&B-compatible server, a run directory or a test.
// Framework-free.
#ifndef EDGECOMPRESS_TRAINING_METRICS_SINK_H_
#define EDGECOMPRESS_TRAINING_METRICS_SINK_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"

namespace edgecompress::training {

// Named numbers, ordered by name so that rows serialise deterministically.
using MetricValues = std::map<std::string, double>;

class MetricsSink {
 public:
  virtual ~MetricsSink() = default;

  // Appends a history row at `step` (monotone non-decreasing across calls).
  // A sink that cannot deliver a row now must keep it (spool) rather than
  // fail training; an error means the row is lost.
  virtual absl::Status Log(int64_t step, const MetricValues& values) = 0;

  // Sets (or overwrites) summary values.
  virtual absl::Status Summarize(const MetricValues& values) = 0;
};

// Keeps everything in memory: for tests, and for tools that copy the history
// into their JSON result.
class RecordingMetricsSink : public MetricsSink {
 public:
  absl::Status Log(int64_t step, const MetricValues& values) override {
    history_.emplace_back(step, values);
    return absl::OkStatus();
  }
  absl::Status Summarize(const MetricValues& values) override {
    for (const auto& [name, value] : values) summary_[name] = value;
    return absl::OkStatus();
  }

  const std::vector<std::pair<int64_t, MetricValues>>& history() const { return history_; }
  const MetricValues& summary() const { return summary_; }

 private:
  std::vector<std::pair<int64_t, MetricValues>> history_;
  MetricValues summary_;
};

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_METRICS_SINK_H_
