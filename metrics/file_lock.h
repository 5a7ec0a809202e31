// Advisory whole-file locks (flock) that say which process does what in a run
// directory: "upload.lock" is held by the one process that uploads the spool,
// "writer-<token>.lock" by each live process that appends to it. A lock dies
// with its process, so a free writer lock means that writer was killed.
// flock locks belong to an open file, so two objects in one process exclude
// each other just as two processes do.
#ifndef EDGECOMPRESS_METRICS_FILE_LOCK_H_
#define EDGECOMPRESS_METRICS_FILE_LOCK_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace edgecompress::metrics {

class FileLock {
 public:
  // Creates `path` if needed and locks it exclusively without waiting:
  // kUnavailable naming the path when someone else holds it.
  static absl::StatusOr<std::unique_ptr<FileLock>> TryAcquire(const std::string& path);
  // Unlocks (after deleting the file if RemoveOnRelease was called).
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  void RemoveOnRelease() { remove_on_release_ = true; }

 private:
  FileLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  bool remove_on_release_ = false;
};

// True when some open file holds a lock on `path`; false when the file does
// not exist or nobody holds it.
bool IsFileLocked(const std::string& path);

}  // namespace edgecompress::metrics

#endif  // EDGECOMPRESS_METRICS_FILE_LOCK_H_
