#include "tools/npy/npy.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::npy {
namespace {

using ::edgecompress::IsOk;
using ::edgecompress::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// numpy 1.24.2: np.save(f, np.arange(6, dtype=np.float32).reshape(2, 3))
// writes this 128-byte header (58 spaces of padding), then 24 bytes of data.
std::string NumpyHeader(const std::string& shape) {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }";
  std::string header = std::string("\x93NUMPY\x01\x00v\x00", 10) + dict;
  header.append(127 - header.size(), ' ');
  return header + "\n";
}

std::string Floats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

TEST(NpyTest, WritesWhatNumpyWrites) {
  const std::vector<float> values = {0, 1, 2, 3, 4, 5};
  absl::StatusOr<std::string> bytes = SerializeNpy({2, 3}, values);
  ASSERT_THAT(bytes.status(), IsOk());
  EXPECT_EQ(*bytes, NumpyHeader("(2, 3)") + Floats(values));
  // np.save of np.zeros((5,), np.float32) and of np.float32(2.5).
  EXPECT_EQ(*SerializeNpy({5}, std::vector<float>(5, 0.0f)),
            NumpyHeader("(5,)") + Floats(std::vector<float>(5, 0.0f)));
  EXPECT_EQ(*SerializeNpy({}, std::vector<float>{2.5f}), NumpyHeader("()") + Floats({2.5f}));
}

TEST(NpyTest, RoundTrips) {
  for (const std::vector<size_t>& shape :
       std::vector<std::vector<size_t>>{{}, {1}, {7}, {2, 3}, {1, 3, 4, 5}, {0, 4}}) {
    size_t count = 1;
    for (size_t d : shape) count *= d;
    std::vector<float> values(count);
    for (size_t i = 0; i < count; ++i) values[i] = 0.5f * static_cast<float>(i) - 3.0f;
    absl::StatusOr<std::string> bytes = SerializeNpy(shape, values);
    ASSERT_THAT(bytes.status(), IsOk());
    EXPECT_EQ(bytes->size() % 64, count * sizeof(float) % 64) << "data starts 64-aligned";
    absl::StatusOr<NpyArray> array = ParseNpy(*bytes);
    ASSERT_THAT(array.status(), IsOk());
    EXPECT_EQ(array->shape, shape);
    EXPECT_EQ(array->values, values);
  }
}

TEST(NpyTest, ReadsVersion2Headers) {
  // Version 2.0: a 4-byte header length.
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
  std::string bytes = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t length = static_cast<uint32_t>(dict.size());
  bytes.append(reinterpret_cast<const char*>(&length), 4);
  bytes += dict + Floats({1.5f, -2.0f});
  absl::StatusOr<NpyArray> array = ParseNpy(bytes);
  ASSERT_THAT(array.status(), IsOk());
  EXPECT_THAT(array->shape, ElementsAre(2));
  EXPECT_THAT(array->values, ElementsAre(1.5f, -2.0f));
}

TEST(NpyTest, RejectsWhatItCannotRead) {
  const std::string good = NumpyHeader("(2, 3)") + Floats(std::vector<float>(6, 1.0f));
  EXPECT_THAT(ParseNpy("not npy", "x.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("x.npy")));
  EXPECT_THAT(ParseNpy(good.substr(0, good.size() - 1), "t.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("needs 24 bytes")));
  EXPECT_THAT(ParseNpy(good.substr(0, 40), "t.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("header of")));
  std::string f8 = good;
  f8.replace(f8.find("<f4"), 3, "<f8");
  EXPECT_THAT(ParseNpy(f8, "d.npy"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("'<f8'")));
  std::string fortran = NumpyHeader("(2, 3)");
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_THAT(ParseNpy(fortran + Floats(std::vector<float>(6)), "f.npy"),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("fortran_order")));
  std::string bad_shape = good;
  bad_shape.replace(bad_shape.find("(2, 3)"), 6, "(2, x)");
  EXPECT_THAT(ParseNpy(bad_shape, "s.npy"),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("'x'")));
  std::string version = good;
  version[6] = '\x04';
  EXPECT_THAT(ParseNpy(version, "v.npy"), StatusIs(absl::StatusCode::kUnimplemented));
  EXPECT_THAT(SerializeNpy({2, 2}, std::vector<float>(3)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadNpyFile("/nonexistent/x.npy").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/x.npy")));
}

TEST(NpyTest, FilesRoundTrip) {
  const std::string path = ::testing::TempDir() + "/a.npy";
  ASSERT_THAT(WriteNpyFile(path, {3}, std::vector<float>{1, 2, 3}), IsOk());
  absl::StatusOr<NpyArray> array = ReadNpyFile(path);
  ASSERT_THAT(array.status(), IsOk());
  EXPECT_THAT(array->values, ElementsAre(1, 2, 3));
}

}  // namespace
}  // namespace edgecompress::npy
