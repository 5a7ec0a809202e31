#!/usr/bin/env bash
# End to end: train_prune --low_rank on the real Fashion-MNIST files. LeNet-5
# trains one epoch dense, then one with fc1 kept at the rank of a 4x
# compression (23: 23 * (120 + 400) = 11,960 <= 48,000 / 4) and conv2 at
# rank 4; model.onnx has both split into their factors and runs on the
# inference runtime (--bench_engine). A recipe's !LowRankModifier does the
# same. Bad rules fail in one line, exit 2.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --epochs=2 --sparsity=0 --threads=2 \
  --low_rank=fc1:4x,conv2:rank=4 --low_rank_start_epoch=1 --bench_engine=dense \
  --bench_min_seconds=0.1 --output_dir="$tmp/run" --out="$tmp/run.json" 2>"$tmp/run.stderr" ||
  fail "train_prune --low_rank exited $?: $(tail -3 "$tmp/run.stderr")"
grep -q "low-rank layers: " "$tmp/run.stderr" || fail "no low-rank line: $(tail -5 "$tmp/run.stderr")"
/usr/bin/python3 - "$tmp/run.json" <<'PY' || fail "low-rank result"
import json, sys
r = json.load(open(sys.argv[1]))
lr = r["low_rank"]
assert lr["active"] and lr["start_epoch"] == 1, lr
layers = {l["layer"]: l for l in lr["layers"]}
fc1, conv2 = layers["fc1"], layers["conv2"]
assert (fc1["rows"], fc1["cols"], fc1["rank"], fc1["rule"]) == (120, 400, 23, "4x"), fc1
assert fc1["weights_after"] == 11960 and abs(fc1["compression"] - 48000 / 11960) < 1e-9, fc1
# conv2: 16 x (6 * 5 * 5) = 16 x 150 at rank 4: 4 * 166 = 664 weights.
assert (conv2["rows"], conv2["cols"], conv2["rank"], conv2["weights_after"]) == (16, 150, 4, 664), conv2
saved = (48000 - 11960) + (2400 - 664)
assert lr["parameters_after"] == lr["parameters_before"] - saved, lr
# Training kept the weights at their ranks, so the split is exact.
assert all(e < 1e-4 for e in lr["onnx_relative_error"].values()), lr["onnx_relative_error"]
assert r["after"]["test_top1"] >= 75, r["after"]
assert r["bench"]["latency_median_ms"] > 0, r["bench"]
print("low-rank:", r["after"]["test_top1"], lr["parameters_before"], "->", lr["parameters_after"])
PY

# The same through a recipe: a !LowRankModifier selects the layers.
cat >"$tmp/low_rank.yaml" <<'YAML'
version: 1
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: 2}
  - !LowRankModifier {params: ['fc[12]'], rank: 'rank=5', start_epoch: 1}
YAML
"$train_prune" --data_dir="$data_dir" --sparsity=0 --threads=2 --recipe="$tmp/low_rank.yaml" \
  --out="$tmp/recipe.json" 2>"$tmp/recipe.stderr" ||
  fail "train_prune --recipe with !LowRankModifier exited $?: $(tail -3 "$tmp/recipe.stderr")"
/usr/bin/python3 - "$tmp/recipe.json" <<'PY' || fail "low-rank recipe result"
import json, sys
lr = json.load(open(sys.argv[1]))["low_rank"]
assert lr["active"] and lr["start_epoch"] == 1, lr
assert {(l["layer"], l["rank"], l["rule"]) for l in lr["layers"]} == {("fc1", 5, "rank=5"), ("fc2", 5, "rank=5")}, lr
PY

expect_bad_flag() {  # expect_bad_flag <substring> <flags...>
  local want="$1"; shift
  local rc=0
  "$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 "$@" \
    >/dev/null 2>"$tmp/bad.stderr" || rc=$?
  ((rc == 2)) || fail "$* exited $rc, want 2: $(cat "$tmp/bad.stderr")"
  grep -q -- "$want" "$tmp/bad.stderr" || fail "$*: no '$want' in: $(cat "$tmp/bad.stderr")"
}
expect_bad_flag "--low_rank entry 'fc1:4': rank rule '4' is none of" --low_rank=fc1:4
expect_bad_flag "no layer 'fc9'" --low_rank=fc9:4x
expect_bad_flag "cannot be combined with pruning" --low_rank=fc1:4x --sparsity=0.5
sed 's/rank=5/five/' "$tmp/low_rank.yaml" >"$tmp/bad_rank.yaml"
expect_bad_flag "bad_rank.yaml:4: !LowRankModifier: rank rule 'five'" --recipe="$tmp/bad_rank.yaml"
echo PASS
