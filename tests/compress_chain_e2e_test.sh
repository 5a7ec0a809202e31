#!/usr/bin/env bash
# End to end: LeNet-5 trained for one epoch on the real Fashion-MNIST files by
# train_prune, then tools/compress's chain with one epoch per training stage:
# ID bit allocation, low-bit QAT, weight sharing, cluster-preserving
# training. Checks each stage's numbers against the layers it reports, that
# low-bit layers keep their width through sharing and training, that the
# files named exist and that bad input fails with one line and exit code 2.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
chain="$TEST_SRCDIR/edgecompress/tools/compress/compress_chain"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 --output_dir="$tmp/dense" \
  --out="$tmp/dense.json" 2>"$tmp/dense.stderr" ||
  fail "train_prune exited $?: $(tail -3 "$tmp/dense.stderr")"
# delta 1: a small threshold, so that some layers get 2 bits.
"$chain" --data_dir="$data_dir" --checkpoint="$tmp/dense/checkpoint.pt" --id_samples=500 \
  --delta=1 --qat_epochs=1 --cluster_epochs=1 --output_dir="$tmp/chain" \
  2>"$tmp/chain.stderr" || fail "compress_chain exited $?: $(tail -5 "$tmp/chain.stderr")"
grep "^stage\|^compress_chain" "$tmp/chain.stderr"
/usr/bin/python3 - "$tmp/chain" "$tmp/dense.json" <<'PY' || fail "chain report"
import json, math, os, sys
out, dense = sys.argv[1], json.load(open(sys.argv[2]))
r = json.load(open(os.path.join(out, "report.json")))
assert r["context"]["tool"] == "compress_chain", r["context"]
stages = r["stages"]
assert [s["name"] for s in stages] == [
    "trained", "bit_allocation", "low_bit_qat", "clustering", "cluster_qat"], stages
trained, allocation, qat, shared, tied = stages

def check_size(stage):
    layers = stage["layers"]
    assert [l["layer"] for l in layers] == ["conv1", "conv2", "fc1", "fc2", "fc3"], layers
    dense_bytes = sum(4 * (l["weights"] + l["biases"]) for l in layers)
    stored = sum((l["weights"] * l["bits"] + 7) // 8 + 4 * (l["codebook_entries"] + l["biases"])
                 for l in layers)
    p = sum(l["weights"] + l["biases"] for l in layers)
    reduction = 32 * p / sum((l["weights"] + l["biases"]) * l["bits"] for l in layers)
    assert stage["dense_bytes"] == dense_bytes == 61706 * 4, stage
    assert stage["stored_bytes"] == stored, (stage["stored_bytes"], stored)
    assert math.isclose(stage["compression"], dense_bytes / stored), stage
    assert math.isclose(stage["memory_reduction"], reduction), stage
    assert os.path.getsize(stage["onnx"]) > 0, stage["onnx"]
    return {l["layer"]: l["bits"] for l in layers}

assert check_size(trained) == dict.fromkeys(["conv1", "conv2", "fc1", "fc2", "fc3"], 32)
assert trained["compression"] == 1 and trained["memory_reduction"] == 1, trained
# inference/ runs the exported file as LibTorch evaluated the model.
assert abs(trained["test_top1"] - dense["after"]["test_top1"]) < 0.2, (trained, dense["after"])

# The analysis file is tools/intrinsic_dim's, which train_prune --low_bit_from reads.
id_json = json.load(open(allocation["intrinsic_dim"]))
bits = {l["layer"]: l["bits"] for l in id_json["layers"]}
assert bits["conv1"] == 32 and bits["fc3"] == 32, bits
assert allocation["bits"] == {k: b for k, b in bits.items() if b < 32}, allocation
assert set(allocation["bits"].values()) <= {1, 2}, allocation
for l in id_json["layers"][1:]:
    assert (l["bits"] == 2) == (l["layer"] != "fc3" and l["criterion"] > 1), l

qat_bits = check_size(qat)
assert qat_bits == bits, (qat_bits, bits)
assert math.isclose(qat["memory_reduction"], allocation["planned_memory_reduction"]), qat

# Sharing keeps each low-bit layer's 2^b values and cuts the fp32 ones to 16.
shared_bits = check_size(shared)
assert shared["clustered_layers"] == ["conv1", "fc3"], shared["clustered_layers"]
for layer, b in bits.items():
    assert shared_bits[layer] == (4 if b == 32 else b), (layer, shared_bits, bits)
assert shared["memory_reduction"] > qat["memory_reduction"] > 10, (shared, qat)

# Cluster-preserving training keeps every layer within its codebook.
tied_bits = check_size(tied)
assert tied_bits == shared_bits, (tied_bits, shared_bits)
assert tied["onnx"] == os.path.join(out, "model.onnx"), tied
for stage in (qat, shared, tied):
    assert stage["test_top1"] > 60, stage  # one epoch each: far above chance
final = r["final"]
assert final["stored_bytes"] == tied["stored_bytes"] and final["test_top1"] == tied["test_top1"]
assert math.isclose(final["top1_drop"], trained["test_top1"] - tied["test_top1"]), final
print("chain:", [(s["name"], s.get("test_top1"), round(s.get("compression", 0), 2)) for s in stages])
PY
grep -q '"test_top1"' "$tmp/chain/wandb/spool.jsonl" || fail "no stage rows in the metrics run"

expect_bad_input() {  # expect_bad_input <substring> <flags...>
  local want="$1"; shift
  local rc=0
  "$chain" --data_dir="$data_dir" "$@" >"$tmp/bad.stdout" 2>"$tmp/bad.stderr" || rc=$?
  ((rc == 2)) || fail "$* exited $rc, want 2: $(cat "$tmp/bad.stderr")"
  (($(wc -l <"$tmp/bad.stderr") == 1)) || fail "$*: more than one line: $(cat "$tmp/bad.stderr")"
  grep -q -- "$want" "$tmp/bad.stderr" || fail "$*: no '$want' in: $(cat "$tmp/bad.stderr")"
}
printf 'garbage' >"$tmp/garbage.pt"
expect_bad_input "output_dir is required" --checkpoint="$tmp/dense/checkpoint.pt"
expect_bad_input "missing.pt" --checkpoint="$tmp/missing.pt" --output_dir="$tmp/bad1"
expect_bad_input "garbage.pt" --checkpoint="$tmp/garbage.pt" --output_dir="$tmp/bad2"
expect_bad_input "clusters is 1" --checkpoint="$tmp/dense/checkpoint.pt" --clusters=1 \
  --output_dir="$tmp/bad3"
expect_bad_input "expected twonn_fit" --significance=mle --output_dir="$tmp/bad4"
expect_bad_input "id_samples is 7" --checkpoint="$tmp/dense/checkpoint.pt" --id_samples=7 \
  --output_dir="$tmp/bad5"
echo PASS
