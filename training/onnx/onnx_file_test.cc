#include "training/onnx/onnx_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/status/status_matchers.h"

namespace edgecompress::training {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

onnx::ModelProto TinyModel() {
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("relu");
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type("Relu");
  node->add_input("x");
  node->add_output("y");
  return model;
}

TEST(OnnxFileTest, WritesAtomicallyAndReadsBack) {
  const std::string path = TempPath("tiny.onnx");
  { std::ofstream(path) << "an older file"; }
  ASSERT_THAT(WriteOnnxFile(TinyModel(), path), IsOk());
  absl::StatusOr<onnx::ModelProto> read = ReadOnnxFile(path);
  ASSERT_THAT(read, IsOk());
  EXPECT_EQ(read->SerializeAsString(), TinyModel().SerializeAsString());
  // Only the target is left: the temporary file was renamed over it.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(TempPath(""))) {
    files += entry.path().filename().string().rfind("tiny.onnx", 0) == 0;
  }
  EXPECT_EQ(files, 1);
}

TEST(OnnxFileTest, ErrorsNameThePath) {
  const std::string missing_dir = TempPath("no/such/dir/model.onnx");
  EXPECT_THAT(WriteOnnxFile(TinyModel(), missing_dir),
              StatusIs(absl::StatusCode::kNotFound, StartsWith(missing_dir + ": cannot create")));
  EXPECT_THAT(ReadOnnxFile(missing_dir),
              StatusIs(absl::StatusCode::kNotFound, StartsWith(missing_dir)));

  for (const char* contents : {"", "\xff\xff\xff garbage"}) {
    SCOPED_TRACE(contents);
    const std::string path = TempPath("garbage.onnx");
    { std::ofstream(path, std::ios::binary) << contents; }
    EXPECT_THAT(ReadOnnxFile(path),
                StatusIs(absl::StatusCode::kDataLoss, HasSubstr(path + ": not a serialized ONNX")));
  }
}

}  // namespace
}  // namespace edgecompress::training
