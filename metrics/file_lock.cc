#include "metrics/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace edgecompress::metrics {

absl::StatusOr<std::unique_ptr<FileLock>> FileLock::TryAcquire(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    const int error = errno;
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat(path, ": cannot open: ", std::strerror(error)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    close(fd);
    if (error == EWOULDBLOCK) return absl::UnavailableError(absl::StrCat(path, ": held by another process"));
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat(path, ": cannot lock: ", std::strerror(error)));
  }
  return std::unique_ptr<FileLock>(new FileLock(path, fd));
}

FileLock::~FileLock() {
  // Unlink while still locked, so nobody can take a lock on a file that is
  // about to vanish and believe it is the live one.
  if (remove_on_release_) unlink(path_.c_str());
  close(fd_);
}

bool IsFileLocked(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool locked = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  close(fd);
  return locked;
}

}  // namespace edgecompress::metrics
