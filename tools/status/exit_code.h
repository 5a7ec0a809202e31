// The exit codes of the tools that train (train_prune, compress_chain; their
// usage texts list them) and the one mapping from a Status to them, so that
// a script driving several tools reads every failure the same way.
#ifndef EDGECOMPRESS_TOOLS_STATUS_EXIT_CODE_H_
#define EDGECOMPRESS_TOOLS_STATUS_EXIT_CODE_H_

#include "absl/status/status.h"

namespace edgecompress::tools {

// 1 is Abseil's, for flags that do not parse.
enum ExitCode {
  kExitOk = 0,
  kExitBadInput = 2,      // data, model, checkpoint or options
  kExitFailed = 3,        // the work itself (training, an estimate)
  kExitOutputFailed = 4,  // an output could not be written
  kExitRuined = 5,        // training diverged or fell to chance
};

// kInvalidArgument, kNotFound, kDataLoss, kUnimplemented: bad input;
// kInternal, kPermissionDenied, kResourceExhausted: output; kAborted:
// ruined; kOk: ok; anything else: failed.
ExitCode ExitCodeFor(const absl::Status& status);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_STATUS_EXIT_CODE_H_
