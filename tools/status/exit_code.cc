#include "tools/status/exit_code.h"

namespace edgecompress::tools {

ExitCode ExitCodeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return kExitOk;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kUnimplemented:
      return kExitBadInput;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
      return kExitOutputFailed;
    case absl::StatusCode::kAborted:
      return kExitRuined;
    default:
      return kExitFailed;
  }
}

}  // namespace edgecompress::tools
