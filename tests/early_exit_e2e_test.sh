#!/usr/bin/env bash
# End to end: train_prune writes model_exits.onnx for an early-exit model
# (resnet20 --exit_stages=0,1, evaluated untrained: --epochs=0 keeps the test
# short), and exit_bench sweeps thresholds on 500 Fashion-MNIST test images. With
# threshold 0 every image leaves at the first exit, with 1 none does; shares,
# accuracies and the latency model must agree with that, the chosen
# threshold is run for real, the SVG is written, and bad input fails with
# one line.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
exit_bench="$TEST_SRCDIR/edgecompress/tools/bench/exit_bench"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --model=resnet20 --exit_stages=0,1 --data_dir="$data_dir" --epochs=0 --sparsity=0 \
  --output_dir="$tmp/ee" --out="$tmp/ee.json" 2>"$tmp/train.err" ||
  fail "train_prune exited $?: $(tail -3 "$tmp/train.err")"
[[ -s "$tmp/ee/model_exits.onnx" ]] || fail "no model_exits.onnx"
"$exit_bench" --model="$tmp/ee/model_exits.onnx" --data_dir="$data_dir" --samples=500 \
  --thresholds=0,0.5,1 --max_top1_drop=100 --min_reps=5 --min_seconds=0 --warmup=1 \
  --svg="$tmp/exits.svg" --out="$tmp/exits.json" 2>"$tmp/bench.err" ||
  fail "exit_bench exited $?: $(cat "$tmp/bench.err")"
cat "$tmp/bench.err"
grep -q "<svg" "$tmp/exits.svg" || fail "no SVG"
/usr/bin/python3 - "$tmp/exits.json" "$tmp/ee.json" <<'PY' || fail "exit_bench result"
import json, math, sys
r, trained = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert r["context"]["tool"] == "exit_bench" and r["samples"] == 500, r["context"]
assert len(r["exit_top1"]) == 3 and len(r["segment_ms"]) == 3 and len(r["head_ms"]) == 2, r
assert trained["exits"]["num_exits"] == 3, trained["exits"]
rows = {row["threshold"]: row for row in r["thresholds"]}
seg, head = r["segment_ms"], r["head_ms"]
first = seg[0] + head[0]
everything = sum(seg) + sum(head)
# Threshold 0: everyone leaves at exit 0; 1: nobody leaves early (confidence < 1).
assert rows[0]["exit_shares"] == [1, 0, 0], rows[0]
assert math.isclose(rows[0]["top1"], r["exit_top1"][0]), (rows[0], r["exit_top1"])
assert math.isclose(rows[0]["mean_latency_ms"], first, rel_tol=1e-9), (rows[0], first)
assert rows[1]["exit_shares"] == [0, 0, 1], rows[1]
assert math.isclose(rows[1]["top1"], r["exit_top1"][2]), rows[1]
assert math.isclose(rows[1]["mean_latency_ms"], everything, rel_tol=1e-9), rows[1]
for row in r["thresholds"]:
    assert math.isclose(sum(row["exit_shares"]), 1.0), row
    assert math.isclose(row["latency_ratio"], row["mean_latency_ms"] / r["baseline_ms"]), row
# The fastest threshold within 100 points is 0, and it was run for real.
chosen = r["chosen"]
assert chosen["threshold"] == 0 and chosen["measured_exit_ms"] > 0, chosen
assert chosen["measured_ratio"] < 1, chosen  # stopping after the first stage is cheaper
print("exit_bench:", r["exit_top1"], round(chosen["measured_ratio"], 2))
PY

expect_bad() {  # expect_bad <substring> <flags...>
  local want="$1"; shift
  local rc=0
  "$exit_bench" --data_dir="$data_dir" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
  ((rc == 2)) || fail "$* exited $rc, want 2: $(cat "$tmp/bad.err")"
  (($(wc -l <"$tmp/bad.err") == 1)) || fail "$*: more than one line: $(cat "$tmp/bad.err")"
  grep -q -- "$want" "$tmp/bad.err" || fail "$*: no '$want' in: $(cat "$tmp/bad.err")"
}
expect_bad "at least one side exit" --model="$tmp/ee/model.onnx"
expect_bad "'1.5' is not in" --model="$tmp/ee/model_exits.onnx" --thresholds=0.5,1.5
expect_bad "missing.onnx" --model="$tmp/missing.onnx"
echo PASS
