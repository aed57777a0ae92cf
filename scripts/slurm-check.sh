#!/usr/bin/env bash
# Checks the Slurm recipe of docs/CLUSTER.md for real, on this machine:
#   1. installs Slurm and munge (Debian packages, pinned to the versions this was checked with when available),
#   2. starts a single-node cluster (munged, slurmctld, slurmd on localhost, everything under a temp dir),
#   3. publishes the CLI and submits examples/sweep.json as a job array of scripts/sweep.sbatch (3 shards),
#   4. waits, merges the shards with `lmexplore merge`,
#   5. runs the same sweep unsharded and checks that both result sets have the same run keys and the
#      same numbers (wall time aside).
# Exit code 0 only if they agree. The daemons it started are stopped on exit, whatever happens.
# Needs root (apt-get, munged). Not part of the test suite: it installs system packages.
#
#   scripts/slurm-check.sh [SHARDS]        (default 3)
set -euo pipefail

shards="${1:-3}"
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
slurm_version="22.05.8-4+deb12u3"   # Debian 12's, the version this script was checked with
munge_version="0.5.15-2+deb12u1"
started=$(date +%s)
say() { echo "slurm-check [$(( $(date +%s) - started )) s]: $*" >&2; }
fail() { echo "slurm-check: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (apt-get install, munged)"
command -v dotnet >/dev/null || fail "dotnet is not on PATH"

# 1. Packages. Pin the checked versions when the archive still has them; otherwise take the candidate.
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurmctld, slurmd, slurm-client, munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  pkgs=(slurmctld slurmd slurm-client munge)
  if apt-cache show "slurmctld=$slurm_version" >/dev/null 2>&1 && apt-cache show "munge=$munge_version" >/dev/null 2>&1; then
    pkgs=("slurmctld=$slurm_version" "slurmd=$slurm_version" "slurm-client=$slurm_version" "munge=$munge_version")
  else
    say "warning: pinned versions not available; installing the archive's candidates"
  fi
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
say "slurm $(slurmctld -V | awk '{print $2}'), munge $(munged --version 2>&1 | awk '{print $1}' | head -1)"

# 2. A private single-node cluster under a temp dir. Ports 6817/6818 on loopback.
work="$(mktemp -d /tmp/slurm-check.XXXXXX)"
export SLURM_CONF="$work/etc/slurm.conf"
mkdir -p "$work"/{etc,munge,state,spool,log,run}
cleanup() {
  local code=$?
  for pidfile in "$work/run/slurmd.pid" "$work/run/slurmctld.pid" "$work/munge/munged.pid"; do
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  sleep 1
  if [ "$code" -ne 0 ]; then
    echo "slurm-check: logs kept in $work (slurmctld: $work/log/slurmctld.log, tasks: $work/logs/)" >&2
  else
    rm -rf "$work"
  fi
  exit "$code"
}
trap cleanup EXIT

for port in 6817 6818; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then fail "port $port is in use (another Slurm running?)"; fi
done

dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/munge.socket" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
munge -n --socket="$work/munge/munge.socket" | unmunge --socket="$work/munge/munge.socket" >/dev/null || fail "munge does not work"

host="$(hostname -s)"
cpus="$(nproc)"
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
cat >"$SLURM_CONF" <<EOF
ClusterName=lmexplore-check
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/run/slurmctld.pid
SlurmdPidFile=$work/run/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
MailProg=/bin/true
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
NodeName=$host CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -i -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF"
for _ in $(seq 1 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qx idle; then break; fi
  sleep 0.5
done
sinfo -h -o '%T' | grep -qx idle || fail "the node did not become idle: $(sinfo 2>&1 | tail -1)"
say "cluster up: node $host idle ($cpus CPUs, ${mem_mb} MB)"

# 3. The recipe of docs/CLUSTER.md: publish once, submit the array, wait.
say "dotnet publish src/LmExplore.Cli"
dotnet publish "$root/src/LmExplore.Cli" -c Release -o "$work/lmexplore" --nologo -v quiet >"$work/log/publish.log" 2>&1 \
  || { cat "$work/log/publish.log" >&2; fail "dotnet publish failed"; }
config="$root/examples/sweep.json"
out="$work/results/example"
cd "$work"
mkdir -p logs
submitted=$(date +%s)
job=$(sbatch --parsable --array="1-$shards" --export="ALL,N=$shards,LMEXPLORE=$work/lmexplore,CONFIG=$config,OUT=$out" "$root/scripts/sweep.sbatch")
job="${job%%;*}"
say "submitted job array $job (shards 1-$shards of $config)"
for _ in $(seq 1 1200); do
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
  sleep 0.5
done
[ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && say "job array $job finished in $(( $(date +%s) - submitted )) s" || fail "job array $job still queued or running after 10 min"
completed=$(scontrol -o show job "$job" 2>/dev/null | grep -c 'JobState=COMPLETED' || true)
if [ "$completed" -ne "$shards" ]; then
  scontrol -o show job "$job" | grep -o 'ArrayTaskId=[^ ]* JobState=[^ ]*' >&2 || true
  tail -n 5 logs/*.out >&2 || true
  fail "$completed of $shards array tasks completed"
fi

# 4. Merge the shards.
lmx() { dotnet "$work/lmexplore/LmExplore.Cli.dll" "$@"; }
lmx merge --out "$work/sharded.jsonl" "$out" >&2

# 5. The same sweep, unsharded, on this machine; then the two result sets, wall time aside.
lmx sweep --config "$config" --out "$work/unsharded" >&2
lmx merge --out "$work/unsharded.jsonl" "$work/unsharded" >&2
strip() { sed -E 's/"wall_seconds":[^,}]*,?//' "$1"; }
runs=$(wc -l <"$work/unsharded.jsonl")
if ! diff <(strip "$work/sharded.jsonl") <(strip "$work/unsharded.jsonl") >"$work/diff.txt"; then
  head -c 2000 "$work/diff.txt" >&2
  fail "the merged shards differ from the unsharded sweep"
fi
[ "$runs" -gt 0 ] || fail "no runs"
say "OK: $shards Slurm array tasks merged = the unsharded sweep ($runs runs, same keys and numbers, wall time aside); total $(( $(date +%s) - started )) s"
