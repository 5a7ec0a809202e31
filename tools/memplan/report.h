// memplan's outputs for planned schedules: the table (stderr), the JSON
// result (--out) and two SVG drawings (--svg_dir).
//
// JSON, beside schema_version and context (tools/result/result_json.h):
//   "graph": {"operators", "tensors", "activation_bytes", "in_place_capable": [op names]}
//   "schedules": [{"name", "method", "order": [op names], "peak_bytes",
//                  "arena_bytes", "lower_bound_bytes", "arena_over_lower_bound",
//                  "reduction_percent", "planner",
//                  "arenas": [{"planner", "arena_bytes"}], "live_bytes": [per step],
//                  "tensors": [{"name", "size", "offset", "first_step", "last_step"}]}]
// `offset` and `size` are bytes, from the smallest arena's planner
// ("planner"); steps index "order". reduction_percent compares peak_bytes with
// the first schedule's (the file order's).
#ifndef EDGECOMPRESS_TOOLS_MEMPLAN_REPORT_H_
#define EDGECOMPRESS_TOOLS_MEMPLAN_REPORT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memplan/graph.h"
#include "memplan/memory_plan.h"
#include "nlohmann/json.hpp"

namespace edgecompress::memplan {

// One row per schedule: peak, lower bound, each planner's arena, the best
// arena over the lower bound, reduction against the first schedule, method.
std::string FormatTable(absl::Span<const SchedulePlan> plans);

// Fills `result` (from tools::NewResult) with "graph" and "schedules".
void AddPlansToJson(const Graph& graph, absl::Span<const SchedulePlan> plans,
                    nlohmann::json& result);

// The smallest arena of `plan`: steps left to right, bytes from the top down,
// one rectangle per tensor (its name, size and offset in a tooltip), a dashed
// line at the lower bound. Self-contained SVG.
std::string ArenaSvg(const Graph& graph, const SchedulePlan& plan, const std::string& title);

// Live bytes against the step, one line per schedule (tools/plot/line_chart.h).
absl::StatusOr<std::string> LiveMemorySvg(absl::Span<const SchedulePlan> plans,
                                          const std::string& title);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_TOOLS_MEMPLAN_REPORT_H_
