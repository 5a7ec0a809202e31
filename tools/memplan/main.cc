// memplan: how much RAM a network's activations need, and how to need less.
// Reads an ONNX model or a JSON graph, plans the file order and the
// minimum-peak order (memplan/reorder.h) with two arena planners, prints a
// table, writes the JSON plan and SVG drawings. Flags live only here.
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "memplan/graph.h"
#include "memplan/greedy_by_breadth_planner.h"
#include "memplan/greedy_by_size_planner.h"
#include "memplan/memory_plan.h"
#include "memplan/reorder.h"
#include "tools/io/atomic_file.h"
#include "tools/memplan/graph_file.h"
#include "tools/memplan/report.h"
#include "partition/tiling.h"
#include "tools/memplan/tiling_report.h"
#include "tools/result/result_json.h"
#include "training/onnx/onnx_file.h"

ABSL_FLAG(std::string, graph, "", "The graph to plan: an ONNX model (.onnx) or a JSON graph (.json).");
ABSL_FLAG(int64_t, batch, 1, "Value of an ONNX graph input's symbolic batch dimension.");
ABSL_FLAG(int64_t, max_states, 1'000'000,
          "Memoised states the exact reordering may visit before it falls back to a greedy "
          "order (the output says which was used).");
ABSL_FLAG(std::string, out, "", "Write the JSON plan here (atomically); stdout if empty.");
ABSL_FLAG(std::string, tiles, "",
          "ONNX only: also each device's memory when the first --fused_layers layers run as "
          "this grid of fused tiles (RxC, e.g. 3x3; partition/), beside one device.");
ABSL_FLAG(int, fused_layers, 1, "With --tiles: Conv and MaxPool layers fused into the tiles.");
ABSL_FLAG(std::string, svg_dir, "",
          "If set, write arena_default.svg, arena_reordered.svg and live_memory.svg here.");

