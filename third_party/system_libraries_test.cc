// Proves that every system library third_party/ declares compiles, links and
// works through its Bazel glue, before any package relies on it: a YAML
// recipe parses, an ONNX model round-trips and passes the checker, SQLite
// answers a query, and an HTTP request crosses loopback from cpp-httplib and
// from libcurl to a cpp-httplib server. (LibTorch, XNNPACK, Eigen, Abseil,
// GoogleTest, Benchmark, nlohmann-json and zlib are exercised by the packages.)
#include <curl/curl.h>
#include <httplib.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <sqlite3.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace {

TEST(YamlCppTest, ParsesARecipe) {
  const YAML::Node recipe = YAML::Load(
      "version: 1\n"
      "modifiers:\n"
      "  - !GMPruningModifier {start_epoch: 0, end_epoch: 40, final_sparsity: 0.95}\n");
  EXPECT_EQ(recipe["version"].as<int>(), 1);
  const YAML::Node modifier = recipe["modifiers"][0];
  EXPECT_EQ(modifier.Tag(), "!GMPruningModifier");
  EXPECT_DOUBLE_EQ(modifier["final_sparsity"].as<double>(), 0.95);
  EXPECT_EQ(modifier.Mark().line, 2);  // errors can name the YAML line
}

onnx::ValueInfoProto FloatTensor(const std::string& name, int64_t size) {
  onnx::ValueInfoProto value;
  value.set_name(name);
  onnx::TypeProto::Tensor* tensor = value.mutable_type()->mutable_tensor_type();
  tensor->set_elem_type(onnx::TensorProto::FLOAT);
  tensor->mutable_shape()->add_dim()->set_dim_value(size);
  return value;
}

TEST(OnnxTest, ModelRoundTripsAndPassesTheChecker) {
  onnx::ModelProto model;
  model.set_ir_version(onnx::IR_VERSION);
  model.add_opset_import()->set_version(13);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name("relu");
  onnx::NodeProto* node = graph->add_node();
  node->set_op_type("Relu");
  node->add_input("x");
  node->add_output("y");
  *graph->add_input() = FloatTensor("x", 4);
  *graph->add_output() = FloatTensor("y", 4);

  std::string bytes;
  ASSERT_TRUE(model.SerializeToString(&bytes));
  onnx::ModelProto parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  EXPECT_EQ(parsed.graph().node(0).op_type(), "Relu");
  EXPECT_NO_THROW(onnx::checker::check_model(parsed));

  parsed.mutable_graph()->mutable_node(0)->set_op_type("NoSuchOperator");
  EXPECT_THROW(onnx::checker::check_model(parsed), onnx::checker::ValidationError);
}

TEST(SqliteTest, AnswersAQueryInMemory) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE trials (id INTEGER, top1 REAL);"
                         "INSERT INTO trials VALUES (1, 86.5), (2, 91.0);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT MAX(top1) FROM trials", -1, &statement, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(statement), SQLITE_ROW);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(statement, 0), 91.0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
}

size_t AppendToString(char* data, size_t size, size_t count, void* out) {
  static_cast<std::string*>(out)->append(data, size * count);
  return size * count;
}

// One server on a free loopback port; one request from each client.
TEST(HttpTest, HttplibAndCurlTalkOverLoopback) {
  httplib::Server server;
  server.Post("/echo", [](const httplib::Request& request, httplib::Response& response) {
    response.set_content("got " + request.body, "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread thread([&server] { server.listen_after_bind(); });
  // Debian's cpp-httplib 0.11 has no wait_until_ready(): poll, for 5 s at most.
  for (int i = 0; i < 500 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(server.is_running());

  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  const httplib::Result result = client.Post("/echo", "row 1", "text/plain");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->body, "got row 1");

  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  CURL* curl = curl_easy_init();
  ASSERT_NE(curl, nullptr);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/echo";
  std::string body;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "row 2");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, AppendToString);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  EXPECT_EQ(body, "got row 2");
  curl_easy_cleanup(curl);
  curl_global_cleanup();

  server.stop();
  thread.join();
}

}  // namespace
