#!/usr/bin/env bash
# The aarch64 bundle is self-contained: unpacked into an empty folder, every
# library any file of it needs is inside, and its launcher measures a model
# under plain qemu-aarch64, with no sysroot and no library path from outside.
#
#   bench_aarch64_test.sh <bench_aarch64.tar.gz> <model.onnx>
set -euo pipefail

BUNDLE="$1"
MODEL="$2"
TMP="${TEST_TMPDIR:-$(mktemp -d)}"
fail() { echo "FAIL: $*" >&2; exit 1; }

tar -xzf "$BUNDLE" -C "$TMP"
DIR="$TMP/bench"
[[ -x "$DIR/bench" && -f "$DIR/bin/bench" && -f "$DIR/lib/ld-linux-aarch64.so.1" ]] ||
  fail "unexpected layout: $(cd "$TMP" && find . | sort | head -20)"

for file in "$DIR/bin/bench" "$DIR"/lib/*; do
  [[ "$(aarch64-linux-gnu-readelf -h "$file")" == *AArch64* ]] || fail "$file is not aarch64"
  while read -r library; do
    [[ -e "$DIR/lib/$library" ]] || fail "$(basename "$file") needs $library, not in the bundle"
  done < <(aarch64-linux-gnu-readelf -d "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
done

# No -L prefix, no LD_LIBRARY_PATH: only what the bundle carries.
run() { env -u LD_LIBRARY_PATH -u QEMU_LD_PREFIX TARGET_EMULATOR=qemu-aarch64 "$DIR/bench" "$@"; }
run --model="$MODEL" --engine=dense,sparse --warmup=0 --min_reps=1 --min_seconds=0 \
  --out="$TMP/bench.json" 2>"$TMP/stderr" || fail "bundled bench: $(cat "$TMP/stderr")"
/usr/bin/python3 - "$TMP/bench.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))["results"]
assert [r["engine"] for r in rows] == ["dense", "sparse"], rows
assert all(r["latency_ms"]["median"] > 0 for r in rows), rows
PY

code=0
run --model="$TMP/missing.onnx" 2>"$TMP/stderr" || code=$?
[[ "$code" != 0 ]] || fail "bundled bench accepted a missing model"
grep -q "missing.onnx" "$TMP/stderr" || fail "error does not name the file: $(cat "$TMP/stderr")"
echo "bundle: $(ls "$DIR/lib" | wc -l) libraries; ran dense and sparse under plain qemu"
