#!/usr/bin/env bash
# End to end: train LeNet-5 on the real Fashion-MNIST files for 1 epoch
# (train_prune's ONNX export, BatchNorm folded), quantize it to int8 QDQ with
# tools/quantize, and check that inference/ ran it as int8 with top-1 within
# 1 point of fp32 on 2,000 test images and a file at least 3.5x smaller; then
# run it through tools/bench --engine=int8, and check that bad input fails
# with one line naming the culprit and exit code 2.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
quantize="$TEST_SRCDIR/edgecompress/tools/quantize/quantize"
bench="$TEST_SRCDIR/edgecompress/tools/bench/bench"
data_dir="$TEST_SRCDIR/fashion_mnist"
dense="$TEST_TMPDIR/dense"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --epochs=1 --sparsity=0 --output_dir="$dense" \
  --out="$TEST_TMPDIR/train.json" 2>"$TEST_TMPDIR/train.stderr" ||
  fail "train_prune exited $?: $(tail -3 "$TEST_TMPDIR/train.stderr")"

for calibration in minmax entropy; do
  "$quantize" --model="$dense/model.onnx" --data_dir="$data_dir" --calibration_samples=200 \
    --calibration="$calibration" --test_samples=2000 --out="$TEST_TMPDIR/int8.onnx" \
    --result="$TEST_TMPDIR/$calibration.json" 2>"$TEST_TMPDIR/quantize.stderr" ||
    fail "quantize --calibration=$calibration exited $?: $(cat "$TEST_TMPDIR/quantize.stderr")"
  /usr/bin/python3 - "$TEST_TMPDIR/$calibration.json" <<'PY' || fail "$calibration result"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["schema_version"] == 1 and r["context"]["tool"] == "quantize", r["context"]
# LeNet-5: conv1, conv2, fc1, fc2, fc3 all int8.
assert r["quantized"]["int8_ops"] == 5, r["quantized"]
assert abs(r["top1_change_pt"]) <= 1.0, (r["fp32"], r["quantized"])
assert r["size_ratio"] >= 3.5, r["size_ratio"]
assert len(r["activation_ranges"]) == 6, r["activation_ranges"]
print(sys.argv[1], r["fp32"]["test_top1"], "->", r["quantized"]["test_top1"], r["size_ratio"])
PY
done

"$quantize" --model="$dense/model.onnx" --data_dir="$data_dir" --calibration_samples=100 \
  --mode=fp16 --test_samples=1000 --out="$TEST_TMPDIR/fp16.onnx" \
  --result="$TEST_TMPDIR/fp16.json" 2>/dev/null || fail "quantize --mode=fp16 exited $?"
/usr/bin/python3 - "$TEST_TMPDIR/fp16.json" <<'PY' || fail "fp16 result"
import json, sys
r = json.load(open(sys.argv[1]))
assert abs(r["top1_change_pt"]) <= 0.2 and 1.9 <= r["size_ratio"] <= 2.1, r
PY

"$bench" --model="$TEST_TMPDIR/int8.onnx" --compare="$dense/model.onnx" --engine=int8 \
  --min_reps=3 --min_seconds=0 --warmup=1 --out="$TEST_TMPDIR/bench.json" 2>/dev/null ||
  fail "bench --engine=int8 exited $?"

# ONNX Runtime as an independent reader of the QDQ file: 500 test images
# through ORT (onnxruntime-node, graph optimisations off: it runs the
# Q/DQ nodes as written) and through inference/'s int8 engine. The two
# round at different places (XNNPACK requantizes inside its int8 kernels,
# ORT dequantizes and computes in float), so logits may differ by a few
# output quantization steps, and nearly every prediction must agree.
/usr/bin/python3 - "$data_dir" "$TEST_TMPDIR" <<'PY' || fail "writing the ORT input"
import gzip, numpy as np, sys
data, tmp = sys.argv[1], sys.argv[2]
def images(name):
    raw = gzip.open(f"{data}/{name}-images-idx3-ubyte.gz").read()
    return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 1, 28, 28) / 255.0
train = images("train")
test = (images("t10k")[:500] - train.mean()) / train.std()
np.save(f"{tmp}/ort_input.npy", test.astype(np.float32))
test.astype("<f4").tofile(f"{tmp}/ort_input.f32")
PY
"$bench" --model="$TEST_TMPDIR/int8.onnx" --engine=int8 --input="$TEST_TMPDIR/ort_input.npy" \
  --output="$TEST_TMPDIR/ours.npy" 2>/dev/null || fail "bench --input on the int8 model"
node "$TEST_SRCDIR/edgecompress/training/onnx/ort_run.js" \
  "$TEST_SRCDIR/onnxruntime_node/node_modules/onnxruntime-node" "$TEST_TMPDIR/int8.onnx" \
  "$TEST_TMPDIR/ort_input.f32" 500,1,28,28 - "$TEST_TMPDIR/ort.f32" >/dev/null ||
  fail "ONNX Runtime could not run the QDQ model"
/usr/bin/python3 - "$TEST_TMPDIR" <<'PY' || fail "inference/ and ONNX Runtime disagree on the QDQ model"
import numpy as np, sys
tmp = sys.argv[1]
ours = np.load(f"{tmp}/ours.npy").reshape(500, -1)
ort = np.fromfile(f"{tmp}/ort.f32", "<f4").reshape(500, -1)
agree = (ours.argmax(1) == ort.argmax(1)).mean()
diff = np.abs(ours - ort)
spread = ort.max() - ort.min()
print(f"int8 vs ONNX Runtime: top-1 agreement {agree:.3f}, max |diff| {diff.max():.4f}, "
      f"mean {diff.mean():.5f} (logit range {spread:.2f})")
assert agree >= 0.98, agree
assert diff.max() <= 0.02 * spread, (diff.max(), spread)
PY

expect_exit() {  # code, message substring, tool, flags...
  local code=$1 message=$2 tool=$3
  shift 3
  set +e
  "$tool" "$@" >/dev/null 2>"$TEST_TMPDIR/err"
  local got=$?
  set -e
  [[ $got == "$code" ]] || fail "$* exited $got, expected $code: $(cat "$TEST_TMPDIR/err")"
  [[ $(wc -l <"$TEST_TMPDIR/err") == 1 ]] || fail "$* printed more than one line"
  grep -q -- "$message" "$TEST_TMPDIR/err" || fail "$* said: $(cat "$TEST_TMPDIR/err")"
}
expect_exit 2 "'kl' is unknown" "$quantize" --model="$dense/model.onnx" --calibration=kl \
  --out="$TEST_TMPDIR/x.onnx"
expect_exit 2 "'int4' is unknown" "$quantize" --model="$dense/model.onnx" --mode=int4 \
  --out="$TEST_TMPDIR/x.onnx"
head -c 1000 "$dense/model.onnx" >"$TEST_TMPDIR/truncated.onnx"
expect_exit 2 "truncated.onnx" "$quantize" --model="$TEST_TMPDIR/truncated.onnx" \
  --data_dir="$data_dir" --out="$TEST_TMPDIR/x.onnx"
expect_exit 2 "has no int8 ops" "$bench" --model="$dense/model.onnx" --engine=int8
echo "PASS"
