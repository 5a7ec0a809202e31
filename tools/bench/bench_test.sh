#!/usr/bin/env bash
# End-to-end test of the bench binary: a grid with --compare and --out on a
# PyTorch-exported model, the JSON fields a reader relies on, and every exit
# code of the usage text.
#
#   bench_test.sh <bench binary> <model.onnx> <input.bin> <output.bin>
set -euo pipefail

# Under `bazel test --config=aarch64` the binaries run through qemu
# (TARGET_EMULATOR, set by third_party/aarch64/qemu_run.sh); natively it is empty.
BENCH=(${TARGET_EMULATOR:-} "$1")
MODEL="$2"
INPUT_BIN="$3"   # PyTorch's input and output for MODEL, raw float32
OUTPUT_BIN="$4"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs bench with the remaining arguments, expects exit code $1 and, when
# given, a stderr line containing $2.
expect_exit() {
  local code="$1" message="$2"
  shift 2
  local actual=0
  "${BENCH[@]}" "$@" >"$TMP/stdout" 2>"$TMP/stderr" || actual=$?
  [[ "$actual" == "$code" ]] || fail "bench $* exited $actual, expected $code: $(cat "$TMP/stderr")"
  if [[ -n "$message" ]]; then
    grep -qF -- "$message" "$TMP/stderr" || fail "bench $*: no '$message' in: $(cat "$TMP/stderr")"
  fi
}

# A 2 x 1 grid (batch 1 and 2, one thread), compared with itself.
expect_exit 0 "" --model="$MODEL" --compare="$MODEL" --batch=1,2 --threads=1 \
  --warmup=1 --min_reps=3 --min_seconds=0 --out="$TMP/bench.json"
grep -q "median" "$TMP/stderr" || fail "no table on stderr"
[[ $(grep -c "small_cnn.onnx" "$TMP/stderr") == 4 ]] || fail "expected 4 table rows: $(cat "$TMP/stderr")"

/usr/bin/python3 - "$TMP/bench.json" "$MODEL" <<'EOF'
import json, os, sys
result = json.load(open(sys.argv[1]))
model = sys.argv[2]
assert result["schema_version"] == 1, result["schema_version"]
context = result["context"]
assert context["tool"] == "bench", context
assert context["flags"]["batch"] == "1,2", context["flags"]
rows = result["results"]
assert [r["batch_size"] for r in rows] == [1, 2], rows
for r in rows:
    assert r["threads"] == 1 and r["engine"] == "dense", r
    assert r["repetitions"] >= 3 and r["warmup_runs"] == 1, r
    latency = r["latency_ms"]
    for key in ("mean", "median", "p90", "p99", "min", "max", "stdev"):
        assert latency[key] >= 0, (key, latency)
    assert latency["min"] <= latency["median"] <= latency["p90"] <= latency["p99"] <= latency["max"], latency
    assert r["items_per_second"] > 0, r
    assert r["peak_rss_bytes"] > 0 and r["peak_rss_scope"] in ("grid_point", "process"), r
    assert r["model_file_bytes"] == os.path.getsize(model), r
    assert r["input_shape"] == [r["batch_size"], 3, 16, 16], r
    assert r["compare"]["model"] == model and r["speedup"] > 0, r
print("bench.json: %d grid points, fields as documented" % len(rows))
EOF

# Exit codes, as the usage text lists them.
expect_exit 1 "is not an integer" --model="$MODEL" --batch=0
expect_exit 2 "--model is required"
expect_exit 2 "no such file" --model="$TMP/missing.onnx"
/usr/bin/python3 -c "import random, sys; random.seed(7); sys.stdout.buffer.write(bytes(random.randrange(256) for _ in range(1000)))" > "$TMP/garbage.onnx"
printf 'not a model' > "$TMP/text.onnx"
expect_exit 2 "not an ONNX model" --model="$TMP/text.onnx"
expect_exit 2 "min_reps 0 must be at least 1" --model="$MODEL" --min_reps=0
expect_exit 4 "" --model="$MODEL" --warmup=0 --min_reps=1 --min_seconds=0 \
  --out="$TMP/no/such/dir/bench.json"
# The sparse engines run and say which kernel they used.
expect_exit 0 "" --model="$MODEL" --engine=dense,sparse,auto --warmup=0 --min_reps=1 \
  --min_seconds=0 --out="$TMP/sparse.json"
/usr/bin/python3 - "$TMP/sparse.json" <<'EOF'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
assert [r["engine"] for r in rows] == ["dense", "sparse", "auto"], rows
for r in rows[1:]:
    assert r["sparse"]["kernel"] in ("avx512f", "avx2_fma", "portable", "xnnpack_nchw"), r["sparse"]
EOF
# --input/--output: PyTorch's own input and output for this model
# (inference/testdata), through .npy files, on the dense and sparse engines.
/usr/bin/python3 - "$INPUT_BIN" "$TMP/x.npy" <<'EOF'
import numpy as np, sys
np.save(sys.argv[2], np.fromfile(sys.argv[1], dtype="<f4").reshape(2, 3, 16, 16))
EOF
for engine in dense sparse; do
  expect_exit 0 "" --model="$MODEL" --engine=$engine --input="$TMP/x.npy" --output="$TMP/y_$engine.npy"
  /usr/bin/python3 - "$TMP/y_$engine.npy" "$OUTPUT_BIN" <<'EOF'
import numpy as np, sys
y = np.load(sys.argv[1])
expected = np.fromfile(sys.argv[2], dtype="<f4").reshape(y.shape)
assert y.shape == (2, 10) and y.dtype == np.float32, (y.shape, y.dtype)
assert np.allclose(y, expected, atol=1e-4, rtol=1e-4), np.abs(y - expected).max()
EOF
done
expect_exit 2 "--input needs --output" --model="$MODEL" --input="$TMP/x.npy"
expect_exit 2 "--output needs --input" --model="$MODEL" --output="$TMP/y.npy"
expect_exit 2 "not a valid .npy file" --model="$MODEL" --input="$TMP/text.onnx" --output="$TMP/y.npy"
/usr/bin/python3 -c "import numpy as np; np.save('$TMP/wrong.npy', np.zeros((2, 3, 8, 8), np.float32))"
expect_exit 2 "but the model takes (2, 3, 16, 16)" --model="$MODEL" --input="$TMP/wrong.npy" \
  --output="$TMP/y.npy"
# --input_size re-imports the model at each size; this one fixes its size.
expect_exit 0 "" --model="$MODEL" --input_size=16 --warmup=0 --min_reps=1 --min_seconds=0 \
  --out="$TMP/size.json"
expect_exit 2 "at input size 8" --model="$MODEL" --input_size=8 --warmup=0 --min_reps=1
# Corrupted bytes never crash: any failure is a clean exit 2.
code=0
"${BENCH[@]}" --model="$TMP/garbage.onnx" --min_reps=1 --min_seconds=0 >/dev/null 2>&1 || code=$?
[[ "$code" == 2 ]] || fail "garbage model exited $code"
echo PASS
