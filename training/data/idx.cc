#include "training/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;
constexpr int kMaxDims = 4;
// 4 GiB of pixels: far above any IDX dataset, low enough that a corrupt
// header cannot make us allocate the machine away.
constexpr int64_t kMaxElements = int64_t{1} << 32;

struct GzCloser {
  void operator()(gzFile file) const { gzclose(file); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to `size` bytes; returns how many arrived, or -1 on a stream error.
int64_t ReadFully(gzFile file, uint8_t* out, int64_t size) {
  int64_t total = 0;
  while (total < size) {
    // gzread takes an unsigned int count: read in 1 GiB chunks.
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(size - total, 1 << 30));
    const int got = gzread(file, out + total, chunk);
    if (got < 0) return -1;
    if (got == 0) break;
    total += got;
  }
  return total;
}

std::string GzErrorMessage(gzFile file) {
  int code = 0;
  const char* message = gzerror(file, &code);
  return message != nullptr ? message : "unknown zlib error";
}

}  // namespace

absl::StatusOr<IdxArray> ReadIdxFile(absl::string_view path) {
  const std::string path_string(path);
  GzFile file(gzopen(path_string.c_str(), "rb"));
  if (file == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  uint8_t magic[4];
  const int64_t magic_bytes = ReadFully(file.get(), magic, sizeof(magic));
  if (magic_bytes < 0) {
    return absl::DataLossError(absl::StrCat(path, ": ", GzErrorMessage(file.get())));
  }
  if (magic_bytes < 4 || magic[0] != 0 || magic[1] != 0 || magic[3] < 1 ||
      magic[3] > kMaxDims) {
    return absl::DataLossError(absl::StrCat(
        path, ": not an IDX file (the magic number must be 00 00 <type> <1..4 dims>)"));
  }
  if (magic[2] != kUnsignedByte) {
    return absl::UnimplementedError(absl::StrFormat(
        "%s: IDX element type 0x%02x is not supported (only 0x08, unsigned byte)", path,
        magic[2]));
  }
  IdxArray array;
  int64_t elements = 1;
  for (int i = 0; i < magic[3]; ++i) {
    uint8_t size_bytes[4];
    if (ReadFully(file.get(), size_bytes, 4) != 4) {
      return absl::DataLossError(
          absl::StrFormat("%s: truncated header: dimension %d of %d is missing", path, i,
                          magic[3]));
    }
    const int64_t size = (int64_t{size_bytes[0]} << 24) | (int64_t{size_bytes[1]} << 16) |
                         (int64_t{size_bytes[2]} << 8) | int64_t{size_bytes[3]};
    elements *= size;
    if (size == 0 || elements > kMaxElements) {
      return absl::InvalidArgumentError(
          absl::StrFormat("%s: implausible dimension %d of size %d", path, i, size));
    }
    array.dims.push_back(size);
  }
  array.data.resize(elements);
  const int64_t got = ReadFully(file.get(), array.data.data(), elements);
  if (got < 0) {
    return absl::DataLossError(absl::StrCat(path, ": ", GzErrorMessage(file.get())));
  }
  if (got < elements) {
    return absl::DataLossError(absl::StrFormat(
        "%s: truncated: the header promises %d bytes of data, the file has %d", path, elements,
        got));
  }
  uint8_t extra;
  if (ReadFully(file.get(), &extra, 1) != 0) {
    return absl::DataLossError(
        absl::StrFormat("%s: trailing bytes after the %d bytes of data", path, elements));
  }
  return array;
}

absl::Status WriteIdxFile(absl::string_view path, const IdxArray& array, bool gzip) {
  const std::string path_string(path);
  GzFile file(gzopen(path_string.c_str(), gzip ? "wb" : "wbT"));  // T: no compression
  if (file == nullptr) {
    return absl::InternalError(absl::StrCat(path, ": cannot create: ", std::strerror(errno)));
  }
  std::string header = {0, 0, static_cast<char>(kUnsignedByte),
                        static_cast<char>(array.dims.size())};
  for (int64_t size : array.dims) {
    for (int shift = 24; shift >= 0; shift -= 8) header.push_back(static_cast<char>(size >> shift));
  }
  if (gzwrite(file.get(), header.data(), header.size()) != static_cast<int>(header.size()) ||
      (!array.data.empty() &&
       gzwrite(file.get(), array.data.data(), array.data.size()) !=
           static_cast<int>(array.data.size()))) {
    return absl::InternalError(absl::StrCat(path, ": write failed: ", GzErrorMessage(file.get())));
  }
  if (gzclose(file.release()) != Z_OK) {
    return absl::InternalError(absl::StrCat(path, ": closing failed"));
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::training
