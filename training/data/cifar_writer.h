// Test-only: writes CIFAR binary files (format in cifar.h), so that tests can
// exercise the loader on small, known files, including broken ones, without
// the 170 MB download (no CIFAR package exists for this machine).
#ifndef EDGECOMPRESS_TRAINING_DATA_CIFAR_WRITER_H_
#define EDGECOMPRESS_TRAINING_DATA_CIFAR_WRITER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "training/data/cifar.h"

namespace edgecompress::training {

struct CifarRecord {
  uint8_t coarse_label = 0;     // written for CIFAR-100 variants only
  uint8_t label = 0;            // the CIFAR-10 label or the CIFAR-100 fine label
  std::vector<uint8_t> pixels;  // kCifarImageBytes, CHW
};

// `count` records whose pixel (c, y, x) of record i is (salt + 7i + 3c + y + 2x) mod 256,
// fine label (salt + i) % num_classes and coarse label (salt + i) % 20.
std::vector<CifarRecord> MakeCifarRecords(int64_t count, int num_classes, int salt);

// The pixel value MakeCifarRecords puts at (record, channel, y, x).
uint8_t CifarTestPixel(int salt, int64_t record, int channel, int y, int x);

// Writes `records` in `variant`'s layout (label bytes then pixels) to `path`,
// then `trailing_bytes` zero bytes (to make a corrupt file). kInvalidArgument
// for a record without kCifarImageBytes pixels, kInternal when writing fails.
absl::Status WriteCifarFile(absl::string_view path, CifarVariant variant,
                            absl::Span<const CifarRecord> records, int trailing_bytes = 0);

}  // namespace edgecompress::training

#endif  // EDGECOMPRESS_TRAINING_DATA_CIFAR_WRITER_H_
