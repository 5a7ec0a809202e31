#!/usr/bin/env bash
# End to end: tools/intrinsic_dim on .npy points with a known dimension
# (written here with NumPy) and on every layer of a LeNet-5 trained for one
# epoch on the real Fashion-MNIST files; JSON fields, the bit allocation, and
# one-line errors with exit code 2 for bad input.
set -euo pipefail

tool="$TEST_SRCDIR/edgecompress/tools/intrinsic_dim/intrinsic_dim"
train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Points uniform on the 5-sphere in R^6, rotated into R^64 (N = 2000): a
# 5-dimensional manifold without boundary, and 6 directions of variance.
/usr/bin/python3 - "$tmp" <<'PY'
import numpy as np, sys
rng = np.random.default_rng(3)
x = rng.standard_normal((2000, 6))
x /= np.linalg.norm(x, axis=1, keepdims=True)
q, _ = np.linalg.qr(rng.standard_normal((64, 6)))
np.save(sys.argv[1] + "/sphere.npy", (x @ q.T).astype(np.float32))
np.save(sys.argv[1] + "/duplicates.npy", np.array([[0, 1], [2, 3], [0, 1], [5, 1], [7, 4], [1, 9]], np.float32))
np.save(sys.argv[1] + "/nan.npy", np.array([[0, 1], [2, np.nan], [4, 5]], np.float32))
np.save(sys.argv[1] + "/float64.npy", np.zeros((3, 2)))
PY

"$tool" --input="$tmp/sphere.npy" --out="$tmp/sphere.json" 2>"$tmp/sphere.stderr" ||
  fail "--input exited $?: $(cat "$tmp/sphere.stderr")"
/usr/bin/python3 - "$tmp/sphere.json" <<'PY' || fail "sphere result"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["context"]["tool"] == "intrinsic_dim", r["context"]
assert r["n_points"] == 2000 and r["dimension"] == 64, r
assert abs(r["twonn_ml"] - 5) <= 0.5 and abs(r["twonn_fit"] - 5) <= 0.5, r
# Uniform on the sphere: six equal variances (1/6 each), so 95% needs all six.
assert r["pca_95"] == 6, r
print("sphere:", r["twonn_ml"], r["twonn_fit"], r["pca_95"])
PY

expect_bad_input() {  # expect_bad_input <substring> <flags...>
  local want="$1"; shift
  local rc=0
  "$tool" "$@" >"$tmp/bad.stdout" 2>"$tmp/bad.stderr" || rc=$?
  ((rc == 2)) || fail "$* exited $rc, want 2: $(cat "$tmp/bad.stderr")"
  (($(wc -l <"$tmp/bad.stderr") == 1)) || fail "$*: more than one line: $(cat "$tmp/bad.stderr")"
  grep -q -- "$want" "$tmp/bad.stderr" || fail "$*: no '$want' in: $(cat "$tmp/bad.stderr")"
}
expect_bad_input "duplicates.npy: point 0 has a duplicate" --input="$tmp/duplicates.npy"
expect_bad_input "nan.npy: points\[1\]\[1\] is nan" --input="$tmp/nan.npy"
expect_bad_input "float64.npy" --input="$tmp/float64.npy"
expect_bad_input "missing.npy" --input="$tmp/missing.npy"
expect_bad_input "exactly one of --input and --model" --input="$tmp/sphere.npy" --model=x.onnx
printf 'not a model' >"$tmp/garbage.onnx"
expect_bad_input "garbage.onnx: not an ONNX ModelProto" --model="$tmp/garbage.onnx" \
  --data_dir="$data_dir"
"$tool" --input="$tmp/duplicates.npy" --skip_duplicates --out="$tmp/dup.json" 2>/dev/null ||
  fail "--skip_duplicates exited $?"
grep -q '"duplicates": 2' "$tmp/dup.json" || fail "duplicates not counted: $(cat "$tmp/dup.json")"

"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 --output_dir="$tmp/dense" \
  --out="$tmp/train.json" 2>"$tmp/train.stderr" ||
  fail "train_prune exited $?: $(tail -3 "$tmp/train.stderr")"
"$tool" --model="$tmp/dense/model.onnx" --data_dir="$data_dir" --samples=500 --delta=20 \
  --out="$tmp/lenet.json" 2>"$tmp/lenet.stderr" ||
  fail "--model exited $?: $(cat "$tmp/lenet.stderr")"
