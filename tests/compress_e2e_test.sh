#!/usr/bin/env bash
# End to end: LeNet-5 pruned to 90% by train_prune (2 short epochs on the real
# Fashion-MNIST files), then tools/compress: 16 shared values per layer and
# the Huffman-coded size. Checks that zeros stay zeros, that accuracy holds,
# that the size accounting adds up, and that bad input fails with one line
# and exit code 2.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
compress="$TEST_SRCDIR/edgecompress/tools/compress/compress"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --epochs=2 --sparsity=0.9 --output_dir="$tmp/gmp90" \
  --out="$tmp/train.json" 2>"$tmp/train.stderr" ||
  fail "train_prune exited $?: $(tail -3 "$tmp/train.stderr")"
"$compress" --model="$tmp/gmp90/model.onnx" --data_dir="$data_dir" --test_samples=2000 \
  --out="$tmp/shared.onnx" --result="$tmp/compress.json" 2>"$tmp/compress.stderr" ||
  fail "compress exited $?: $(cat "$tmp/compress.stderr")"
cat "$tmp/compress.stderr"
/usr/bin/python3 - "$tmp/compress.json" <<'PY' || fail "compress result"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["context"]["tool"] == "compress", r["context"]
layers = r["layers"]
assert [l["op"] for l in layers] == ["Conv", "Conv", "Gemm", "Gemm", "Gemm"], layers
assert sum(l["weights"] for l in layers) == 61470, layers
# GMP to 90% over the prunable layers: about 10% of the weights remain.
nonzeros = sum(l["nonzeros"] for l in layers)
assert 0.05 * 61470 < nonzeros < 0.15 * 61470, nonzeros
for l in layers:
    assert l["clusters"] <= 16, l
    parts = l["index_bits"] + l["cluster_bits"] + l["codebook_bits"] + l["huffman_table_bits"]
    assert l["coded_bits"] == parts, l
    # Huffman never loses to the fixed-width code by more than its tables.
    assert l["coded_bits"] <= l["fixed_width_bits"] + l["huffman_table_bits"], l
coded = sum(l["coded_bits"] + 32 * l["bias_values"] for l in layers)
assert coded == r["stages"][1]["bits"] and abs(r["coded_bytes"] - coded / 8) < 1e-9, r
assert r["dense_bytes"] == 61706 * 4, r["dense_bytes"]
assert r["compression_ratio"] > 20, r["compression_ratio"]
assert r["top1_change_pt"] > -1.5, r["stages"]
print("compress:", r["stages"], round(r["compression_ratio"], 1))
PY

expect_bad_input() {  # expect_bad_input <substring> <flags...>
  local want="$1"; shift
  local rc=0
  "$compress" "$@" >"$tmp/bad.stdout" 2>"$tmp/bad.stderr" || rc=$?
  ((rc == 2)) || fail "$* exited $rc, want 2: $(cat "$tmp/bad.stderr")"
  (($(wc -l <"$tmp/bad.stderr") == 1)) || fail "$*: more than one line: $(cat "$tmp/bad.stderr")"
  grep -q -- "$want" "$tmp/bad.stderr" || fail "$*: no '$want' in: $(cat "$tmp/bad.stderr")"
}
printf 'garbage' >"$tmp/garbage.onnx"
expect_bad_input "garbage.onnx: not an ONNX ModelProto" --model="$tmp/garbage.onnx" --out="$tmp/x.onnx"
expect_bad_input "missing.onnx: cannot open" --model="$tmp/missing.onnx" --out="$tmp/x.onnx"
expect_bad_input "--init=forgy" --model="$tmp/gmp90/model.onnx" --out="$tmp/x.onnx" --init=forgy
expect_bad_input "num_clusters is 0" --model="$tmp/gmp90/model.onnx" --out="$tmp/x.onnx" \
  --clusters=0
[[ ! -e "$tmp/x.onnx" ]] || fail "a failed run wrote its output"

# Centroids trained in (train_prune --cluster): the exported model already
# shares 16 values per layer, which compress keeps as its codebook: no loss.
"$train_prune" --data_dir="$data_dir" --epochs=2 --sparsity=0 --cluster=16 --cluster_start_epoch=1 \
  --output_dir="$tmp/clustered" --out="$tmp/clustered.json" 2>"$tmp/clustered.stderr" ||
  fail "train_prune --cluster exited $?: $(tail -3 "$tmp/clustered.stderr")"
"$compress" --model="$tmp/clustered/model.onnx" --data_dir="$data_dir" --test_samples=2000 \
  --out="$tmp/clustered_shared.onnx" --result="$tmp/clustered_compress.json" 2>/dev/null ||
  fail "compress of the clustered model failed"
/usr/bin/python3 - "$tmp/clustered.json" "$tmp/clustered_compress.json" <<'PY' || fail "clustered"
import json, sys
trained, compressed = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
c = trained["clustering"]
assert c["clustered"] and c["clusters"] == 16 and len(c["tensors"]) == 5, c
assert trained["after"]["test_top1"] >= 80, trained["after"]
assert compressed["top1_change_pt"] == 0, compressed["stages"]  # the codebook is exact
print("clustered in training:", trained["after"]["test_top1"], compressed["stages"])
PY
echo PASS
