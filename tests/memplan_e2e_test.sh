#!/usr/bin/env bash
# End to end: memplan as a user runs it. The study-shaped CNN (JSON) must go
# from 300 KiB to 272 KiB (memplan/reorder_test.cc derives both); PyTorch's
# ResNet-18 and MobileNetV2 exports must plan with arenas within 5% of the
# lower bound, checked here independently from the JSON (no two tensors live
# at one step share a byte; the lower bound is the largest sum of live
# sizes). Then bad input: exit 2 and one line naming the file.
set -euo pipefail

# Under `bazel test --config=aarch64`, through qemu (third_party/aarch64/qemu_run.sh).
memplan=(${TARGET_EMULATOR:-} "$TEST_SRCDIR/edgecompress/tools/memplan/memplan")
models="$TEST_SRCDIR/edgecompress/inference/testdata"
study="$TEST_SRCDIR/edgecompress/memplan/testdata/study_cnn.json"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Checks a plan JSON: required fields, arena >= bound, no overlap, bound =
# max live sum, arena/bound <= $2. Prints one line per schedule.
check_plan() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
plan = json.load(open(sys.argv[1]))
max_ratio = float(sys.argv[2])
assert plan["schema_version"] == 1 and plan["context"]["tool"] == "memplan"
names = {s["name"] for s in plan["schedules"]}
assert names == {"default", "reordered"}, names
for s in plan["schedules"]:
    for key in ("name", "order", "peak_bytes", "arena_bytes", "lower_bound_bytes", "tensors"):
        assert key in s, key
    assert len(s["order"]) == plan["graph"]["operators"] == len(set(s["order"]))
    tensors = s["tensors"]
    steps = len(s["order"])
    live = [0] * steps
    for t in tensors:
        assert t["size"] > 0 and t["offset"] >= 0, t
        assert t["offset"] + t["size"] <= s["arena_bytes"], t
        for step in range(t["first_step"], t["last_step"] + 1):
            live[step] += t["size"]
    assert max(live) == s["lower_bound_bytes"] == s["peak_bytes"], (max(live), s["lower_bound_bytes"])
    by_offset = sorted(tensors, key=lambda t: t["offset"])
    for i, a in enumerate(by_offset):
        for b in by_offset[i + 1:]:
            if b["offset"] >= a["offset"] + a["size"]:
                break
            if a["first_step"] <= b["last_step"] and b["first_step"] <= a["last_step"]:
                raise AssertionError("%s and %s overlap" % (a["name"], b["name"]))
    ratio = s["arena_bytes"] / s["lower_bound_bytes"]
    assert 1.0 <= ratio <= max_ratio, ratio
    print("%s %s: peak %d bytes, arena %d bytes, arena/lower bound %.4f, %s" % (
        sys.argv[1].split("/")[-1], s["name"], s["peak_bytes"], s["arena_bytes"], ratio, s["method"]))
PY
}

field() {  # field FILE SCHEDULE KEY
  /usr/bin/python3 -c "import json,sys; r=json.load(open(sys.argv[1])); \
print([s for s in r['schedules'] if s['name']==sys.argv[2]][0][sys.argv[3]])" "$@"
}

# The study-shaped CNN: 307200 -> 278528 bytes (300 -> 272 KiB, 9.33%).
"${memplan[@]}" --graph="$study" --out="$tmp/study.json" --svg_dir="$tmp" 2>"$tmp/stderr" ||
  fail "memplan on the study CNN exited $?: $(cat "$tmp/stderr")"
check_plan "$tmp/study.json" 1.0
[[ "$(field "$tmp/study.json" default peak_bytes)" == 307200 ]] || fail "default peak"
[[ "$(field "$tmp/study.json" reordered peak_bytes)" == 278528 ]] || fail "reordered peak"
grep -q '^reordered .* 9.33%  exact' "$tmp/stderr" || fail "no 9.33% exact row: $(cat "$tmp/stderr")"
for svg in arena_default arena_reordered live_memory; do
  grep -q '</svg>' "$tmp/$svg.svg" || fail "$svg.svg not written"
done
grep -c '<title>' "$tmp/arena_reordered.svg" | grep -qx 8 || fail "arena SVG lacks one rectangle per tensor"

