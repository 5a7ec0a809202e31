// A sweep's outputs: the results table (stderr), results.json (the shared
// result format: schema_version, context, one entry per trial, the best
// trial and the Pareto front), results.csv (one row per trial: id, state,
// exit code, seconds, parameters, metrics) and report.html (the table, an SVG
// scatter of the first two metrics with the Pareto front marked, or metric
// per trial for one metric, and SVG parallel coordinates of parameters and
// metrics). Self-contained files: no scripts, fonts or styles from outside.
#ifndef EDGECOMPRESS_TOOLS_SWEEP_REPORT_H_
#define EDGECOMPRESS_TOOLS_SWEEP_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "nlohmann/json.hpp"
#include "sweep/config.h"
#include "sweep/trial.h"

namespace edgecompress::tools {

std::string ResultsTable(const sweep::SweepConfig& config, absl::Span<const sweep::Trial> trials);
std::string ResultsCsv(const sweep::SweepConfig& config, absl::Span<const sweep::Trial> trials);
// Adds "trials", "best" and "pareto_front" (trial ids) to `result`.
void AddResults(const sweep::SweepConfig& config, absl::Span<const sweep::Trial> trials,
                nlohmann::json& result);
std::string ResultsHtml(const sweep::SweepConfig& config, absl::Span<const sweep::Trial> trials);

// Ids of the trials on the Pareto front of all metrics (with metrics only).
std::vector<int64_t> ParetoTrialIds(const sweep::SweepConfig& config,
                                    absl::Span<const sweep::Trial> trials);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_SWEEP_REPORT_H_
