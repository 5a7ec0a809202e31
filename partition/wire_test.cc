#include "partition/wire.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::partition {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

RunTileRequest Request() {
  return {.request_id = 42,
          .model = std::string("\x08\x07onnx\0bytes", 12),
          .shape = {1, 2, 1, 3},
          .input = {1.0f, -2.0f, 3.5f, 0.0f, 1e-8f, -7.0f}};
}

TEST(WireTest, RequestRoundTrips) {
  const std::string bytes = EncodeFrame(EncodeRunTile(Request()));
  ASSERT_EQ(bytes.size(), kFrameHeaderBytes + 8 + 4 + 12 + 32 + 24);
  EXPECT_EQ(bytes.substr(0, 4), "ECTP");
  EXPECT_EQ(bytes[4], kWireVersion);
  absl::StatusOr<Frame> frame = DecodeFrame(bytes);
  ASSERT_THAT(frame, IsOk());
  absl::StatusOr<RunTileRequest> request = DecodeRunTile(*frame);
  ASSERT_THAT(request, IsOk());
  EXPECT_EQ(request->request_id, 42u);
  EXPECT_EQ(request->model, Request().model);
  EXPECT_EQ(request->shape, (std::array<int64_t, 4>{1, 2, 1, 3}));
  EXPECT_EQ(request->input, Request().input);
}

TEST(WireTest, ResultAndErrorRoundTrip) {
  absl::StatusOr<Frame> frame =
      DecodeFrame(EncodeFrame(EncodeTileResult({.request_id = 7, .shape = {1, 1, 1, 2},
                                                .output = {0.5f, 0.25f}})));
  ASSERT_THAT(frame, IsOk());
  absl::StatusOr<TileResult> result = DecodeTileResult(*frame);
  ASSERT_THAT(result, IsOk());
  EXPECT_EQ(result->request_id, 7u);
  EXPECT_THAT(result->output, ElementsAre(0.5f, 0.25f));
  absl::StatusOr<Frame> error_frame =
      DecodeFrame(EncodeFrame(EncodeError({.request_id = 9, .message = "no such op"})));
  ASSERT_THAT(error_frame, IsOk());
  absl::StatusOr<ErrorReply> error = DecodeError(*error_frame);
  ASSERT_THAT(error, IsOk());
  EXPECT_EQ(error->message, "no such op");
  EXPECT_THAT(DecodeTileResult(*error_frame).status().message(), HasSubstr("type 3"));
}

// Every way a frame can be wrong is a kDataLoss status.
TEST(WireTest, RejectsMalformedFrames) {
  const std::string good = EncodeFrame(EncodeRunTile(Request()));
  const auto message = [](const std::string& bytes) {
    absl::StatusOr<Frame> frame = DecodeFrame(bytes);
    if (frame.ok()) return std::string("decoded");
    EXPECT_TRUE(absl::IsDataLoss(frame.status())) << frame.status();
    return std::string(frame.status().message());
  };
  EXPECT_THAT(message("EC"), HasSubstr("header of 2 bytes"));
  std::string bad = good;
  bad[0] = 'X';
  EXPECT_THAT(message(bad), HasSubstr("bad magic"));
  bad = good;
  bad[4] = 9;
  EXPECT_THAT(message(bad), HasSubstr("protocol version 9"));
  bad = good;
  bad[5] = 17;
  EXPECT_THAT(message(bad), HasSubstr("unknown type 17"));
  bad = good;
  bad[11] = '\x7f';  // a length near 2 GiB
  EXPECT_THAT(message(bad), HasSubstr("over the"));
  EXPECT_THAT(message(good.substr(0, good.size() - 1)), HasSubstr("where the header says"));
  bad = good;
  bad[kFrameHeaderBytes + 3] ^= 1;  // one bit of the payload
  EXPECT_THAT(message(bad), HasSubstr("checksum mismatch"));
  bad = good;
  bad[8] ^= 1;  // the length, with the bytes to match: the checksum covers it
  bad.push_back('x');
  EXPECT_THAT(message(bad), HasSubstr("checksum mismatch"));
}

TEST(WireTest, RejectsInconsistentPayloads) {
  RunTileRequest request = Request();
  request.input.pop_back();  // 5 floats for a shape of 6
  absl::StatusOr<RunTileRequest> decoded = DecodeRunTile(EncodeRunTile(request));
  EXPECT_THAT(decoded.status().message(), HasSubstr("20 bytes of floats for a shape of 6"));

  Frame frame = EncodeRunTile(Request());
  frame.payload.resize(10);  // inside the model's length field
  EXPECT_THAT(DecodeRunTile(frame).status().message(), HasSubstr("truncated at model"));

  frame = EncodeRunTile(Request());
  const int64_t negative = -3;
  frame.payload.replace(8 + 4 + 12, 8, reinterpret_cast<const char*>(&negative), 8);
  EXPECT_THAT(DecodeRunTile(frame).status().message(), HasSubstr("dimension -3"));

  frame = EncodeRunTile(Request());
  const int64_t huge = int64_t{1} << 30;
  for (int d = 0; d < 2; ++d) {
    frame.payload.replace(8 + 4 + 12 + 8 * d, 8, reinterpret_cast<const char*>(&huge), 8);
  }
  EXPECT_THAT(DecodeRunTile(frame).status().message(), HasSubstr("more floats"));

  Frame error = EncodeError({.request_id = 1, .message = "x"});
  error.payload += "trailing";
  EXPECT_THAT(DecodeError(error).status().message(), HasSubstr("8 bytes left over"));
}

}  // namespace
}  // namespace edgecompress::partition
