#include "partition/frame_io.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"

namespace edgecompress::partition {
namespace {

absl::Status Errno(absl::string_view what) {
  const int error = errno;
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  if (error == ECONNREFUSED || error == ECONNRESET || error == EPIPE || error == ENETUNREACH ||
      error == EHOSTUNREACH || error == ECONNABORTED) {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// Waits until `fd` is ready for `events` or the deadline passes.
absl::Status Wait(int fd, short events, absl::Time deadline, absl::string_view what) {
  while (true) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      return absl::DeadlineExceededError(absl::StrCat(what, ": timed out"));
    }
    pollfd p{.fd = fd, .events = events, .revents = 0};
    const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
    if (ready > 0) return absl::OkStatus();
    if (ready < 0 && errno != EINTR) return Errno(what);
  }
}

absl::StatusOr<sockaddr_in> Resolve(const Endpoint& endpoint) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string host = endpoint.host.empty() ? "0.0.0.0" : endpoint.host;
  if (const int error = getaddrinfo(host.c_str(), nullptr, &hints, &found); error != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("host '", host, "': ", gai_strerror(error)));
  }
  sockaddr_in address;
  std::memcpy(&address, found->ai_addr, sizeof(address));
  freeaddrinfo(found);
  address.sin_port = htons(static_cast<uint16_t>(endpoint.port));
  return address;
}

std::string Name(const Endpoint& endpoint) { return absl::StrCat(endpoint.host, ":", endpoint.port); }

absl::Status ReadExactly(int fd, char* data, size_t size, absl::Time deadline,
                         absl::string_view what) {
  while (size > 0) {
    RETURN_IF_ERROR(Wait(fd, POLLIN, deadline, what));
    const ssize_t n = recv(fd, data, size, 0);
    if (n == 0) return absl::UnavailableError(absl::StrCat(what, ": the peer closed the connection"));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Errno(what);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

ScopedFd& ScopedFd::operator=(ScopedFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.release();
  }
  return *this;
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) close(fd_);
}

absl::StatusOr<Endpoint> ParseEndpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  Endpoint endpoint;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(text.substr(colon + 1), &endpoint.port) || endpoint.port < 0 ||
      endpoint.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not host:port"));
  }
  endpoint.host = text.substr(0, colon);
  return endpoint;
}

absl::StatusOr<ScopedFd> ListenTcp(const Endpoint& endpoint, int* bound_port) {
  ASSIGN_OR_RETURN(sockaddr_in address, Resolve(endpoint));
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return Errno("socket");
  const int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    return Errno(absl::StrCat("bind ", Name(endpoint)));
  }
  if (listen(fd.get(), 64) != 0) return Errno(absl::StrCat("listen ", Name(endpoint)));
  socklen_t length = sizeof(address);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
  if (bound_port != nullptr) *bound_port = ntohs(address.sin_port);
  return fd;
}

absl::StatusOr<ScopedFd> ConnectTcp(const Endpoint& endpoint, absl::Time deadline) {
  ASSIGN_OR_RETURN(const sockaddr_in address, Resolve(endpoint));
  const std::string what = absl::StrCat("connect ", Name(endpoint));
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0) return Errno("socket");
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    if (errno != EINPROGRESS) return Errno(what);
    RETURN_IF_ERROR(Wait(fd.get(), POLLOUT, deadline, what));
    int error = 0;
    socklen_t length = sizeof(error);
    getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0) {
      errno = error;
      return Errno(what);
    }
  }
  const int one = 1;  // frames are written whole: no reason to wait for more
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

absl::StatusOr<ScopedFd> AcceptTcp(int listen_fd, absl::Time deadline) {
  RETURN_IF_ERROR(Wait(listen_fd, POLLIN, deadline, "accept"));
  ScopedFd fd(accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (fd.get() < 0) return Errno("accept");
  const int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

absl::Status WriteFrame(int fd, const Frame& frame, absl::Time deadline) {
  const std::string bytes = EncodeFrame(frame);
  size_t sent = 0;
  while (sent < bytes.size()) {
    RETURN_IF_ERROR(Wait(fd, POLLOUT, deadline, "send"));
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return Errno("send");
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Frame> ReadFrame(int fd, absl::Time deadline) {
  std::string bytes(kFrameHeaderBytes, '\0');
  RETURN_IF_ERROR(ReadExactly(fd, bytes.data(), kFrameHeaderBytes, deadline, "receive header"));
  // The length is bounded before anything is allocated for it.
  ASSIGN_OR_RETURN(const uint32_t size, DecodeFrameHeader(bytes));
  bytes.resize(kFrameHeaderBytes + size);
  RETURN_IF_ERROR(
      ReadExactly(fd, bytes.data() + kFrameHeaderBytes, size, deadline, "receive payload"));
  return DecodeFrame(bytes);
}

}  // namespace edgecompress::partition
