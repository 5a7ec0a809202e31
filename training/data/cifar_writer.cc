#include "training/data/cifar_writer.h"

#include <cstdio>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace edgecompress::training {

uint8_t CifarTestPixel(int salt, int64_t record, int channel, int y, int x) {
  return static_cast<uint8_t>((salt + 7 * record + 3 * channel + y + 2 * x) & 0xFF);
}

std::vector<CifarRecord> MakeCifarRecords(int64_t count, int num_classes, int salt) {
  std::vector<CifarRecord> records(count);
  for (int64_t i = 0; i < count; ++i) {
    records[i].label = static_cast<uint8_t>((salt + i) % num_classes);
    records[i].coarse_label = static_cast<uint8_t>((salt + i) % 20);
    records[i].pixels.resize(kCifarImageBytes);
    for (int c = 0; c < 3; ++c) {
      for (int y = 0; y < 32; ++y) {
        for (int x = 0; x < 32; ++x) {
          records[i].pixels[(c * 32 + y) * 32 + x] = CifarTestPixel(salt, i, c, y, x);
        }
      }
    }
  }
  return records;
}

absl::Status WriteCifarFile(absl::string_view path, CifarVariant variant,
                            absl::Span<const CifarRecord> records, int trailing_bytes) {
  std::string bytes;
  for (size_t i = 0; i < records.size(); ++i) {
    if (static_cast<int64_t>(records[i].pixels.size()) != kCifarImageBytes) {
      return absl::InvalidArgumentError(
          absl::StrFormat("WriteCifarFile: record %d has %d pixels, not %d", i,
                          records[i].pixels.size(), kCifarImageBytes));
    }
    if (variant != CifarVariant::kCifar10) bytes.push_back(records[i].coarse_label);
    bytes.push_back(records[i].label);
    bytes.append(records[i].pixels.begin(), records[i].pixels.end());
  }
  bytes.append(trailing_bytes, '\0');
  const std::string path_string(path);
  std::FILE* file = std::fopen(path_string.c_str(), "wb");
  if (file == nullptr) return absl::InternalError(absl::StrCat(path, ": cannot create"));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  if (std::fclose(file) != 0 || !written) {
    return absl::InternalError(absl::StrCat(path, ": write failed"));
  }
  return absl::OkStatus();
}

}  // namespace edgecompress::training
