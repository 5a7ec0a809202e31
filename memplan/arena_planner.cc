#include "memplan/arena_planner.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

namespace edgecompress::memplan {

int64_t FindGapOffset(std::vector<std::pair<int64_t, int64_t>> occupied, int64_t size_bytes,
                      Fit fit) {
  std::sort(occupied.begin(), occupied.end());
  int64_t candidate = 0;  // lowest free byte above everything scanned so far
  int64_t best_offset = -1, best_gap = 0;
  for (const auto& [begin, end] : occupied) {
    const int64_t gap = begin - candidate;
    if (gap >= size_bytes) {
      if (fit == Fit::kFirst) return candidate;
      if (best_offset < 0 || gap < best_gap) {
        best_offset = candidate;
        best_gap = gap;
      }
    }
    candidate = std::max(candidate, end);
  }
  return best_offset >= 0 ? best_offset : candidate;
}

bool OverlapInTime(const BufferRequest& a, const BufferRequest& b) {
  return a.first_step <= b.last_step && b.first_step <= a.last_step;
}

int64_t ArenaBytes(absl::Span<const BufferRequest> buffers, absl::Span<const int64_t> offsets) {
  assert(buffers.size() == offsets.size());
  int64_t arena_bytes = 0;
  for (size_t i = 0; i < buffers.size(); ++i) {
    arena_bytes = std::max(arena_bytes, offsets[i] + buffers[i].size_bytes);
  }
  return arena_bytes;
}

int64_t LowerBoundBytes(absl::Span<const BufferRequest> buffers) {
  // Sweep over (step, +size) at first_step and (last_step + 1, -size); at
  // equal steps the releases come first, since last_step is inclusive.
  std::vector<std::pair<int, int64_t>> events;
  events.reserve(2 * buffers.size());
  for (const BufferRequest& buffer : buffers) {
    events.emplace_back(buffer.first_step, buffer.size_bytes);
    events.emplace_back(buffer.last_step + 1, -buffer.size_bytes);
  }
  std::sort(events.begin(), events.end());
  int64_t live = 0, bound = 0;
  for (const auto& [step, delta] : events) {
    live += delta;
    bound = std::max(bound, live);
  }
  return bound;
}

std::optional<std::pair<int, int>> FindOverlap(absl::Span<const BufferRequest> buffers,
                                               absl::Span<const int64_t> offsets) {
  assert(buffers.size() == offsets.size());
  const int n = static_cast<int>(buffers.size());
  for (int i = 0; i < n; ++i) {
    if (offsets[i] < 0) return std::make_pair(i, i);
    for (int j = i + 1; j < n; ++j) {
      if (!OverlapInTime(buffers[i], buffers[j])) continue;
      if (offsets[i] < offsets[j] + buffers[j].size_bytes &&
          offsets[j] < offsets[i] + buffers[i].size_bytes) {
        return std::make_pair(i, j);
      }
    }
  }
  return std::nullopt;
}

}  // namespace edgecompress::memplan
