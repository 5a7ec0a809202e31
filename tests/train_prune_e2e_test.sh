#!/usr/bin/env bash
# End to end: the README's main job as a user runs it, on its built-in
# defaults: LeNet-5 on the real Fashion-MNIST files, 2 epochs of gradual
# magnitude pruning to 80%. Checks the JSON result, then that bad input fails
# with one line naming the file and exit code 2.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
out="$TEST_TMPDIR/result.json"

fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --out="$out" 2>"$TEST_TMPDIR/stderr" ||
  fail "train_prune exited $?: $(cat "$TEST_TMPDIR/stderr")"
# Not a terminal: one line per epoch and a summary, no progress bar redraws.
grep -q $'\r' "$TEST_TMPDIR/stderr" && fail "progress bar drawn on a non-terminal"
grep -q '^epoch 2/2 ' "$TEST_TMPDIR/stderr" || fail "no epoch line on stderr"

field() { sed -n "s/^  \"$1\": \\(.*\\),\$/\\1/p" "$out"; }
[[ "$(field schema_version)" == 1 ]] || fail "schema_version is '$(field schema_version)'"
[[ "$(field parameter_count)" == 61706 ]] || fail "parameter_count is '$(field parameter_count)'"
top1=$(field test_top1)
awk -v top1="$top1" 'BEGIN { exit !(top1 >= 85.0) }' ||
  fail "test top-1 after the default run is $top1%, below 85%"
# Global 80% over conv2, fc1 and fc2: floor(0.8 * 60,480) = 48,384 zeros.
/usr/bin/python3 - "$out" <<'PY' || fail "sparsity of the default run"
import json, sys
r = json.load(open(sys.argv[1]))
zeros = sum(l["zeros"] for l in r["sparsity_report"]["layers"] if l["name"] in ("conv2", "fc1", "fc2"))
assert zeros == 48384, zeros
PY
echo "test top-1 after the default run (2 epochs, GMP to 80%): $top1%"

# A truncated images file: exit 2, one line, the file named.
bad_dir="$TEST_TMPDIR/bad"
mkdir -p "$bad_dir"
cp "$data_dir"/*labels* "$bad_dir"/
head -c 100000 "$data_dir/train-images-idx3-ubyte.gz" >"$bad_dir/train-images-idx3-ubyte.gz"
set +e
"$train_prune" --data_dir="$bad_dir" --out="$TEST_TMPDIR/bad.json" 2>"$TEST_TMPDIR/bad_stderr"
code=$?
set -e
[[ $code == 2 ]] || fail "truncated data exited $code, expected 2"
[[ $(wc -l <"$TEST_TMPDIR/bad_stderr") == 1 ]] || fail "error is not one line: $(cat "$TEST_TMPDIR/bad_stderr")"
grep -q "train-images-idx3-ubyte.gz" "$TEST_TMPDIR/bad_stderr" || fail "error does not name the file"
[[ ! -e "$TEST_TMPDIR/bad.json" ]] || fail "a result was written for a failed run"
echo "truncated data: $(cat "$TEST_TMPDIR/bad_stderr")"

# A missing folder: also exit 2.
set +e
"$train_prune" --data_dir="$TEST_TMPDIR/nowhere" 2>/dev/null
code=$?
set -e
[[ $code == 2 ]] || fail "missing data exited $code, expected 2"
echo "PASS"
