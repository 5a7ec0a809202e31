// Test-only: the promises every SparsitySchedule keeps (schedule.h), checked
// step by step with GoogleTest expectations, so each schedule's test runs
// the same contract over its own options.
#ifndef EDGECOMPRESS_PRUNING_SCHEDULE_CONTRACT_H_
#define EDGECOMPRESS_PRUNING_SCHEDULE_CONTRACT_H_

#include <cstdint>

#include "gtest/gtest.h"
#include "pruning/schedule.h"

namespace edgecompress::pruning {

// Over steps [first, last]: every target is in [0, 1); where masks are not
// enforced the target is 0; a step that is not an update step has the
// target and enforcement of the step before it.
inline void ExpectScheduleContract(const SparsitySchedule& schedule, int64_t first,
                                   int64_t last) {
  for (int64_t step = first; step <= last; ++step) {
    SCOPED_TRACE(testing::Message() << "step " << step);
    const double target = schedule.TargetSparsity(step);
    EXPECT_GE(target, 0.0);
    EXPECT_LT(target, 1.0);
    if (!schedule.MasksEnforced(step)) {
      EXPECT_EQ(target, 0.0);
    }
    if (step > first && !schedule.IsUpdateStep(step)) {
      EXPECT_EQ(target, schedule.TargetSparsity(step - 1));
      EXPECT_EQ(schedule.MasksEnforced(step), schedule.MasksEnforced(step - 1));
    }
  }
}

}  // namespace edgecompress::pruning

#endif  // EDGECOMPRESS_PRUNING_SCHEDULE_CONTRACT_H_
