#!/usr/bin/env bash
# Fused-tile partitioning across network namespaces: two tile_workers, each
# in its own namespace behind a veth pair with 2 ms of netem delay (when tc
# can add it), as two boards on a link. The 2x2 tiles of MobileNet-v2's first
# six layers equal the whole model; then one board's link goes down and its
# tiles time out and run on the other. Skips, saying why, where namespaces
# cannot be made (not root, no iproute2, a sandbox without the permission).
set -euo pipefail

worker="$TEST_SRCDIR/edgecompress/tools/tile_worker/tile_worker"
tile_bench="$TEST_SRCDIR/edgecompress/tools/bench/tile_bench"
model="$TEST_SRCDIR/edgecompress/inference/testdata/mobilenet_v2.onnx"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }

[[ $(id -u) == 0 ]] || skip "network namespaces need root"
command -v ip >/dev/null || skip "no ip(8) (iproute2)"
tag="ec$$"
ns=("${tag}a" "${tag}b")
cleanup() {
  for n in "${ns[@]}"; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$n" 2>/dev/null || true
  done
}
trap cleanup EXIT
ip netns add "${ns[0]}" 2>"$tmp/netns.err" || skip "cannot make a namespace: $(cat "$tmp/netns.err")"
ip netns add "${ns[1]}"

endpoints=()
for i in 0 1; do
  n=${ns[$i]} gw="${tag}g$i" dev="${tag}w$i" net="10.$((200 + i)).$(($$ % 250)).0"
  ip link add "$gw" type veth peer name "$dev"
  ip link set "$dev" netns "$n"
  ip addr add "${net%.0}.1/24" dev "$gw"
  ip link set "$gw" up
  ip netns exec "$n" ip addr add "${net%.0}.2/24" dev "$dev"
  ip netns exec "$n" ip link set "$dev" up
  ip netns exec "$n" ip link set lo up
  tc qdisc add dev "$gw" root netem delay 2ms 2>/dev/null || echo "no netem: links without delay"
  ip netns exec "$n" "$worker" --listen="${net%.0}.2:7000" >"$tmp/w$i.out" 2>"$tmp/w$i.err" &
  endpoints+=("${net%.0}.2:7000")
done
for i in 0 1; do
  for _ in $(seq 100); do grep -q "listening on" "$tmp/w$i.out" && break; sleep 0.1; done
  grep -q "listening on" "$tmp/w$i.out" || fail "worker $i did not start: $(cat "$tmp/w$i.err")"
done

run() {  # run <name>: tile_bench on both boards, 2x2 tiles
  "$tile_bench" --model="$model" --fused_layers=6 --grids=2x2 \
    --workers="${endpoints[0]},${endpoints[1]}" --tile_timeout_seconds=1 \
    --warmup=1 --min_reps=2 --min_seconds=0 --out="$tmp/$1.json" 2>"$tmp/$1.err" ||
    fail "tile_bench ($1) exited $?: $(cat "$tmp/$1.err")"
  cat "$tmp/$1.err"
}
check() {  # check <name> <failed attempts per run>
  /usr/bin/python3 - "$tmp/$1.json" "$2" <<'PY' || fail "$1 result"
import json, sys
r = json.load(open(sys.argv[1]))
g = r["grids"][0]
assert g["max_abs_difference"] <= 1e-4, g
runs = g["tiled_latency_ms"]["repetitions"] + 1
assert g["failed_attempts"] == int(sys.argv[2]) * runs, (g["failed_attempts"], runs)
PY
}
run both
check both 0
ip link set "${tag}g1" down  # board b drops off the network
run one_down
check one_down 1
echo PASS
