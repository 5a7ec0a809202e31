#!/usr/bin/env bash
# End to end: data-parallel train_prune as a user launches it, two processes
# on loopback (rank 0 hosts the TCPStore). Both replicas must end identical:
# the same test accuracy and loss to the last digit; rank 0 alone writes.
# Then both resume from rank 0's checkpoint in the shared folder for one more
# epoch (a rank > 0 given the same --output_dir reads it and writes nothing).
set -euo pipefail

train_prune="$TEST_SRCDIR/edgecompress/tools/train_prune/train_prune"
data_dir="$TEST_SRCDIR/fashion_mnist"
fail() { echo "FAIL: $*" >&2; exit 1; }
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

for rank in 0 1; do
  timeout 300 "$train_prune" --data_dir="$data_dir" --epochs=1 --batch_size=64 --threads=1 \
    --world_size=2 --rank=$rank --master_port="$port" --sparsity=0.5 \
    --output_dir="$TEST_TMPDIR/run$rank" --out="$TEST_TMPDIR/rank$rank.json" \
    2>"$TEST_TMPDIR/rank$rank.log" &
  pids[$rank]=$!
done
for rank in 0 1; do
  wait "${pids[$rank]}" || fail "rank $rank exited $?: $(tail -n 3 "$TEST_TMPDIR/rank$rank.log")"
done

[[ -s "$TEST_TMPDIR/run0/model.onnx" ]] || fail "rank 0 wrote no model"
[[ ! -e "$TEST_TMPDIR/run1" ]] || fail "rank 1 wrote outputs"
/usr/bin/python3 - "$TEST_TMPDIR/rank0.json" "$TEST_TMPDIR/rank1.json" <<'PY'
import json, sys
r0, r1 = (json.load(open(p)) for p in sys.argv[1:3])
assert r0["data_parallel"] == {"world_size": 2, "rank": 0}, r0.get("data_parallel")
assert r0["after"] == r1["after"], (r0["after"], r1["after"])
assert r0["sparsity_report"]["layers"] == r1["sparsity_report"]["layers"]
assert r0["after"]["test_top1"] > 80, r0["after"]
print("2 ranks, global batch 64: test top-1 %.2f%% on both" % r0["after"]["test_top1"])
PY

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
for rank in 0 1; do
  timeout 300 "$train_prune" --data_dir="$data_dir" --epochs=2 --batch_size=64 --threads=1 \
    --world_size=2 --rank=$rank --master_port="$port" --sparsity=0.5 --resume \
    --output_dir="$TEST_TMPDIR/run0" --out="$TEST_TMPDIR/resumed$rank.json" \
    2>"$TEST_TMPDIR/resumed$rank.log" &
  pids[$rank]=$!
done
for rank in 0 1; do
  wait "${pids[$rank]}" || fail "resumed rank $rank exited $?: $(tail -n 3 "$TEST_TMPDIR/resumed$rank.log")"
done
/usr/bin/python3 - "$TEST_TMPDIR/rank0.json" "$TEST_TMPDIR/resumed0.json" "$TEST_TMPDIR/resumed1.json" <<'PY'
import json, sys
first, r0, r1 = (json.load(open(p)) for p in sys.argv[1:4])
# Both ranks start from the checkpoint (the model epoch 1 ended with) and end equal.
assert r0["before"] == first["after"] and r1["before"] == first["after"], (r0["before"], first["after"])
assert r0["after"] == r1["after"], (r0["after"], r1["after"])
assert [e["epoch"] for e in r0["epochs"]] == [1, 2], r0["epochs"]  # epoch 1 from the checkpoint
print("resumed on both ranks: test top-1 %.2f%% -> %.2f%%" % (first["after"]["test_top1"], r0["after"]["test_top1"]))
PY
echo PASS
