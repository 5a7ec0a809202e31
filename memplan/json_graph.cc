#include "memplan/json_graph.h"

#include <initializer_list>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tools/status/status_macros.h"

namespace edgecompress::memplan {
namespace {

using Json = nlohmann::json;

class JsonGraphParser {
 public:
  explicit JsonGraphParser(absl::string_view source) : source_(source) {}

  absl::StatusOr<GraphSpec> Parse(const Json& root) {
    RETURN_IF_ERROR(
        CheckKeys(root, "", {"tensors", "operators", "inputs", "outputs", "constants"}));
    GraphSpec spec;
    ASSIGN_OR_RETURN(const Json* tensors, RequiredArray(root, "", "tensors"));
    for (size_t i = 0; i < tensors->size(); ++i) {
      const Json& tensor = (*tensors)[i];
      const std::string path = absl::StrCat("/tensors/", i);
      RETURN_IF_ERROR(CheckKeys(tensor, path, {"name", "size_bytes"}));
      TensorSpec tensor_spec;
      ASSIGN_OR_RETURN(tensor_spec.name, RequiredString(tensor, path, "name"));
      auto size = tensor.find("size_bytes");
      if (size == tensor.end() || !size->is_number_integer()) {
        return Error(absl::StrCat(path, "/size_bytes"), "must be an integer number of bytes");
      }
      tensor_spec.size_bytes = size->get<int64_t>();
      spec.tensors.push_back(std::move(tensor_spec));
    }
    ASSIGN_OR_RETURN(const Json* operators, RequiredArray(root, "", "operators"));
    for (size_t i = 0; i < operators->size(); ++i) {
      const Json& op = (*operators)[i];
      const std::string path = absl::StrCat("/operators/", i);
      RETURN_IF_ERROR(
          CheckKeys(op, path, {"name", "type", "inputs", "outputs", "in_place_capable"}));
      OperatorSpec op_spec;
      ASSIGN_OR_RETURN(op_spec.name, RequiredString(op, path, "name"));
      if (op.contains("type")) {
        ASSIGN_OR_RETURN(op_spec.type, RequiredString(op, path, "type"));
      }
      ASSIGN_OR_RETURN(op_spec.inputs, StringList(op, path, "inputs", /*required=*/true));
      ASSIGN_OR_RETURN(op_spec.outputs, StringList(op, path, "outputs", /*required=*/true));
      if (auto in_place = op.find("in_place_capable"); in_place != op.end()) {
        if (!in_place->is_boolean()) {
          return Error(absl::StrCat(path, "/in_place_capable"), "must be true or false");
        }
        op_spec.in_place_capable = in_place->get<bool>();
      }
      spec.operators.push_back(std::move(op_spec));
    }
    ASSIGN_OR_RETURN(spec.inputs, StringList(root, "", "inputs", /*required=*/false));
    ASSIGN_OR_RETURN(spec.outputs, StringList(root, "", "outputs", /*required=*/false));
    ASSIGN_OR_RETURN(spec.constants, StringList(root, "", "constants", /*required=*/false));
    return spec;
  }

 private:
  absl::Status Error(absl::string_view path, absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ": ", path.empty() ? "/" : path, " ", what));
  }

  absl::Status CheckKeys(const Json& object, absl::string_view path,
                         std::initializer_list<absl::string_view> known) const {
    if (!object.is_object()) return Error(path, "must be an object");
    for (const auto& [key, value] : object.items()) {
      bool is_known = false;
      for (absl::string_view name : known) is_known = is_known || key == name;
      if (!is_known) return Error(path, absl::StrCat("has unknown key \"", key, "\""));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<const Json*> RequiredArray(const Json& object, absl::string_view path,
                                            absl::string_view key) const {
    auto it = object.find(std::string(key));
    if (it == object.end()) return Error(path, absl::StrCat("lacks the key \"", key, "\""));
    if (!it->is_array()) return Error(absl::StrCat(path, "/", key), "must be an array");
    return &*it;
  }

  absl::StatusOr<std::string> RequiredString(const Json& object, absl::string_view path,
                                             absl::string_view key) const {
    auto it = object.find(std::string(key));
    if (it == object.end()) return Error(path, absl::StrCat("lacks the key \"", key, "\""));
    if (!it->is_string()) return Error(absl::StrCat(path, "/", key), "must be a string");
    return it->get<std::string>();
  }

  absl::StatusOr<std::vector<std::string>> StringList(const Json& object, absl::string_view path,
                                                      absl::string_view key,
                                                      bool required) const {
    std::vector<std::string> list;
    if (!required && !object.contains(std::string(key))) return list;
    ASSIGN_OR_RETURN(const Json* array, RequiredArray(object, path, key));
    for (size_t i = 0; i < array->size(); ++i) {
      if (!(*array)[i].is_string()) {
        return Error(absl::StrCat(path, "/", key, "/", i), "must be a string");
      }
      list.push_back((*array)[i].get<std::string>());
    }
    return list;
  }

  const absl::string_view source_;
};

}  // namespace

absl::StatusOr<GraphSpec> ParseJsonGraph(absl::string_view text, absl::string_view source) {
  Json root;
  try {
    root = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    return absl::DataLossError(
        absl::StrCat(source, ": not valid JSON at byte ", error.byte));
  }
  return JsonGraphParser(source).Parse(root);
}

}  // namespace edgecompress::memplan
