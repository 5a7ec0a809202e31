#include "tools/result/result_json.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/io/atomic_file.h"

namespace edgecompress::tools {
namespace {

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

// The CPU architecture the tool ran on ("x86_64", "aarch64"): a JSON read
// back from a board says where its numbers come from.
std::string Machine() {
  utsname name;
  if (uname(&name) != 0) return "unknown";
  return name.machine;
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc;
  gmtime_r(&now, &utc);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
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
      {"machine", Machine()},
      {"date", UtcNow()},
      {"seed", seed},
      {"flags", flags},
  };
  return result;
}

absl::Status WriteJsonFile(absl::string_view path, const nlohmann::json& json) {
  return WriteFileAtomically(path, json.dump(2) + "\n");
}

absl::Status WriteResult(absl::string_view path, const nlohmann::json& json) {
  if (!path.empty()) return WriteJsonFile(path, json);
  std::cout << json.dump(2) << std::endl;
  if (!std::cout) return absl::DataLossError("stdout: writing the result failed");
  return absl::OkStatus();
}

}  // namespace edgecompress::tools
