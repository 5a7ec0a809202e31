#!/bin/sh
# A stand-in for train_prune in controller tests: takes --name=value flags,
# logs "score=<v>" once per iteration like an epoch line, writes a result JSON
# to --out and exits as --mode says. score = 10 - (x - 3)^2 at the last
# iteration and rises to it linearly over --iterations.
x=0; mode=ok; iterations=3; out=""; sleep_s=0
for arg in "$@"; do
  case "$arg" in
    --x=*) x="${arg#--x=}" ;;
    --mode=*) mode="${arg#--mode=}" ;;
    --iterations=*) iterations="${arg#--iterations=}" ;;
    --sleep_s=*) sleep_s="${arg#--sleep_s=}" ;;
    --out=*) out="${arg#--out=}" ;;
  esac
done
# One line per invocation, so tests can count how often a trial ran.
echo "x=$x mode=$mode" >> "${FAKE_TRIAL_INVOCATIONS:-/dev/null}"
final=$(awk -v x="$x" 'BEGIN { print 10 - (x - 3) * (x - 3) }')
i=1
while [ "$i" -le "$iterations" ]; do
  awk -v f="$final" -v i="$i" -v n="$iterations" 'BEGIN { printf "iteration %d score=%g\n", i, f * i / n }'
  sleep "$sleep_s"
  i=$((i + 1))
done
case "$mode" in
  hang) sleep 60 ;;
  fail) echo "fake_trial: training failed" >&2; exit 3 ;;
  noresult) exit 0 ;;
esac
printf '{"schema_version": 1, "score": %s, "after": {"score": %s}}\n' "$final" "$final" > "$out"
[ "$mode" = ruin ] && { echo "fake_trial: run ruined: loss diverged" >&2; exit 5; }
exit 0
