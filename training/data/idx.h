// Reader for the IDX format of MNIST and Fashion-MNIST
// (http://yann.lecun.com/exdb/mnist/, "FILE FORMATS FOR THE MNIST DATABASE").
//
// Layout, all integers big-endian:
//   bytes 0-1  zero
//   byte  2    element type: 0x08 unsigned byte (the only type MNIST uses)
//   byte  3    number of dimensions d (1 for labels, 3 for images)
//   d x int32  size of each dimension
//   data       prod(sizes) elements, row-major
//
// Files may be gzip-compressed (as Debian's dataset packages ship them) or raw:
// zlib reads both transparently. Everything is validated, and a file that is
// not exactly header + data is an error naming it: a truncated download or a
// concatenated file must never train silently on garbage.
#ifndef EDGECOMPRESS_TRAINING_DATA_IDX_H_
#define EDGECOMPRESS_TRAINING_DATA_IDX_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace edgecompress::training {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // prod(dims) bytes, row-major
};

// Reads an IDX file of unsigned bytes with 1 to 4 dimensions.
// Errors: kNotFound (cannot open), kDataLoss (bad magic, truncated, trailing
// bytes, corrupt gzip stream), kUnimplemented (an element type other than
// unsigned byte), kInvalidArgument (a zero or implausibly large dimension).
absl::StatusOr<IdxArray> ReadIdxFile(absl::string_view path);

// Writes `array` as a raw (gzip = false) or gzip-compressed IDX file. Used to
// make test data and to export subsets; kInternal when the file cannot be written.
absl::Status WriteIdxFile(absl::string_view path, const IdxArray& array, bool gzip);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_IDX_H_
