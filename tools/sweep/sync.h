// `sweep sync`: uploads what the trials of a sweep left in their metrics run
// directories (train_prune's <output_dir>/wandb, bench's --metrics_dir; any
// folder holding metrics' spool.jsonl) to a W&B-compatible endpoint, after
// the endpoint was down or absent during the sweep. Exactly-once delivery
// comes from the spool's acknowledged offsets (metrics/spool.h): a second
// sync sends nothing, and a run that is still being written by a live trial
// is left to that trial (its upload lock is held: kUnavailable, reported).
#ifndef EDGECOMPRESS_TOOLS_SWEEP_SYNC_H_
#define EDGECOMPRESS_TOOLS_SWEEP_SYNC_H_

#include <string>
#include <vector>

#include "metrics/metrics_run.h"

namespace edgecompress::tools {

// Run directories under <sweep_dir>/trials, at most 4 levels down, sorted.
std::vector<std::string> FindRunDirectories(const std::string& sweep_dir);

struct SweepSyncResult {
  int runs = 0;                       // run directories found
  std::vector<std::string> failures;  // "<run directory>: <why>", one per run not synced
};

SweepSyncResult SyncSweep(const std::string& sweep_dir, const metrics::SyncOptions& options);

}  // namespace edgecompress::tools

#endif  // EDGECOMPRESS_TOOLS_SWEEP_SYNC_H_
