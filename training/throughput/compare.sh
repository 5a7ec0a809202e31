#!/usr/bin/env bash
# Training throughput of edgecompress beside PyTorch in Python, in one run:
# each model is measured ROUNDS times alternately by ours (channels-last
# batches, the default, and NCHW batches as with --nochannels_last) and PyTorch (the machine is
# noisy, so alternate and take medians), then a table with the ratio. Each
# measurement runs a few seconds (LeNet-5 600 steps, ResNet-20 100): shorter
# ones swung by +-25% here.
#
#   bazel run -c opt //training/throughput:compare -- [ROUNDS] [THREADS]
#
# Both use Debian's LibTorch 1.13 with the same BLAS and the same threads.
set -euo pipefail

rounds=${1:-3}
threads=${2:-2}
here="${BASH_SOURCE[0]}.runfiles/edgecompress/training/throughput"
[[ -d "$here" ]] || here="$(dirname "$0")"
ours="$here/train_throughput"
peer="$here/train_throughput.py"
python=/usr/bin/python3
"$python" -c "import torch" 2>/dev/null ||
  { echo "compare: $python cannot import torch; run third_party/setup.sh --peers" >&2; exit 2; }
export OMP_WAIT_POLICY=PASSIVE

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { sed -n 's/.*"images_per_second": *\([0-9.e+]*\).*/\1/p'; }

printf "%-10s %5s %7s %10s %10s %12s %10s %8s\n" model batch threads "ours NCHW" "ours NHWC" PyTorch "NCHW ratio" "NHWC ratio"
for model in lenet5 resnet20; do
  steps=$([[ $model == lenet5 ]] && echo 600 || echo 100)
  flags=(--model="$model" --threads="$threads" --steps="$steps")
  ours_rates=() nhwc_rates=() peer_rates=()
  for ((i = 0; i < rounds; i++)); do
    ours_rates+=("$("$ours" "${flags[@]}" --nochannels_last | rate)")
    nhwc_rates+=("$("$ours" "${flags[@]}" | rate)")
    peer_rates+=("$("$python" "$peer" "${flags[@]}" | rate)")
  done
  a=$(printf "%s\n" "${ours_rates[@]}" | median)
  c=$(printf "%s\n" "${nhwc_rates[@]}" | median)
  b=$(printf "%s\n" "${peer_rates[@]}" | median)
  printf "%-10s %5d %7d %10.0f %10.0f %12.0f %9.2fx %7.2fx\n" "$model" 64 "$threads" "$a" "$c" "$b" \
    "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')" "$(awk -v a="$c" -v b="$b" 'BEGIN { print a / b }')"
done
