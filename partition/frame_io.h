// Blocking TCP for the tile protocol (wire.h), every wait bounded by a
// deadline (poll(2)), writes with MSG_NOSIGNAL so that a peer that went away
// is an error and not a SIGPIPE. IPv4 host names or dotted addresses.
//
// Codes: kDeadlineExceeded when the deadline passes, kUnavailable when the
// peer refuses, resets or closes early, kDataLoss for a malformed frame
// (wire.h), kInvalidArgument for a bad address.
#ifndef EDGECOMPRESS_PARTITION_FRAME_IO_H_
#define EDGECOMPRESS_PARTITION_FRAME_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "partition/wire.h"

namespace edgecompress::partition {

// Owns a file descriptor; closes it when destroyed.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& other) noexcept : fd_(other.release()) {}
  ScopedFd& operator=(ScopedFd&& other) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();

  int get() const { return fd_; }
  int release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct Endpoint {
  std::string host;
  int port = 0;
};

// "host:port" with port in [0, 65535] (0: any free port, for listening).
absl::StatusOr<Endpoint> ParseEndpoint(const std::string& text);

// A listening socket (SO_REUSEADDR, backlog 64); `bound_port` gets the port,
// which the system chooses when endpoint.port is 0.
absl::StatusOr<ScopedFd> ListenTcp(const Endpoint& endpoint, int* bound_port);

absl::StatusOr<ScopedFd> ConnectTcp(const Endpoint& endpoint, absl::Time deadline);

// The next connection, or kDeadlineExceeded when none arrives by `deadline`.
absl::StatusOr<ScopedFd> AcceptTcp(int listen_fd, absl::Time deadline);

absl::Status WriteFrame(int fd, const Frame& frame, absl::Time deadline);
absl::StatusOr<Frame> ReadFrame(int fd, absl::Time deadline);

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_FRAME_IO_H_
