#include "tools/io/directory.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace edgecompress::tools {

absl::Status MakeDirectory(absl::string_view path) {
  const std::string name(path);
  if (mkdir(name.c_str(), 0755) == 0) return absl::OkStatus();
  const int error = errno;
  struct stat info;
  if (error == EEXIST && stat(name.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) {
    return absl::OkStatus();
  }
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(path, ": cannot create the folder: ", std::strerror(error)));
}

}  // namespace edgecompress::tools
