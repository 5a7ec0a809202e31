#!/usr/bin/env bash
# End to end: make_pruned_models writes a small pruned MobileNet-v1, bench runs
# it on the dense and sparse engines, the sparse engine puts all 13 pointwise
# layers and the fc on our kernels, and both engines give the same output
# for the same .npy input. Bad flags exit 2 with one line.
#
#   sparse_e2e_test.sh <make_pruned_models binary> <bench binary>
set -euo pipefail

# Under `bazel test --config=aarch64` the binaries run through qemu
# (TARGET_EMULATOR, set by third_party/aarch64/qemu_run.sh); natively it is empty.
MAKE=(${TARGET_EMULATOR:-} "$1")
BENCH=(${TARGET_EMULATOR:-} "$2")
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

"${MAKE[@]}" --out_dir="$TMP" --model=mobilenet_v1 --input_size=32 --width=0.25 --num_classes=10 \
  --sparsities=0.9 2>"$TMP/make.log" || fail "make_pruned_models: $(cat "$TMP/make.log")"
MODEL="$TMP/mobilenet_v1_32_s90.onnx"
[[ -s "$MODEL" ]] || fail "no $MODEL"

"${BENCH[@]}" --model="$MODEL" --engine=sparse --batch=2 --warmup=0 --min_reps=2 --min_seconds=0 \
  --out="$TMP/sparse.json" 2>"$TMP/bench.log" || fail "bench: $(cat "$TMP/bench.log")"
/usr/bin/python3 - "$TMP/sparse.json" <<'PY'
import json, sys
row = json.load(open(sys.argv[1]))["results"][0]
sparse = row["sparse"]
assert sparse["candidate_layers"] == 14, sparse
# On aarch64 XNNPACK's NCHW path takes the whole model and decides alone.
if sparse["kernel"] != "xnnpack_nchw":
    assert sparse["sparse_layers"] == 14, sparse
for layer in sparse["layers"]:
    assert abs(layer["sparsity"] - 0.9) < 0.01, layer
PY

/usr/bin/python3 -c "
import numpy as np
np.save('$TMP/x.npy', np.random.default_rng(7).uniform(-1, 1, (2, 3, 32, 32)).astype(np.float32))"
for engine in dense sparse auto; do
  "${BENCH[@]}" --model="$MODEL" --engine=$engine --input="$TMP/x.npy" --output="$TMP/y_$engine.npy" \
    2>"$TMP/run.log" || fail "bench --engine=$engine: $(cat "$TMP/run.log")"
done
/usr/bin/python3 - "$TMP" <<'PY'
import numpy as np, sys
d = np.load(sys.argv[1] + "/y_dense.npy")
for engine in ("sparse", "auto"):
    y = np.load(sys.argv[1] + "/y_%s.npy" % engine)
    assert y.shape == d.shape == (2, 10), (y.shape, d.shape)
    assert np.allclose(y, d, atol=1e-4, rtol=1e-4), (engine, np.abs(y - d).max())
PY

code=0
"${MAKE[@]}" --out_dir="$TMP" --sparsities=90 2>"$TMP/err.log" || code=$?
[[ "$code" == 2 ]] || fail "--sparsities=90 exited $code"
grep -q "is not a fraction in \[0, 1\]" "$TMP/err.log" || fail "message: $(cat "$TMP/err.log")"
code=0
"${MAKE[@]}" 2>"$TMP/err.log" || code=$?
[[ "$code" == 2 ]] || fail "no --out_dir exited $code"
echo PASS