cat "$tmp/lenet.stderr"
/usr/bin/python3 - "$tmp/lenet.json" <<'PY' || fail "lenet result"
import json, sys
r = json.load(open(sys.argv[1]))
layers = r["layers"]
assert [l["op"] for l in layers] == ["Conv", "Conv", "Gemm", "Gemm", "Gemm"], layers
# Parameters from the ONNX initializers: LeNet-5's 156, 2,416, 48,120, 10,164, 850.
assert [l["parameters"] for l in layers] == [156, 2416, 48120, 10164, 850], layers
assert layers[0]["shape"] == [500, 6, 28, 28] and layers[4]["shape"] == [500, 10], layers
assert layers[0]["criterion"] is None and layers[0]["bits"] == 32 and layers[4]["bits"] == 32
for a, b in zip(layers, layers[1:]):
    crit = abs(b["twonn_fit"] - a["twonn_fit"])
    assert abs(b["criterion"] - crit) < 1e-9, (a, b)
for l in layers[1:4]:
    assert l["bits"] == (2 if l["criterion"] > 20 else 1), l
    assert 1 <= l["twonn_fit"] <= 100 and 1 <= l["pca_95"], l
bits = sum(l["parameters"] * l["bits"] for l in layers)
assert abs(r["memory_reduction"] - 32 * sum(l["parameters"] for l in layers) / bits) < 1e-9, r
print("lenet:", [(l["layer"], round(l["twonn_fit"], 1), l["pca_95"], l["bits"]) for l in layers])
PY

# The thesis's pipeline: the bit widths the IDs chose, trained in (1 epoch).
"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 --low_bit_from="$tmp/lenet.json" \
  --output_dir="$tmp/low_bit" --out="$tmp/low_bit.json" 2>"$tmp/low_bit.stderr" ||
  fail "train_prune --low_bit_from exited $?: $(tail -3 "$tmp/low_bit.stderr")"
/usr/bin/python3 - "$tmp/lenet.json" "$tmp/low_bit.json" <<'PY' || fail "low-bit result"
import json, sys
ids, trained = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
chosen = {l["layer"]: l["bits"] for l in ids["layers"] if l["bits"] < 32}
got = {l["layer"]: l["bits"] for l in trained["low_bit"]["layers"]}
assert got == chosen and got, (got, chosen)
assert abs(trained["low_bit"]["memory_reduction"] - ids["memory_reduction"]) < 1e-9, trained["low_bit"]
assert trained["after"]["test_top1"] >= 75, trained["after"]
print("low-bit:", got, round(trained["low_bit"]["memory_reduction"], 2), trained["after"]["test_top1"])
PY
# With the thesis's activation quantization of the low-bit layers' inputs.
"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 --low_bit_from="$tmp/lenet.json" \
  --low_bit_activations --out="$tmp/low_bit_act.json" 2>"$tmp/low_bit_act.stderr" ||
  fail "train_prune --low_bit_activations exited $?: $(tail -3 "$tmp/low_bit_act.stderr")"
/usr/bin/python3 - "$tmp/low_bit.json" "$tmp/low_bit_act.json" <<'PY' || fail "low-bit activations"
import json, sys
weights_only, both = (json.load(open(p)) for p in sys.argv[1:])
assert weights_only["low_bit"]["activations"] == "fp32 (not quantized)", weights_only["low_bit"]
assert both["low_bit"]["activations"].startswith("low-bit layers' inputs clipped"), both["low_bit"]
# Binary inputs lose information: a different (and here lower) accuracy.
assert 50 <= both["after"]["test_top1"] != weights_only["after"]["test_top1"], both["after"]
print("low-bit activations:", both["after"]["test_top1"], "vs", weights_only["after"]["test_top1"])
PY
printf '{"layers": 3}' >"$tmp/not_id.json"
rc=0
"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 --low_bit_from="$tmp/not_id.json" \
  2>"$tmp/bad.stderr" >/dev/null || rc=$?
((rc == 2)) || fail "a bad --low_bit_from exited $rc: $(cat "$tmp/bad.stderr")"
grep -q 'not_id.json: not a tools/intrinsic_dim --model result' "$tmp/bad.stderr" ||
  fail "bad --low_bit_from: $(cat "$tmp/bad.stderr")"
echo PASS
