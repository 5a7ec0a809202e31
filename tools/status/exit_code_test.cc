#include "tools/status/exit_code.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace edgecompress::tools {
namespace {

TEST(ExitCodeTest, MapsEachKindOfFailure) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), kExitOk);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("x.pt")), kExitBadInput);
  EXPECT_EQ(ExitCodeFor(absl::DataLossError("x.onnx")), kExitBadInput);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("--epochs")), kExitBadInput);
  EXPECT_EQ(ExitCodeFor(absl::UnimplementedError("recipe")), kExitBadInput);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("write")), kExitOutputFailed);
  EXPECT_EQ(ExitCodeFor(absl::PermissionDeniedError("dir")), kExitOutputFailed);
  EXPECT_EQ(ExitCodeFor(absl::AbortedError("ruined")), kExitRuined);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("estimate")), kExitFailed);
  EXPECT_EQ(ExitCodeFor(absl::UnknownError("c10")), kExitFailed);
}

}  // namespace
}  // namespace edgecompress::tools
