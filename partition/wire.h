// The tile protocol between a gateway and its workers (tile_worker.h,
// gateway.h): one request and one reply per TCP connection, each a frame
//
//   offset  size  field
//        0     4  magic "ECTP"
//        4     1  version (kWireVersion)
//        5     1  type (FrameType)
//        6     2  reserved, 0
//        8     4  payload bytes, little-endian, at most kMaxPayloadBytes
//       12     4  CRC-32 (zlib's) of bytes 0..11 and the payload
//       16     n  payload
//
// and the payloads, all little-endian:
//   kRunTile     u64 request id, u32 model bytes, the tile's ONNX model,
//                4 x i64 input shape (NCHW), the input floats;
//   kTileResult  u64 request id, 4 x i64 output shape, the output floats;
//   kError       u64 request id, u32 bytes, a one-line message.
// No gRPC or protobuf framing: a version byte lets a gateway refuse a worker
// of another protocol, and the checksum catches a corrupted or
// misinterpreted stream before any size in it is trusted beyond the header's
// bound. Every decoder checks every size against what is left, so a
// malformed or truncated frame is a kDataLoss status, never a crash or an
// allocation the frame did not pay for.
#ifndef EDGECOMPRESS_PARTITION_WIRE_H_
#define EDGECOMPRESS_PARTITION_WIRE_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace edgecompress::partition {

inline constexpr uint8_t kWireVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 16;
inline constexpr uint32_t kMaxPayloadBytes = 256u << 20;

enum class FrameType : uint8_t { kRunTile = 1, kTileResult = 2, kError = 3 };

struct Frame {
  FrameType type = FrameType::kError;
  std::string payload;
};

// Header and payload; the payload must fit kMaxPayloadBytes (asserted).
std::string EncodeFrame(const Frame& frame);

// The payload length a valid header announces; kDataLoss for a wrong magic,
// version, type, reserved bytes or a length over kMaxPayloadBytes.
absl::StatusOr<uint32_t> DecodeFrameHeader(absl::string_view header);

// A whole frame (header and exactly its payload); kDataLoss as above, for a
// length that disagrees with the bytes, or a checksum mismatch.
absl::StatusOr<Frame> DecodeFrame(absl::string_view bytes);

struct RunTileRequest {
  uint64_t request_id = 0;
  std::string model;  // serialized ONNX ModelProto
  std::array<int64_t, 4> shape = {};
  std::vector<float> input;  // shape's product
};

struct TileResult {
  uint64_t request_id = 0;
  std::array<int64_t, 4> shape = {};
  std::vector<float> output;
};

struct ErrorReply {
  uint64_t request_id = 0;
  std::string message;
};

Frame EncodeRunTile(const RunTileRequest& request);
Frame EncodeTileResult(const TileResult& result);
Frame EncodeError(const ErrorReply& error);

// kDataLoss naming the field for a wrong frame type, a truncated or
// over-long payload, a negative dimension, or floats that do not match the
// shape.
absl::StatusOr<RunTileRequest> DecodeRunTile(const Frame& frame);
absl::StatusOr<TileResult> DecodeTileResult(const Frame& frame);
absl::StatusOr<ErrorReply> DecodeError(const Frame& frame);

}  // namespace edgecompress::partition

#endif  // EDGECOMPRESS_PARTITION_WIRE_H_
