#include "partition/wire.h"

#include <zlib.h>

#include <cassert>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tools/status/status_macros.h"

namespace edgecompress::partition {
namespace {

constexpr char kMagic[4] = {'E', 'C', 'T', 'P'};
constexpr int64_t kMaxDimension = int64_t{1} << 31;

// Little-endian writes and bounds-checked reads; this code runs on x86-64
// and aarch64, both little-endian, so memcpy is the byte order.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the wire format is little-endian");

template <typename T>
void Put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}

  template <typename T>
  absl::Status Get(T& value, absl::string_view field) {
    if (bytes_.size() < sizeof(T)) return Truncated(field);
    std::memcpy(&value, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return absl::OkStatus();
  }
  absl::Status GetString(std::string& value, absl::string_view field) {
    uint32_t size = 0;
    RETURN_IF_ERROR(Get(size, field));
    if (bytes_.size() < size) return Truncated(field);
    value.assign(bytes_.data(), size);
    bytes_.remove_prefix(size);
    return absl::OkStatus();
  }
  absl::Status GetShape(std::array<int64_t, 4>& shape, int64_t& elements) {
    elements = 1;
    for (int64_t& d : shape) {
      RETURN_IF_ERROR(Get(d, "shape"));
      if (d < 0 || d > kMaxDimension) {
        return absl::DataLossError(absl::StrCat("tile frame: dimension ", d, " out of range"));
      }
      elements *= d;
      if (elements > kMaxPayloadBytes) {
        return absl::DataLossError("tile frame: the shape holds more floats than a frame can");
      }
    }
    return absl::OkStatus();
  }
  // The rest of the payload as exactly `count` floats.
  absl::Status GetFloats(std::vector<float>& values, int64_t count) {
    if (bytes_.size() != static_cast<size_t>(count) * sizeof(float)) {
      return absl::DataLossError(absl::StrCat("tile frame: ", bytes_.size(),
                                              " bytes of floats for a shape of ", count));
    }
    values.resize(count);
    std::memcpy(values.data(), bytes_.data(), bytes_.size());
    bytes_ = {};
    return absl::OkStatus();
  }
  absl::Status Finish() const {
    if (!bytes_.empty()) {
      return absl::DataLossError(absl::StrCat("tile frame: ", bytes_.size(), " bytes left over"));
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status Truncated(absl::string_view field) {
    return absl::DataLossError(absl::StrCat("tile frame: truncated at ", field));
  }
  absl::string_view bytes_;
};

uint32_t Checksum(absl::string_view header12, absl::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(header12.data()), header12.size());
  crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data()), payload.size());
  return static_cast<uint32_t>(crc);
}

absl::Status ExpectType(const Frame& frame, FrameType type, absl::string_view what) {
  if (frame.type != type) {
    return absl::DataLossError(absl::StrCat("tile frame: type ", static_cast<int>(frame.type),
                                            " where a ", what, " was expected"));
  }
  return absl::OkStatus();
}

void PutFloats(std::string& out, absl::Span<const float> values) {
  out.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

}  // namespace

std::string EncodeFrame(const Frame& frame) {
  assert(frame.payload.size() <= kMaxPayloadBytes);
  std::string out(kMagic, 4);
  Put<uint8_t>(out, kWireVersion);
  Put<uint8_t>(out, static_cast<uint8_t>(frame.type));
  Put<uint16_t>(out, 0);
  Put<uint32_t>(out, static_cast<uint32_t>(frame.payload.size()));
  Put<uint32_t>(out, Checksum(out, frame.payload));
  out += frame.payload;
  return out;
}

absl::StatusOr<uint32_t> DecodeFrameHeader(absl::string_view header) {
  if (header.size() < kFrameHeaderBytes) {
    return absl::DataLossError(
        absl::StrCat("tile frame: a header of ", header.size(), " bytes (", kFrameHeaderBytes,
                     " expected)"));
  }
  if (std::memcmp(header.data(), kMagic, 4) != 0) {
    return absl::DataLossError("tile frame: not the edgecompress tile protocol (bad magic)");
  }
  Reader reader(header.substr(4, 8));
  uint8_t version = 0, type = 0;
  uint16_t reserved = 0;
  uint32_t size = 0;
  (void)reader.Get(version, "version");
  (void)reader.Get(type, "type");
  (void)reader.Get(reserved, "reserved");
  (void)reader.Get(size, "size");
  if (version != kWireVersion) {
    return absl::DataLossError(absl::StrCat("tile frame: protocol version ", version,
                                            "; this build speaks ", kWireVersion));
  }
  if (type < 1 || type > 3 || reserved != 0) {
    return absl::DataLossError(absl::StrCat("tile frame: unknown type ", type, " or flags"));
  }
  if (size > kMaxPayloadBytes) {
    return absl::DataLossError(
        absl::StrCat("tile frame: payload of ", size, " bytes over the ", kMaxPayloadBytes, " limit"));
  }
  return size;
}

