#include "tools/npy/npy.h"

#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "tools/io/atomic_file.h"

namespace edgecompress::npy {
namespace {

constexpr absl::string_view kMagic("\x93NUMPY", 6);
constexpr size_t kAlignment = 64;  // numpy >= 1.14 aligns the data to 64 bytes

absl::Status Corrupt(absl::string_view source, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(source, ": not a valid .npy file: ", what));
}

// The value of `key` in the header dict: the text after "'key':" up to the
// next top-level comma (a tuple's commas are inside parentheses).
absl::StatusOr<absl::string_view> DictValue(absl::string_view header, absl::string_view key,
                                            absl::string_view source) {
  const std::string quoted = absl::StrCat("'", key, "'");
  size_t at = header.find(quoted);
  if (at == absl::string_view::npos) {
    return Corrupt(source, absl::StrCat("the header has no ", quoted));
  }
  at += quoted.size();
  while (at < header.size() && (header[at] == ' ' || header[at] == ':')) ++at;
  size_t end = at;
  int depth = 0;
  while (end < header.size() && !(depth == 0 && (header[end] == ',' || header[end] == '}'))) {
    if (header[end] == '(') ++depth;
    if (header[end] == ')') --depth;
    ++end;
  }
  return absl::StripAsciiWhitespace(header.substr(at, end - at));
}

}  // namespace

absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, absl::string_view source) {
  if (bytes.size() < kMagic.size() + 2 || bytes.substr(0, kMagic.size()) != kMagic) {
    return Corrupt(source, "no \\x93NUMPY magic");
  }
  const uint8_t major = static_cast<uint8_t>(bytes[6]), minor = static_cast<uint8_t>(bytes[7]);
  size_t length_bytes = 0;
  if (major == 1) length_bytes = 2;
  if (major == 2 || major == 3) length_bytes = 4;
  if (length_bytes == 0 || minor != 0) {
    return absl::UnimplementedError(
        absl::StrCat(source, ": .npy format version ", major, ".", minor, " (1.0 to 3.0 read)"));
  }
  const size_t prefix = 8 + length_bytes;
  if (bytes.size() < prefix) return Corrupt(source, "truncated before the header length");
  size_t header_length = 0;
  for (size_t i = 0; i < length_bytes; ++i) {
    header_length |= static_cast<size_t>(static_cast<uint8_t>(bytes[8 + i])) << (8 * i);
  }
  if (bytes.size() - prefix < header_length) {
    return Corrupt(source, absl::StrCat("header of ", header_length, " bytes but only ",
                                        bytes.size() - prefix, " follow"));
  }
  const absl::string_view header = bytes.substr(prefix, header_length);

  absl::StatusOr<absl::string_view> descr = DictValue(header, "descr", source);
  if (!descr.ok()) return descr.status();
  if (*descr != "'<f4'" && *descr != "'|f4'" && *descr != "'=f4'") {
    return absl::UnimplementedError(
        absl::StrCat(source, ": dtype ", *descr, "; only little-endian float32 '<f4' is read"));
  }
  absl::StatusOr<absl::string_view> fortran = DictValue(header, "fortran_order", source);
  if (!fortran.ok()) return fortran.status();
  if (*fortran == "True") {
    return absl::UnimplementedError(absl::StrCat(source, ": fortran_order True; only C order"));
  }
  if (*fortran != "False") return Corrupt(source, absl::StrCat("fortran_order ", *fortran));
  absl::StatusOr<absl::string_view> shape_text = DictValue(header, "shape", source);
  if (!shape_text.ok()) return shape_text.status();
  if (shape_text->size() < 2 || shape_text->front() != '(' || shape_text->back() != ')') {
    return Corrupt(source, absl::StrCat("shape ", *shape_text, " is not a tuple"));
  }
  NpyArray array;
  size_t count = 1;
  for (absl::string_view item :
       absl::StrSplit(shape_text->substr(1, shape_text->size() - 2), ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    uint64_t dim = 0;
    if (!absl::SimpleAtoi(item, &dim)) {
      return Corrupt(source, absl::StrCat("shape entry '", item, "' is not a number"));
    }
    if (dim != 0 && count > std::numeric_limits<size_t>::max() / sizeof(float) / dim) {
      return Corrupt(source, absl::StrCat("shape ", *shape_text, " is too large"));
    }
    count *= dim;
    array.shape.push_back(static_cast<size_t>(dim));
  }
  const size_t data_bytes = bytes.size() - prefix - header_length;
  if (data_bytes != count * sizeof(float)) {
    return Corrupt(source, absl::StrCat("shape ", *shape_text, " needs ", count * sizeof(float),
                                        " bytes of data, the file has ", data_bytes));
  }
  array.values.resize(count);
  if (count > 0)
    std::memcpy(array.values.data(), bytes.data() + prefix + header_length, data_bytes);
  return array;
}

absl::StatusOr<NpyArray> ReadNpyFile(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::stringstream bytes;
  bytes << file.rdbuf();
  return ParseNpy(bytes.str(), path);
}

absl::StatusOr<std::string> SerializeNpy(absl::Span<const size_t> shape,
                                         absl::Span<const float> values) {
  size_t count = 1;
  for (size_t d : shape) count *= d;
  if (count != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("SerializeNpy: shape (",
                                                   absl::StrJoin(shape, ", "), ") holds ", count,
                                                   " values, got ", values.size()));
  }
  // numpy writes "(5,)" for one dimension and "(2, 3)" for more.
  std::string shape_text =
      absl::StrCat("(", absl::StrJoin(shape, ", "), shape.size() == 1 ? ",)" : ")");
  std::string header =
      absl::StrCat("{'descr': '<f4', 'fortran_order': False, 'shape': ", shape_text, ", }");
  const size_t unpadded = kMagic.size() + 2 + 2 + header.size() + 1;  // + '\n'
  header.append((kAlignment - unpadded % kAlignment) % kAlignment, ' ');
  header.push_back('\n');
  std::string bytes(kMagic);
  bytes.push_back('\x01');
  bytes.push_back('\x00');
  bytes.push_back(static_cast<char>(header.size() & 0xff));
  bytes.push_back(static_cast<char>((header.size() >> 8) & 0xff));
  bytes += header;
  bytes.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return bytes;
}

absl::Status WriteNpyFile(const std::string& path, absl::Span<const size_t> shape,
                          absl::Span<const float> values) {
  absl::StatusOr<std::string> bytes = SerializeNpy(shape, values);
  if (!bytes.ok()) return bytes.status();
  return tools::WriteFileAtomically(path, *bytes);
}

}  // namespace edgecompress::npy
