#include "tools/result/result_json.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "absl/strings/str_cat.h"

namespace edgecompress::tools {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc;
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

absl::Status ErrnoError(absl::string_view path, absl::string_view what) {
  return absl::InternalError(absl::StrCat(path, ": ", what, ": ", std::strerror(errno)));
}

}  // namespace

nlohmann::json NewResult(absl::string_view tool, uint64_t seed,
                         const std::map<std::string, std::string>& flags) {
  nlohmann::json result;
  result["schema_version"] = kResultSchemaVersion;
  result["context"] = {
      {"tool", std::string(tool)},
#ifdef NDEBUG
      {"build_type", "opt"},
#else
      {"build_type", "debug"},
#endif
      {"host", HostName()},
      {"date", UtcNow()},
      {"seed", seed},
      {"flags", flags},
  };
  return result;
}

absl::Status WriteJsonFile(absl::string_view path, const nlohmann::json& json) {
  const std::string target(path);
  const std::string temporary = absl::StrCat(target, ".tmp.", getpid());
  const std::string text = json.dump(2) + "\n";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(path, "cannot create");
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const absl::Status status = ErrnoError(path, "write failed");
      close(fd);
      unlink(temporary.c_str());
      return status;
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    const absl::Status status = ErrnoError(path, "flushing failed");
    unlink(temporary.c_str());
    return status;
  }
  if (std::rename(temporary.c_str(), target.c_str()) != 0) {
    const absl::Status status = ErrnoError(path, "rename failed");
    unlink(temporary.c_str());
    return status;
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::tools
