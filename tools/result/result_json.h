// The JSON every tool writes: `schema_version`, a `context` block saying how
// the numbers were made, and the numbers. Modelled on Google Benchmark's
// JSON reporter; readers must ignore fields they do not know, so adding a
// field never bumps the schema version (removing or changing one does).
//
//   {"schema_version": 1,
//    "context": {"tool": "train_prune", "build_type": "opt", "host": "...",
//                "machine": "aarch64", "date": "2026-11-23T19:27:46Z", "seed": 1,
//                "flags": {"epochs": "1", ...}},
//    ...tool-specific fields...}
#ifndef EDGECOMPRESS_TOOLS_RESULT_RESULT_JSON_H_
#define EDGECOMPRESS_TOOLS_RESULT_RESULT_JSON_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace edgecompress::tools {

inline constexpr int kResultSchemaVersion = 1;

// A result with `schema_version` and `context` filled in; `flags` are the
// tool's flag values by name, as strings.
nlohmann::json NewResult(absl::string_view tool, uint64_t seed,
                         const std::map<std::string, std::string>& flags);

// Writes `json` (pretty, newline-terminated) atomically (tools/io/atomic_file.h);
// errors name the path.
absl::Status WriteJsonFile(absl::string_view path, const nlohmann::json& json);

// A tool's --out: WriteJsonFile(path, json), or `json` the same way on
// stdout when `path` is empty.
absl::Status WriteResult(absl::string_view path, const nlohmann::json& json);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_RESULT_RESULT_JSON_H_
