#!/usr/bin/env bash
# End to end: gradual magnitude pruning with train_prune as a user runs it.
# One epoch of GMP to 50% on Fashion-MNIST LeNet-5, then a resume to epoch 2;
# checks the artifacts, the exact zero count and the JSON figures.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
run="$TEST_TMPDIR/run"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0.5 --initial_sparsity=0.1 \
  --prune_end_epoch=0.5 --output_dir="$run" --out="$TEST_TMPDIR/first.json" 2>"$TEST_TMPDIR/log" ||
  fail "train_prune exited $?: $(cat "$TEST_TMPDIR/log")"
for artifact in result.json checkpoint.pt model.onnx sparsity.txt sparsity.svg accuracy.svg; do
  [[ -s "$run/$artifact" ]] || fail "missing $artifact"
done
grep -q "^total " "$TEST_TMPDIR/log" || fail "no sparsity table on stderr"

/usr/bin/python3 - "$TEST_TMPDIR/first.json" "$run/result.json" <<'PY'
import json, sys
first, saved = (json.load(open(p)) for p in sys.argv[1:3])
assert first == saved, "--out and result.json differ"
r = first["sparsity_report"]
pruned = {l["name"]: l for l in r["layers"]}
# Global 50% over conv2, fc1, fc2 (2,400 + 48,000 + 10,080 weights): exactly
# floor(0.5 * 60,480) = 30,240 zeros; conv1 and fc3 stay dense.
assert sum(pruned[n]["zeros"] for n in ("conv2", "fc1", "fc2")) == 30240, r
assert pruned["conv1"]["zeros"] == 0 and pruned["fc3"]["zeros"] == 0, r
assert r["sparse_bytes"] < r["dense_bytes"] and r["effective_macs"] < r["dense_macs"], r
assert first["pruning"][0]["parameters"] == ["conv2.weight", "fc1.weight", "fc2.weight"]
assert first["after"]["test_top1"] > 80, first["after"]
assert first["onnx_bytes"] > 4 * 61706, first["onnx_bytes"]
assert len(first["epochs"]) == 1 and abs(first["epochs"][0]["sparsity"] - 0.5) < 1e-9
print("GMP 50%%: test top-1 %.2f%%, %d of %d bytes" %
      (first["after"]["test_top1"], r["sparse_bytes"], r["dense_bytes"]))
PY
# No W&B server configured: the metrics still land in the run directory.
/usr/bin/python3 - "$run/wandb/spool.jsonl" "$TEST_TMPDIR/first.json" <<'PY'
import json, sys
records = [json.loads(line) for line in open(sys.argv[1])]
result = json.load(open(sys.argv[2]))
kinds = [r["type"] for r in records]
assert kinds[0] == "run" and kinds.count("history") == 1, kinds
row = json.loads(next(r for r in records if r["type"] == "history")["line"])
assert row["_step"] == 1 and row["val_top1"] == result["epochs"][0]["val_top1"], row
summary = [json.loads(r["line"]) for r in records if r["type"] == "summary"]
assert summary and summary[-1]["test_top1"] == result["after"]["test_top1"], summary
assert any(r["type"] == "complete" for r in records), kinds
print("run directory: %d records, %s" % (len(records), kinds))
PY

# Resume: a 2-epoch run continues from the checkpoint of epoch 1.
"$train_prune" --data_dir="$data_dir" --epochs=2 --sparsity=0.5 --initial_sparsity=0.1 \
  --prune_end_epoch=0.5 --output_dir="$run" --resume --out="$TEST_TMPDIR/second.json" \
  2>"$TEST_TMPDIR/log2" || fail "resume exited $?: $(cat "$TEST_TMPDIR/log2")"
/usr/bin/python3 - "$TEST_TMPDIR/second.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert [e["epoch"] for e in r["epochs"]] == [1, 2], r["epochs"]
assert abs(r["epochs"][1]["sparsity"] - 0.5) < 1e-9, r["epochs"][1]
assert r["before"]["test_top1"] > 80, "the resumed model was not the checkpoint's"
print("resumed: epochs", [e["epoch"] for e in r["epochs"]], "top-1 %.2f%%" % r["after"]["test_top1"])
PY

# A recipe with an override: epochs, learning rate and pruning come from YAML.
recipe="$TEST_SRCDIR/edgecompress/tests/testdata/lenet5_gmp_short.yaml"
"$train_prune" --data_dir="$data_dir" --recipe="$recipe" --override=final_sparsity=0.6 \
  --output_dir="$TEST_TMPDIR/recipe_run" --out="$TEST_TMPDIR/recipe.json" 2>"$TEST_TMPDIR/log3" ||
  fail "recipe run exited $?: $(cat "$TEST_TMPDIR/log3")"
grep -q "final_sparsity: 0.6" "$TEST_TMPDIR/recipe_run/recipe.yaml" || fail "effective recipe lacks the override"
/usr/bin/python3 - "$TEST_TMPDIR/recipe.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert len(r["epochs"]) == 2, r["epochs"]
zeros = sum(l["zeros"] for l in r["sparsity_report"]["layers"] if l["name"] in ("conv2", "fc1", "fc2"))
assert zeros == 36288, zeros  # floor(0.6 * 60,480)
assert r["recipe"]["variables"]["final_sparsity"] == "0.6", r["recipe"]
print("recipe run: 60%% global, test top-1 %.2f%%" % r["after"]["test_top1"])
PY
# A bad override is one line naming it, exit 2.
set +e
"$train_prune" --data_dir="$data_dir" --recipe="$recipe" --override=no_such=1 2>"$TEST_TMPDIR/bad"
code=$?
set -e
[[ $code == 2 && $(wc -l <"$TEST_TMPDIR/bad") == 1 ]] || fail "bad override: exit $code: $(cat "$TEST_TMPDIR/bad")"
grep -q "no_such" "$TEST_TMPDIR/bad" || fail "bad override error does not name it: $(cat "$TEST_TMPDIR/bad")"
echo "bad override: $(cat "$TEST_TMPDIR/bad")"
echo PASS
