// What a trial reported: its metrics from the result JSON it wrote (`--out`),
// and the per-iteration history of a metric from its log (for hyperband).
#ifndef EDGECOMPRESS_SWEEP_TRIAL_RESULT_H_
#define EDGECOMPRESS_SWEEP_TRIAL_RESULT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "sweep/config.h"
#include "sweep/search_space.h"

namespace edgecompress::sweep {

// Each metric's value: the number at its dotted path in the JSON file at
// `path` ("after.test_top1" is result["after"]["test_top1"]), else the
// trial's numeric parameter of that name. kNotFound when the file is
// missing or a metric is nowhere, kDataLoss when the file is not JSON;
// messages name the file and the metric.
absl::StatusOr<std::map<std::string, double>> ReadTrialMetrics(
    const std::string& path, absl::Span<const MetricSpec> metrics, const Assignment& assignment);

// The values of `metric` a trial logged, in order. Two line forms count:
//   "... <metric>=<number> ..."  (any program: print one per iteration; the
//   last component of a dotted name also counts: "score=" for after.score), and
//   train_prune's epoch line "epoch 3/10 ... test top-1 86.83% ..." for a
//   metric whose last path component is test_top1.
std::vector<double> MetricHistory(absl::string_view log, absl::string_view metric);

// The last non-empty line of the file at `path` (at most its last 4 KiB),
// for failure messages; "" when unreadable.
std::string LastLogLine(const std::string& path);

}  // namespace edgecompress::sweep

#endif  // EDGECOMPRESS_SWEEP_TRIAL_RESULT_H_
