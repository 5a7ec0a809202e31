// GoogleTest matchers for absl::Status and absl::StatusOr (test-only).
//
//   EXPECT_THAT(schedule.status(), IsOk());
//   EXPECT_THAT(CubicSchedule::Create(bad), StatusIs(absl::StatusCode::kInvalidArgument));
//   EXPECT_THAT(LoadIdx(path), StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path)));
//   EXPECT_THAT(CountMacs(graph), IsOkAndHolds(416520));
//
// Abseil 20220623 ships none; these follow the ones in its later releases.
#ifndef EDGECOMPRESS_TOOLS_STATUS_STATUS_MATCHERS_H_
#define EDGECOMPRESS_TOOLS_STATUS_STATUS_MATCHERS_H_

#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace edgecompress {
namespace status_internal {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }

template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

}  // namespace status_internal

MATCHER(IsOk, "is OK") {
  const absl::Status& status = status_internal::GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code, "has status code " + absl::StatusCodeToString(code)) {
  const absl::Status& status = status_internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           "has status code " + absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher)) {
  const absl::Status& status = status_internal::GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::Matches(message_matcher)(std::string(status.message()));
}

MATCHER_P(IsOkAndHolds, value_matcher,
          "is OK and holds a value that " +
              ::testing::DescribeMatcher<typename std::decay_t<arg_type>::value_type>(
                  value_matcher)) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(value_matcher, *arg, result_listener);
}

}  // namespace edgecompress

#endif  // EDGECOMPRESS_TOOLS_STATUS_STATUS_MATCHERS_H_
