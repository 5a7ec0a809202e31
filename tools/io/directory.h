// Creating the output folders tools write into.
#ifndef EDGECOMPRESS_TOOLS_IO_DIRECTORY_H_
#define EDGECOMPRESS_TOOLS_IO_DIRECTORY_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace edgecompress::tools {

// Creates `path` (one level, mode 0755); an existing directory is fine.
// Errors name the path, with the errno code mapped (kNotFound for a missing
// parent, kPermissionDenied, kAlreadyExists for a file in the way).
absl::Status MakeDirectory(absl::string_view path);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_IO_DIRECTORY_H_
