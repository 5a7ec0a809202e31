#!/usr/bin/env bash
# End to end: `sweep` as a user runs it. With a fake trial program (fast):
# a grid over 2 workers and its outputs, a bad config's one-line error, a
# controller killed mid-sweep and resumed without repeating finished trials,
# and the controller's overhead per trial. Then one real train_prune trial.
set -euo pipefail

sweep="$TEST_SRCDIR/edgecompress/tools/sweep/sweep"
fake="$TEST_SRCDIR/edgecompress/sweep/testdata/fake_trial.sh"
train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. A grid of 6 points on 2 workers.
cat >"$tmp/grid.yaml" <<YAML
program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  x: {values: [1, 2, 3, 4, 5]}
  mode: {values: [ok]}
  iterations: {value: 2}
YAML
"$sweep" run --config="$tmp/grid.yaml" --dir="$tmp/grid" --workers=2 --program="$fake" \
  2>"$tmp/grid.err" || fail "grid sweep exited $?: $(cat "$tmp/grid.err")"
grep -q '^sweep: 5/5 done (0 failed), 0 running, best after.score 10 (trial 2)' "$tmp/grid.err" ||
  fail "no final progress line: $(cat "$tmp/grid.err")"
grep -q '^best: trial 2, after.score 10' "$tmp/grid.err" || fail "no best line in the table"
for f in results.json results.csv report.html sweep.db trials/4/log.txt trials/4/result.json; do
  [[ -s "$tmp/grid/$f" ]] || fail "missing $f"
done
[[ $(wc -l <"$tmp/grid/results.csv") == 6 ]] || fail "results.csv has not 1 + 5 lines"
grep -q '"best": 2' "$tmp/grid/results.json" || fail "results.json does not name trial 2 best"
grep -q '<svg' "$tmp/grid/report.html" || fail "report.html has no SVG"
# A second run into the same folder is refused: resume is the way on.
set +e
"$sweep" run --config="$tmp/grid.yaml" --dir="$tmp/grid" --program="$fake" 2>"$tmp/again.err"
code=$?
set -e
[[ $code == 2 ]] || fail "run into a used folder exited $code"
grep -q "sweep resume" "$tmp/again.err" || fail "no hint to resume: $(cat "$tmp/again.err")"

# 2. A bad config: exit 2, one line naming file and line.
printf 'program: fake\nmethod: grid\nparameters:\n  x: {valuez: [1]}\n' >"$tmp/bad.yaml"
set +e
"$sweep" run --config="$tmp/bad.yaml" --dir="$tmp/bad" 2>"$tmp/bad.err"
code=$?
set -e
[[ $code == 2 ]] || fail "bad config exited $code"
[[ $(wc -l <"$tmp/bad.err") == 1 ]] || fail "error is not one line: $(cat "$tmp/bad.err")"
grep -q "bad.yaml:4: unknown key 'valuez'" "$tmp/bad.err" || fail "error: $(cat "$tmp/bad.err")"
echo "bad config: $(cat "$tmp/bad.err")"

# 3. Kill the controller during the sweep, then resume.
cat >"$tmp/slow.yaml" <<YAML
program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  x: {values: [1, 2, 3, 4, 5, 6]}
  iterations: {value: 2}
  sleep_s: {value: 0.4}
YAML
export FAKE_TRIAL_INVOCATIONS="$tmp/invocations.txt"
"$sweep" run --config="$tmp/slow.yaml" --dir="$tmp/slow" --workers=2 --program="$fake" \
  2>"$tmp/slow.err" &
controller=$!
for _ in $(seq 100); do
  grep -q '^sweep: [2-9]/6 done' "$tmp/slow.err" 2>/dev/null && break
  sleep 0.1
done
kill -9 "$controller"
wait "$controller" 2>/dev/null || true
before=$(grep -c '^sweep: .*/6 done' "$tmp/slow.err" || true)
[[ $before -ge 2 && $before -lt 6 ]] || fail "killed after $before trials; expected 2..5"
"$sweep" resume --dir="$tmp/slow" --workers=2 2>"$tmp/resume.err" ||
  fail "resume exited $?: $(cat "$tmp/resume.err")"
unset FAKE_TRIAL_INVOCATIONS
finished=$(grep -c ' finished ' "$tmp/resume.err" || true)
[[ $finished == 6 ]] || fail "$finished of 6 trials finished after resume: $(cat "$tmp/resume.err")"
# Each finished trial ran once; only the ones cut off by the kill ran twice.
runs=$(wc -l <"$tmp/invocations.txt")
[[ $runs -le $((6 + 2)) ]] || fail "$runs runs for 6 trials: finished trials were repeated"
echo "killed after $before finished trials; resume completed 6 with $runs runs in all"

# 4. Controller overhead per trial: 40 instant trials on 2 workers (no
# assertion on time; the machine may be loaded).
cat >"$tmp/fast.yaml" <<YAML
program: fake
method: grid
parameters:
  x: {distribution: int_uniform, min: 1, max: 40}
  iterations: {value: 0}
YAML
start=$(date +%s.%N)
"$sweep" run --config="$tmp/fast.yaml" --dir="$tmp/fast" --workers=2 --program="$fake" 2>/dev/null ||
  fail "fast sweep failed"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" 'BEGIN { printf "40 instant trials on 2 workers: %.3f s wall, %.0f ms per trial\n", e - s, (e - s) / 40 * 1000 }'

# 5. Real train_prune trials that also measure their model's latency
# (--bench_engine): a two-objective sweep, accuracy up and latency down,
# with the Pareto front in the results (1 epoch each, 50% and 90% sparsity).
cat >"$tmp/real.yaml" <<YAML
program: train_prune
method: grid
metric:
  - {name: after.test_top1, goal: maximize}
  - {name: bench.latency_median_ms, goal: minimize}
command: ["\${program}", "\${args}", "--data_dir=$data_dir", "--threads=1", "--output_dir=.",
          "--bench_engine=sparse", "--bench_min_seconds=0.2", "--out=\${out}"]
parameters:
  epochs: {value: 1}
  sparsity: {values: [0.5, 0.9]}
YAML
"$sweep" run --config="$tmp/real.yaml" --dir="$tmp/real" --program="$train_prune" 2>"$tmp/real.err" ||
  fail "real sweep exited $?: $(cat "$tmp/real.err")"
cat "$tmp/real.err" | tail -4
[[ $(grep -c ' finished ' "$tmp/real.err") == 2 ]] || fail "train_prune trials did not finish"
/usr/bin/python3 - "$tmp/real/results.json" <<'PY' || fail "real sweep results"
import json, sys
r = json.load(open(sys.argv[1]))
trials = r["trials"]
assert len(trials) == 2, trials
for t in trials:
    m = t["metrics"]
    assert m["after.test_top1"] >= 80, t
    assert 0 < m["bench.latency_median_ms"] < 100, t
assert 1 <= len(r["pareto_front"]) <= 2, r["pareto_front"]
print("accuracy/latency trials:", [(t["id"], t["metrics"]) for t in trials], "front", r["pareto_front"])
PY
# Each trial's run directory holds its training and bench metrics (one run).
grep -q 'bench/sparse/latency_median_ms' "$tmp/real/trials/0/wandb/spool.jsonl" ||
  fail "trial 0's metrics run has no bench summary"
echo "PASS"