absl::StatusOr<Frame> DecodeFrame(absl::string_view bytes) {
  ASSIGN_OR_RETURN(const uint32_t size, DecodeFrameHeader(bytes));
  if (bytes.size() != kFrameHeaderBytes + size) {
    return absl::DataLossError(absl::StrCat("tile frame: ", bytes.size() - kFrameHeaderBytes,
                                            " payload bytes where the header says ", size));
  }
  const absl::string_view payload = bytes.substr(kFrameHeaderBytes);
  uint32_t checksum = 0;
  std::memcpy(&checksum, bytes.data() + 12, 4);
  if (checksum != Checksum(bytes.substr(0, 12), payload)) {
    return absl::DataLossError("tile frame: checksum mismatch (corrupted in transit)");
  }
  return Frame{.type = static_cast<FrameType>(bytes[5]), .payload = std::string(payload)};
}

Frame EncodeRunTile(const RunTileRequest& request) {
  Frame frame{.type = FrameType::kRunTile};
  Put<uint64_t>(frame.payload, request.request_id);
  Put<uint32_t>(frame.payload, static_cast<uint32_t>(request.model.size()));
  frame.payload += request.model;
  for (int64_t d : request.shape) Put<int64_t>(frame.payload, d);
  PutFloats(frame.payload, request.input);
  return frame;
}

Frame EncodeTileResult(const TileResult& result) {
  Frame frame{.type = FrameType::kTileResult};
  Put<uint64_t>(frame.payload, result.request_id);
  for (int64_t d : result.shape) Put<int64_t>(frame.payload, d);
  PutFloats(frame.payload, result.output);
  return frame;
}

Frame EncodeError(const ErrorReply& error) {
  Frame frame{.type = FrameType::kError};
  Put<uint64_t>(frame.payload, error.request_id);
  Put<uint32_t>(frame.payload, static_cast<uint32_t>(error.message.size()));
  frame.payload += error.message;
  return frame;
}

absl::StatusOr<RunTileRequest> DecodeRunTile(const Frame& frame) {
  RETURN_IF_ERROR(ExpectType(frame, FrameType::kRunTile, "tile request"));
  Reader reader(frame.payload);
  RunTileRequest request;
  int64_t elements = 0;
  RETURN_IF_ERROR(reader.Get(request.request_id, "request id"));
  RETURN_IF_ERROR(reader.GetString(request.model, "model"));
  RETURN_IF_ERROR(reader.GetShape(request.shape, elements));
  RETURN_IF_ERROR(reader.GetFloats(request.input, elements));
  return request;
}

absl::StatusOr<TileResult> DecodeTileResult(const Frame& frame) {
  RETURN_IF_ERROR(ExpectType(frame, FrameType::kTileResult, "tile result"));
  Reader reader(frame.payload);
  TileResult result;
  int64_t elements = 0;
  RETURN_IF_ERROR(reader.Get(result.request_id, "request id"));
  RETURN_IF_ERROR(reader.GetShape(result.shape, elements));
  RETURN_IF_ERROR(reader.GetFloats(result.output, elements));
  return result;
}

absl::StatusOr<ErrorReply> DecodeError(const Frame& frame) {
  RETURN_IF_ERROR(ExpectType(frame, FrameType::kError, "error reply"));
  Reader reader(frame.payload);
  ErrorReply error;
  RETURN_IF_ERROR(reader.Get(error.request_id, "request id"));
  RETURN_IF_ERROR(reader.GetString(error.message, "message"));
  RETURN_IF_ERROR(reader.Finish());
  return error;
}

}  // namespace edgecompress::partition