namespace edgecompress {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitBadInput = 2;
constexpr int kExitPlanningFailed = 3;
constexpr int kExitWriteFailed = 4;

double MillisecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int Fail(int exit_code, const absl::Status& status) {
  std::cerr << "memplan: " << status.message() << "\n";
  return exit_code;
}

int Run() {
  const std::string path = absl::GetFlag(FLAGS_graph);
  if (path.empty()) return Fail(kExitBadInput, absl::InvalidArgumentError("--graph is required"));
  memplan::ReorderOptions reorder_options;
  reorder_options.max_states = absl::GetFlag(FLAGS_max_states);
  if (reorder_options.max_states < 1) {
    return Fail(kExitBadInput, absl::InvalidArgumentError(absl::StrCat(
                                   "--max_states=", reorder_options.max_states, " must be >= 1")));
  }

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<memplan::Graph> graph =
      memplan::LoadGraphFile(path, absl::GetFlag(FLAGS_batch));
  if (!graph.ok()) return Fail(kExitBadInput, graph.status());
  const double load_ms = MillisecondsSince(start);

  const auto reorder_start = std::chrono::steady_clock::now();
  absl::StatusOr<memplan::Reordering> reordering =
      memplan::FindMinimumPeakOrder(*graph, reorder_options);
  if (!reordering.ok()) return Fail(kExitBadInput, reordering.status());
  const double reorder_ms = MillisecondsSince(reorder_start);

  const auto plan_start = std::chrono::steady_clock::now();
  const memplan::GreedyBySizePlanner by_size;
  const memplan::GreedyByBreadthPlanner by_breadth;
  const memplan::ArenaPlanner* planners[] = {&by_size, &by_breadth};
  std::vector<memplan::SchedulePlan> plans;
  for (auto [name, method, order] :
       {std::make_tuple("default", std::string("file order"), graph->FileOrder()),
        std::make_tuple("reordered", reordering->method, reordering->order)}) {
    absl::StatusOr<memplan::SchedulePlan> plan =
        memplan::PlanSchedule(*graph, name, method, std::move(order), planners);
    if (!plan.ok()) return Fail(kExitPlanningFailed, plan.status());
    plans.push_back(*std::move(plan));
  }
  const double plan_ms = MillisecondsSince(plan_start);
  const double total_ms = MillisecondsSince(start);

  int in_place = 0;
  for (const memplan::Operator& op : graph->operators()) in_place += op.in_place_capable;
  std::cerr << absl::StrFormat(
      "%s: %d operators, %d activation tensors, %d in-place-capable operators (noted, not "
      "assumed)\n",
      path, graph->num_operators(), graph->num_tensors(), in_place);
  std::cerr << memplan::FormatTable(plans);
  std::cerr << absl::StrFormat(
      "time: load %.1f ms, reorder %.1f ms, arena plans %.1f ms, total %.1f ms\n", load_ms,
      reorder_ms, plan_ms, total_ms);

  const std::map<std::string, std::string> flags = {
      {"graph", path},
      {"batch", absl::StrCat(absl::GetFlag(FLAGS_batch))},
      {"max_states", absl::StrCat(reorder_options.max_states)},
      {"out", absl::GetFlag(FLAGS_out)},
      {"svg_dir", absl::GetFlag(FLAGS_svg_dir)},
      {"tiles", absl::GetFlag(FLAGS_tiles)},
      {"fused_layers", absl::StrCat(absl::GetFlag(FLAGS_fused_layers))}};
  nlohmann::json result = tools::NewResult("memplan", /*seed=*/0, flags);
  memplan::AddPlansToJson(*graph, plans, result);
  result["reorder_states_visited"] = reordering->states_visited;
  result["timings_ms"] = {
      {"load", load_ms}, {"reorder", reorder_ms}, {"plan", plan_ms}, {"total", total_ms}};

  if (const std::string tiles = absl::GetFlag(FLAGS_tiles); !tiles.empty()) {
    absl::StatusOr<std::pair<int, int>> grid = partition::ParseGrid(tiles);
    if (!grid.ok()) return Fail(kExitBadInput, grid.status());
    absl::StatusOr<onnx::ModelProto> model = training::ReadOnnxFile(path);
    if (!model.ok()) return Fail(kExitBadInput, model.status());
    absl::StatusOr<memplan_tool::TilingReport> tiling =
        memplan_tool::ReportTiling(*model, absl::GetFlag(FLAGS_fused_layers), grid->first,
                                   grid->second, absl::GetFlag(FLAGS_batch));
    if (!tiling.ok()) {
      return Fail(kExitBadInput, absl::Status(tiling.status().code(),
                                              absl::StrCat(path, ": ", tiling.status().message())));
    }
    std::cerr << tiling->table;
    result["tiling"] = tiling->json;
  }

  const std::string svg_dir = absl::GetFlag(FLAGS_svg_dir);
  if (!svg_dir.empty()) {
    for (const memplan::SchedulePlan& plan : plans) {
      const std::string title =
          absl::StrCat(path, ": ", plan.name, " schedule, ", plan.arenas[plan.best_arena].planner);
      if (absl::Status status = tools::WriteFileAtomically(
              absl::StrCat(svg_dir, "/arena_", plan.name, ".svg"),
              memplan::ArenaSvg(*graph, plan, title));
          !status.ok()) {
        return Fail(kExitWriteFailed, status);
      }
    }
    absl::StatusOr<std::string> live =
        memplan::LiveMemorySvg(plans, absl::StrCat(path, ": live memory per step"));
    if (!live.ok()) return Fail(kExitWriteFailed, live.status());
    if (absl::Status status =
            tools::WriteFileAtomically(absl::StrCat(svg_dir, "/live_memory.svg"), *live);
        !status.ok()) {
      return Fail(kExitWriteFailed, status);
    }
  }
  if (absl::Status status = tools::WriteResult(absl::GetFlag(FLAGS_out), result);
      !status.ok()) {
    return Fail(kExitWriteFailed, status);
  }
  return kExitOk;
}

}  // namespace
}  // namespace edgecompress

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Plans peak activation memory: the file order and the minimum-peak operator order\n"
      "(Liberis & Lane 2019), each with arena offsets from greedy-by-size and greedy-by-breadth.\n"
      "Example: bazel run //tools/memplan -- --graph=$PWD/model.onnx --out=/tmp/plan.json "
      "--svg_dir=/tmp\n"
      "Exit codes: 0 success, 1 bad flags, 2 the graph cannot be read or is invalid, 3 a plan\n"
      "failed verification (a bug), 4 an output could not be written.");
  absl::ParseCommandLine(argc, argv);
  return edgecompress::Run();
}
