#include "tools/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace edgecompress::tools {
namespace {

absl::Status ErrnoError(absl::string_view path, absl::string_view what) {
  const int error = errno;
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(path, ": ", what, ": ", std::strerror(error)));
}

}  // namespace

absl::Status WriteFileAtomically(absl::string_view path, absl::string_view contents) {
  const std::string target(path);
  const std::string temporary = absl::StrCat(target, ".tmp.", getpid());
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(path, "cannot create");
  const auto fail = [&](absl::string_view what) {
    absl::Status status = ErrnoError(path, what);
    if (fd >= 0) close(fd);
    unlink(temporary.c_str());
    return status;
  };
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write failed");
    }
    written += static_cast<size_t>(n);
  }
  // fsync before rename: otherwise a crash can leave `path` naming an empty file.
  if (fsync(fd) != 0) return fail("fsync failed");
  if (close(fd) != 0) {
    absl::Status status = ErrnoError(path, "close failed");
    unlink(temporary.c_str());
    return status;
  }
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    absl::Status status = ErrnoError(path, "rename failed");
    unlink(temporary.c_str());
    return status;
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::tools
