#!/usr/bin/env bash
# End to end: the shipped filter-pruning and AC/DC recipes of LeNet-5 on
# Fashion-MNIST, shortened by overrides, as a user runs them. Checks that
# thinning really shrinks model.onnx (and that bench runs it), and that
# AC/DC alternates dense and 90%-sparse epochs and ends sparse.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
bench="$TEST_SRCDIR/edgecompress/tools/bench/bench"
recipes="$TEST_SRCDIR/edgecompress/pruning/recipes"
data_dir="$TEST_SRCDIR/fashion_mnist"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Filters: half of conv1's and conv2's filters go at the start of epoch 1 of 2.
"$train_prune" --data_dir="$data_dir" --recipe="$recipes/lenet5_fashion_mnist_filters50.yaml" \
  --override=num_epochs=2,prune_epoch=1 --output_dir="$TEST_TMPDIR/filters" \
  --out="$TEST_TMPDIR/filters.json" 2>"$TEST_TMPDIR/filters.log" ||
  fail "filter run exited $?: $(cat "$TEST_TMPDIR/filters.log")"
/usr/bin/python3 - "$TEST_TMPDIR/filters.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["thinning"]
# Thinned by hand: conv1 3x1x5x5+3, conv2 8x3x5x5+8, fc1 120x200+120, fc2
# 84x120+84, fc3 10x84+10 = 35,820 of 61,706 parameters.
assert t["parameters_before"] == 61706 and t["parameters_after"] == 35820, t
assert len(t["kept_filters"]["conv1"]) == 3 and len(t["kept_filters"]["conv2"]) == 8, t
assert t["macs_after"] < t["macs_before"], t
saved = 1 - r["onnx_bytes"] / t["onnx_bytes_before"]
assert saved >= 0.40, "model.onnx only %.1f%% smaller" % (100 * saved)
assert [e["filters_removed"] for e in r["epochs"]] == [0, 11], r["epochs"]
assert r["after"]["test_top1"] > 80, r["after"]
assert r["pruning"][0]["method"] == "filters", r["pruning"]
print("filters 50%%: top-1 %.2f%%, model.onnx %d -> %d bytes (-%.1f%%)" %
      (r["after"]["test_top1"], t["onnx_bytes_before"], r["onnx_bytes"], 100 * saved))
PY
"$bench" --model="$TEST_TMPDIR/filters/model.onnx" --batch=1 --threads=1 --warmup=1 --min_reps=5 \
  --min_seconds=0 >"$TEST_TMPDIR/bench.log" 2>&1 ||
  fail "bench cannot run the thinned model: $(cat "$TEST_TMPDIR/bench.log")"

# Filter sensitivity of the trained model as loaded, without training: each
# conv alone loses 10%..90% of its filters; sensitivity.csv and the JSON rows.
"$train_prune" --data_dir="$data_dir" --dense_checkpoint="$TEST_TMPDIR/filters/checkpoint.pt" \
  --epochs=0 --sensitivity=filters --output_dir="$TEST_TMPDIR/sensitivity" \
  --out="$TEST_TMPDIR/sensitivity.json" 2>"$TEST_TMPDIR/sensitivity.log" ||
  fail "sensitivity run exited $?: $(cat "$TEST_TMPDIR/sensitivity.log")"
[[ $(wc -l <"$TEST_TMPDIR/sensitivity/sensitivity.csv") == 19 ]] || fail "sensitivity.csv rows"
/usr/bin/python3 - "$TEST_TMPDIR/sensitivity.json" "$TEST_TMPDIR/filters.json" <<'PY'
import json, sys
r, trained = (json.load(open(p)) for p in sys.argv[1:3])
s = r["sensitivity"]
assert s["structure"] == "filters" and len(s["rows"]) == 2 * 9, s
assert [row["layer"] for row in s["rows"][::9]] == ["conv1", "conv2"], s["rows"]
# The loaded model is the trained one, and it was not trained further.
assert r["before"]["test_top1"] == r["after"]["test_top1"] == trained["after"]["test_top1"], r
# Half of each conv is already zero: removing up to half changes nothing.
for row in s["rows"]:
    if row["sparsity"] <= 0.5:
        assert row["drop"] == 0, row
print("filter sensitivity at 90%%: conv1 -%.2f, conv2 -%.2f pt" %
      (s["rows"][8]["drop"], s["rows"][17]["drop"]))
PY

# AC/DC: dense epoch 0, compressed 1, decompressed 2, compressed fine-tuning 3.
"$train_prune" --data_dir="$data_dir" --recipe="$recipes/lenet5_fashion_mnist_acdc90.yaml" \
  --override=num_epochs=4,warmup_epochs=1,phase_epochs=1,fine_tune_epoch=3 \
  --output_dir="$TEST_TMPDIR/acdc" --out="$TEST_TMPDIR/acdc.json" \
  2>"$TEST_TMPDIR/acdc.log" || fail "AC/DC run exited $?: $(cat "$TEST_TMPDIR/acdc.log")"
[[ -s "$TEST_TMPDIR/acdc/sparsity.svg" ]] || fail "no sparsity plot for AC/DC"
/usr/bin/python3 - "$TEST_TMPDIR/acdc.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e = r["epochs"]
assert [x["acdc_compressed"] for x in e] == [0, 1, 0, 1], e
assert e[0]["sparsity"] < 0.01 and e[2]["sparsity"] < 0.5, e
assert abs(e[1]["sparsity"] - 0.9) < 1e-4 and abs(e[3]["sparsity"] - 0.9) < 1e-4, e
zeros = sum(l["zeros"] for l in r["sparsity_report"]["layers"] if l["name"] in ("conv2", "fc1", "fc2"))
assert zeros == 54432, zeros  # floor(0.9 * 60,480), global
assert r["after"]["test_top1"] > 80, r["after"]
print("AC/DC 90%%: top-1 %.2f%%, sparsity per epoch %s" %
      (r["after"]["test_top1"], [round(x["sparsity"], 3) for x in e]))
PY
echo PASS
