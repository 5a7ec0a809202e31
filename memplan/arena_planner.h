// Arena planning: an offset in one buffer for every tensor, such that
// tensors live at the same step never share a byte. The interface follows
// tflite-micro's MicroMemoryPlanner (tensorflow/lite/micro/memory_planner/):
// one abstract planner, implementations with their own targets
// (greedy_by_size_planner.h, greedy_by_breadth_planner.h).
//
// Also here: the arena size a plan needs, the lower bound every plan must
// reach (max over steps of the sum of live sizes), and a check that no two
// time-overlapping buffers overlap in memory.
#ifndef EDGECOMPRESS_MEMPLAN_ARENA_PLANNER_H_
#define EDGECOMPRESS_MEMPLAN_ARENA_PLANNER_H_

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress::memplan {

// One buffer to place: live over the closed step interval [first_step,
// last_step], as in lifetimes.h. Planners require size_bytes > 0 and
// 0 <= first_step <= last_step (Graph and ComputeScheduleMemory guarantee it).
struct BufferRequest {
  int64_t size_bytes = 0;
  int first_step = 0;
  int last_step = 0;
};

class ArenaPlanner {
 public:
  virtual ~ArenaPlanner() = default;
  // A short identifier for tables and JSON, e.g. "greedy_by_size".
  virtual absl::string_view name() const = 0;
  // Offsets in bytes, one per request, in the same order. Keeps nothing.
  virtual std::vector<int64_t> PlanOffsets(absl::Span<const BufferRequest> buffers) const = 0;
};

// Where planners put a buffer of `size_bytes` among `occupied` byte ranges
// [begin, end) of buffers live at the same time (any order, may overlap each
// other): the gaps between them, and above the highest. First fit takes the
// lowest gap that fits (tflite-micro's GreedyMemoryPlanner); best fit the
// smallest gap that fits, lowest on ties, else the top (Pisarchyk & Lee 2020).
enum class Fit { kFirst, kBest };
int64_t FindGapOffset(std::vector<std::pair<int64_t, int64_t>> occupied, int64_t size_bytes,
                      Fit fit);

// Whether two buffers are live at a common step.
bool OverlapInTime(const BufferRequest& a, const BufferRequest& b);

// max over buffers of offset + size; 0 for no buffers.
int64_t ArenaBytes(absl::Span<const BufferRequest> buffers, absl::Span<const int64_t> offsets);

// max over steps of the sum of sizes live at that step: no plan can be
// smaller. O(buffers log buffers).
int64_t LowerBoundBytes(absl::Span<const BufferRequest> buffers);

// The first pair (i < j) live at a common step whose byte ranges intersect,
// or a negative offset as (i, i); nullopt for a valid plan. O(buffers^2):
// meant for verifying each plan once, as tflite-micro's DoAnyBuffersOverlap.
std::optional<std::pair<int, int>> FindOverlap(absl::Span<const BufferRequest> buffers,
                                               absl::Span<const int64_t> offsets);

}  // namespace edgecompress::memplan

#endif  // EDGECOMPRESS_MEMPLAN_ARENA_PLANNER_H_
