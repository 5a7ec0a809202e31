#include "tools/sweep/sync.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "metrics/spool.h"

namespace edgecompress::tools {

std::vector<std::string> FindRunDirectories(const std::string& sweep_dir) {
  namespace fs = std::filesystem;
  std::vector<std::string> runs;
  std::error_code error;
  // Trials may hold large outputs (checkpoints, datasets links): bounded
  // depth, no symlinks followed, unreadable folders skipped.
  fs::recursive_directory_iterator it(fs::path(sweep_dir) / "trials",
                                      fs::directory_options::skip_permission_denied, error);
  for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it.depth() >= 4) it.disable_recursion_pending();
    if (it->is_regular_file(error) && it->path().filename() == metrics::kSpoolFileName) {
      runs.push_back(it->path().parent_path().string());
    }
  }
  std::sort(runs.begin(), runs.end());
  return runs;
}

SweepSyncResult SyncSweep(const std::string& sweep_dir, const metrics::SyncOptions& options) {
  SweepSyncResult result;
  for (const std::string& run : FindRunDirectories(sweep_dir)) {
    ++result.runs;
    if (absl::Status synced = metrics::SyncRunDirectory(run, options); !synced.ok()) {
      result.failures.push_back(absl::StrCat(run, ": ", synced.message()));
    }
  }
  return result;
}

}  // namespace edgecompress::tools