# A state budget of 1: the fallback, said in the output.
"${memplan[@]}" --graph="$study" --max_states=1 --out="$tmp/fallback.json" 2>/dev/null ||
  fail "memplan --max_states=1 exited $?"
field "$tmp/fallback.json" reordered method | grep -q 'state budget of 1' || fail "fallback not stated"
check_plan "$tmp/fallback.json" 1.0 >/dev/null

# PyTorch-exported ResNet-18 and MobileNetV2: arenas within 5% of the bound.
for model in resnet18 mobilenet_v2; do
  "${memplan[@]}" --graph="$models/$model.onnx" --out="$tmp/$model.json" 2>"$tmp/$model.stderr" ||
    fail "memplan on $model exited $?: $(cat "$tmp/$model.stderr")"
  check_plan "$tmp/$model.json" 1.05
  grep '^time:' "$tmp/$model.stderr" | sed "s/^/$model /"
done
# --batch sets small_cnn's symbolic batch dimension: every activation but the
# shape tensors (Shape, Gather, Concat, ...) grows 4x, and so does the peak.
"${memplan[@]}" --graph="$models/small_cnn.onnx" --out="$tmp/small_b1.json" 2>/dev/null
"${memplan[@]}" --graph="$models/small_cnn.onnx" --batch=4 --out="$tmp/small_b4.json" 2>/dev/null
[[ "$(field "$tmp/small_b4.json" default peak_bytes)" == \
   "$(( 4 * $(field "$tmp/small_b1.json" default peak_bytes) ))" ]] || fail "--batch=4 peak"

# Bad input: exit 2, one line on stderr naming the file; an unwritable --out: exit 4.
expect_bad() {  # expect_bad EXIT_CODE MESSAGE_PART ARGS...
  local want=$1 part=$2
  shift 2
  set +e
  "${memplan[@]}" "$@" >/dev/null 2>"$tmp/bad.stderr"
  local code=$?
  set -e
  [[ $code == "$want" ]] || fail "$* exited $code, not $want: $(cat "$tmp/bad.stderr")"
  # Input errors stop before the table; an output error comes after it, last.
  [[ $want != 2 || $(wc -l <"$tmp/bad.stderr") == 1 ]] || fail "$* printed more than one line"
  tail -n 1 "$tmp/bad.stderr" | grep -qF -- "$part" ||
    fail "$*: '$part' not in: $(cat "$tmp/bad.stderr")"
}
printf '{"tensors": [' >"$tmp/truncated.json"
expect_bad 2 "$tmp/truncated.json: not valid JSON" --graph="$tmp/truncated.json"
sed 's/"outputs": \["logits"\]/"output": ["logits"]/' "$study" >"$tmp/unknown_key.json"
expect_bad 2 "$tmp/unknown_key.json: / has unknown key \"output\"" --graph="$tmp/unknown_key.json"
sed 's/"inputs": \["x", "w1"\]/"inputs": ["logits", "w1"]/' "$study" >"$tmp/cycle.json"
expect_bad 2 "$tmp/cycle.json: the graph has a cycle" --graph="$tmp/cycle.json"
sed 's/"size_bytes": 4096/"size_bytes": 0/' "$study" >"$tmp/zero.json"
expect_bad 2 "$tmp/zero.json: tensor 'logits' has size_bytes 0" --graph="$tmp/zero.json"
sed 's/"inputs": \["D", "w6"\]/"inputs": ["E", "w6"]/' "$study" >"$tmp/dangling.json"
expect_bad 2 "$tmp/dangling.json: operator 'fc' reads 'E'" --graph="$tmp/dangling.json"
head -c 1000 "$models/resnet18.onnx" >"$tmp/truncated.onnx"
expect_bad 2 "$tmp/truncated.onnx: not an ONNX model" --graph="$tmp/truncated.onnx"
expect_bad 2 "$tmp/missing.json: cannot open" --graph="$tmp/missing.json"
expect_bad 2 "batch is 0" --graph="$models/mobilenet_v2.onnx" --batch=0
expect_bad 2 "--graph is required"
expect_bad 4 "/nonexistent/dir/plan.json" --graph="$study" --out=/nonexistent/dir/plan.json
echo "PASS"
