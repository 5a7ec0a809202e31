#!/usr/bin/env bash
# End to end: int8 quantization-aware training in train_prune on the real
# Fashion-MNIST files. LeNet-5 trains one epoch in fp32, then one with every
# conv and linear layer's weights (per channel) and inputs (per tensor, on
# observed ranges) fake-quantized; model_int8.onnx is the QDQ model with
# the ranges training observed (the logits' range calibrated), and its top-1
# through the int8 runtime is close to the fake-quantized top-1. With GMP
# the pruned zeros stay zero on the int8 grid. A recipe's
# !QuantizationModifier does the same; bad settings fail in one line, exit 2.
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
tmp="$TEST_TMPDIR"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$train_prune" --data_dir="$data_dir" --epochs=2 --sparsity=0.5 --prune_start_epoch=0 \
  --prune_end_epoch=1 --qat_start_epoch=1 --threads=2 --output_dir="$tmp/run" \
  --out="$tmp/run.json" 2>"$tmp/run.stderr" ||
  fail "train_prune --qat_start_epoch exited $?: $(tail -3 "$tmp/run.stderr")"
grep -q "int8 QAT: fake-quant top-1" "$tmp/run.stderr" || fail "no QAT line: $(tail -5 "$tmp/run.stderr")"
/usr/bin/python3 - "$tmp/run.json" "$tmp/run/model_int8.onnx" <<'PY' || fail "QAT result"
import json, os, sys
r = json.load(open(sys.argv[1]))
q = r["int8_qat"]
assert q["active"] and q["start_epoch"] == 1 and q["layers"] == 5, q
# Every layer input maps to a QDQ activation; only the logits are calibrated.
assert q["ranges_from_training"] == 5 and q["calibrated"] == ["logits"], q
assert q["int8_nodes"] == 5, q
assert q["fake_quant_top1"] == r["after"]["test_top1"] >= 75, (q, r["after"])
assert abs(q["onnx_int8_top1"] - q["fake_quant_top1"]) < 1.0, q
assert r["artifacts"]["onnx_int8"] == sys.argv[2], r["artifacts"]
assert os.path.getsize(sys.argv[2]) == q["onnx_int8_bytes"] < r["onnx_bytes"] / 3, q
# Pruned zeros survive the int8 grid (zero is on it): GMP's 50% stands.
fc1 = [l for l in r["sparsity_report"]["layers"] if l["name"] == "fc1"][0]
assert fc1["sparsity"] >= 0.5, fc1
print("qat:", q["fake_quant_top1"], "->", q["onnx_int8_top1"], "fc1 sparsity", fc1["sparsity"])
PY

# The same through a recipe.
cat >"$tmp/qat.yaml" <<'YAML'
version: 1
modifiers:
  - !EpochRangeModifier {start_epoch: 0, end_epoch: 2}
  - !QuantizationModifier {start_epoch: 1}
YAML
"$train_prune" --data_dir="$data_dir" --sparsity=0 --threads=2 --recipe="$tmp/qat.yaml" \
  --output_dir="$tmp/recipe" --out="$tmp/recipe.json" 2>"$tmp/recipe.stderr" ||
  fail "train_prune --recipe with !QuantizationModifier exited $?: $(tail -3 "$tmp/recipe.stderr")"
/usr/bin/python3 - "$tmp/recipe.json" <<'PY' || fail "QAT recipe result"
import json, sys
q = json.load(open(sys.argv[1]))["int8_qat"]
assert q["active"] and q["start_epoch"] == 1 and q["onnx_int8_top1"] >= 75, q
PY

expect_bad_flag() {  # expect_bad_flag <substring> <flags...>
  local want="$1"; shift
  local rc=0
  "$train_prune" --data_dir="$data_dir" --epochs=2 --sparsity=0 "$@" \
    >/dev/null 2>"$tmp/bad.stderr" || rc=$?
  ((rc == 2)) || fail "$* exited $rc, want 2: $(cat "$tmp/bad.stderr")"
  grep -q -- "$want" "$tmp/bad.stderr" || fail "$*: no '$want' in: $(cat "$tmp/bad.stderr")"
}
expect_bad_flag "QAT starts at epoch 2, but training ends after epoch 1" --qat_start_epoch=2
expect_bad_flag "--qat_start_epoch=-3: expected an epoch >= 0" --qat_start_epoch=-3
expect_bad_flag "cannot be combined with low-bit" --qat_start_epoch=1 --low_bit=fc1:1
sed 's/start_epoch: 1}/start_epoch: 1, bits: 4}/' "$tmp/qat.yaml" >"$tmp/bad_bits.yaml"
expect_bad_flag "bad_bits.yaml:4: !QuantizationModifier bits: 4" --recipe="$tmp/bad_bits.yaml"
expect_bad_flag "give --qat_start_epoch or a !QuantizationModifier" --recipe="$tmp/qat.yaml" \
  --qat_start_epoch=0
echo PASS
