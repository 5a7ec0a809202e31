#!/usr/bin/env bash
# End to end: `sweep run --backend=slurm` against a real one-node SLURM
# cluster (Debian's slurm-wlm + munge), started here as root when none is
# running (../shared/docs/slurm-local.md) and stopped again by PID. Trials
# are the fake trial program (fast): every trial must finish exactly once,
# with its exit code, log and result collected from the sweep folder; a
# failing trial is recorded, not fatal. Where a cluster cannot be started
# (not root, no slurm or munge binaries) the test skips with one line.
set -euo pipefail

# Under `bazel test --config=aarch64`, through qemu (third_party/aarch64/qemu_run.sh).
sweep=(${TARGET_EMULATOR:-} "$TEST_SRCDIR/edgecompress/tools/sweep/sweep")
fake="$TEST_SRCDIR/edgecompress/sweep/testdata/fake_trial.sh"
tmp="$TEST_TMPDIR"

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 0; }

started=()  # PIDs of the daemons this test started
state=""     # their folder
cleanup() {
  for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${started[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  [[ -z "$state" ]] || rm -rf "$state"
}
trap cleanup EXIT

if ! sinfo -h >/dev/null 2>&1; then
  ((EUID == 0)) || skip "no SLURM cluster is running and only root can start one"
  for binary in slurmctld slurmd munged munge sbatch; do
    command -v "$binary" >/dev/null || skip "no $binary (third_party/setup.sh installs slurm-wlm and munge)"
  done
  # Munge: a key and the daemon, unless one already answers.
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    if [[ ! -s /etc/munge/munge.key ]]; then
      dd if=/dev/urandom bs=1024 count=1 of=/etc/munge/munge.key status=none
    fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /var/run/munge /var/log/munge /var/lib/munge
    chown munge:munge /var/run/munge /var/log/munge /var/lib/munge
    su -s /bin/sh munge -c /usr/sbin/munged || skip "munged did not start"
    started+=("$(cat /var/run/munge/munged.pid)")
    munge -n | unmunge >/dev/null || skip "munge does not answer"
  fi
  host=$(hostname -s)
  memory_mib=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
  # Not under $TEST_TMPDIR: slurmd makes Unix sockets in its spool folder,
  # and Bazel's paths are longer than a socket path may be (108 bytes).
  state=$(mktemp -d /tmp/slurm.XXXXXX)
  mkdir -p "$state/state" "$state/spool"
  cat >"$state/slurm.conf" <<CONF
ClusterName=sweeptest
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmUser=root
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/slurmctld.log
SlurmdLogFile=$state/slurmd.log
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
NodeName=$host CPUs=$(nproc) RealMemory=$memory_mib State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$state/slurm.conf"
  slurmctld -D -f "$SLURM_CONF" >/dev/null 2>&1 &
  started+=("$!")
  slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
  started+=("$!")
  for _ in $(seq 60); do
    sinfo -h -o %t 2>/dev/null | grep -q idle && break
    sleep 0.5
  done
  sinfo -h -o %t 2>/dev/null | grep -q idle ||
    fail "the one-node cluster did not come up: $(tail -3 "$state/slurmctld.log" 2>/dev/null)"
  echo "started a one-node SLURM cluster on $host"
fi

# Four trials, at most 2 submitted at a time.
cat >"$tmp/slurm.yaml" <<YAML
program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  x: {values: [1, 2, 3, 5]}
  mode: {values: [ok]}
  iterations: {value: 2}
YAML
export FAKE_TRIAL_INVOCATIONS="$tmp/invocations.txt"
"${sweep[@]}" run --backend=slurm --config="$tmp/slurm.yaml" --dir="$tmp/sweep" --workers=2 \
  --program="$fake" --timeout_s=300 2>"$tmp/sweep.err" ||
  fail "slurm sweep exited $?: $(cat "$tmp/sweep.err")"
cat "$tmp/sweep.err"
finished=$(grep -c ' finished ' "$tmp/sweep.err" || true)
[[ $finished == 4 ]] || fail "$finished of 4 trials finished"
runs=$(wc -l <"$tmp/invocations.txt")
[[ $runs == 4 ]] || fail "$runs trial runs for 4 trials (each must run exactly once)"
grep -q '^best: trial 2, after.score 10' "$tmp/sweep.err" || fail "no best line"
for id in 0 1 2 3; do
  [[ -s "$tmp/sweep/trials/$id/result.json" ]] || fail "trial $id has no result.json"
  [[ $(cat "$tmp/sweep/trials/$id/exit_code") == 0 ]] || fail "trial $id exit code"
  grep -q '^[0-9]*_[0-9]*$' "$tmp/sweep/trials/$id/slurm_job" || fail "trial $id has no job id"
done

# A failing trial is recorded with its exit code; the sweep goes on.
cat >"$tmp/failing.yaml" <<YAML
program: fake
method: grid
metric: {name: after.score, goal: maximize}
parameters:
  x: {values: [1, 2]}
  mode: {values: [ok, fail]}
  iterations: {value: 1}
YAML
"${sweep[@]}" run --backend=slurm --config="$tmp/failing.yaml" --dir="$tmp/failing" --workers=4 \
  --program="$fake" 2>"$tmp/failing.err" || fail "failing sweep exited $?: $(cat "$tmp/failing.err")"
grep -q '^sweep: 4/4 done (2 failed)' "$tmp/failing.err" ||
  fail "failed trials not recorded: $(cat "$tmp/failing.err")"

# sbatch's own errors are one line and stop the sweep with exit 3.
set +e
"${sweep[@]}" run --backend=slurm --sbatch_args=--partition=no_such_partition \
  --config="$tmp/slurm.yaml" --dir="$tmp/bad" --program="$fake" 2>"$tmp/bad.err"
code=$?
set -e
[[ $code == 3 ]] || fail "a bad partition exited $code: $(cat "$tmp/bad.err")"
grep -q 'sbatch failed (exit 1): sbatch: error: .*[Pp]artition' "$tmp/bad.err" ||
  fail "no sbatch error line: $(cat "$tmp/bad.err")"
echo PASS
