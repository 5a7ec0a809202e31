// NumPy .npy files of float32, without NumPy: what `bench --input x.npy
// --output y.npy` reads and writes.
//
// Format (numpy/lib/format.py, NEP 1): the magic "\x93NUMPY", a major and
// minor version byte, the header length (uint16 little-endian in version 1,
// uint32 in 2 and 3), then the header, a Python dict literal such as
//   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
// padded with spaces and ended by '\n' so that the data starts at a multiple
// of 64 bytes; then the values, row-major.
//
// Reads versions 1.0, 2.0 and 3.0 with descr '<f4' (or '|f4'/'=f4' taken as
// little-endian float32 on the little-endian hosts we support),
// fortran_order False, any rank (shape () is one scalar). Writes version 1.0
// exactly as numpy.save does (byte-identical for the same array, tested).
// Not read: other dtypes, big-endian '>f4', Fortran order, pickled objects
// (all kUnimplemented naming the file and the field); a malformed or
// truncated file is kDataLoss naming the file and what is wrong.
//
// Cost: one pass over the bytes; the values are copied once.
#ifndef EDGECOMPRESS_TOOLS_NPY_NPY_H_
#define EDGECOMPRESS_TOOLS_NPY_NPY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress::npy {

struct NpyArray {
  std::vector<size_t> shape;  // empty for a scalar
  std::vector<float> values;  // product of shape (1 for a scalar), row-major
};

// `bytes` is a whole .npy file; `source` names it in errors.
absl::StatusOr<NpyArray> ParseNpy(absl::string_view bytes, absl::string_view source = "<bytes>");
// kNotFound when `path` cannot be opened; else as ParseNpy.
absl::StatusOr<NpyArray> ReadNpyFile(const std::string& path);

// The .npy bytes of `values` in `shape`; kInvalidArgument when the sizes
// disagree.
absl::StatusOr<std::string> SerializeNpy(absl::Span<const size_t> shape,
                                         absl::Span<const float> values);
// SerializeNpy written atomically (tools/io).
absl::Status WriteNpyFile(const std::string& path, absl::Span<const size_t> shape,
                          absl::Span<const float> values);

}  // namespace edgecompress::npy

#endif  // EDGECOMPRESS_TOOLS_NPY_NPY_H_
