// Writing a file so that readers never see a partial one, and a crash leaves
// either the old file or the new one: write "<path>.tmp.<pid>", fsync it,
// rename it over <path>. Every result, model and checkpoint file the tools
// write goes through here. (The directory is not fsync'd: after a power loss
// the rename itself may be lost, never the old file's contents.)
#ifndef EDGECOMPRESS_TOOLS_IO_ATOMIC_FILE_H_
#define EDGECOMPRESS_TOOLS_IO_ATOMIC_FILE_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace edgecompress::tools {

// Errors name the path and the failing step, with the errno code mapped
// (e.g. kNotFound for a missing folder, kPermissionDenied); the temporary
// file is removed on failure.
absl::Status WriteFileAtomically(absl::string_view path, absl::string_view contents);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_IO_ATOMIC_FILE_H_
