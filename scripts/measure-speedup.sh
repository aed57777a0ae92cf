#!/usr/bin/env bash
# Measures the parallel speed-up of a CPU-bound sweep: the same sweep with --parallel 1 and --parallel N
# (default N = 2), wall time of each, speed-up = T(1)/T(N). Prints a Markdown section; with --write it
# replaces the block between the speed-up markers in docs/PERFORMANCE.md.
#
#   scripts/measure-speedup.sh [--parallel N] [--runs R] [--write]
set -euo pipefail
cd "$(dirname "$0")/.."
n=2; runs=40; write=0
while [ $# -gt 0 ]; do
  case "$1" in
    --parallel) n="$2"; shift 2;;
    --runs) runs="$2"; shift 2;;
    --write) write=1; shift;;
    *) echo "unknown argument $1" >&2; exit 2;;
  esac
done

dotnet build src/LmExplore.Cli -c Release -nologo -v q >/dev/null
cli="src/LmExplore.Cli/bin/Release/net10.0/LmExplore.Cli.dll"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Equal-cost CPU-bound runs: SpannerSampling on needle at C_cov = 3000 (≈ 3.4·10^6 oracle samples each).
cat > "$work/sweep.json" <<JSON
{ "format": "lmexplore.sweep/v1", "name": "speedup", "sweepSeed": 42, "instance": "needle",
  "instanceParams": { "ccov": 3000, "R": 1.5, "beta": 0.1, "d": 4, "prompts": 8, "responses": 2000, "noise": "gaussian", "sigma": 0.1 },
  "algorithms": [ { "name": "spanner", "params": { "epsilon": 0.01 } } ],
  "budgetComp": 6000000, "seeds": $runs }
JSON

timed() { # prints "wall cpu" seconds of one sweep (cpu = user + system of the process)
  CI=true /usr/bin/time -f "%e %U %S" -o "$work/time-$1" dotnet "$cli" sweep --config "$work/sweep.json" --out "$work/out-$1" --parallel "$1" >/dev/null
  read -r wall user sys < "$work/time-$1"
  echo "$wall $(echo "$user + $sys" | bc -l)"
}
# Ceiling the machine offers right now: the same single-threaded busy loop alone, then N copies at once.
# On an idle N-core machine the copies take as long as one (ceiling = N); on a shared one they take longer.
spin() { local s e i=0; s=$(date +%s.%N); while [ $i -lt 1000000 ]; do i=$((i+1)); done; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
ceiling() {
  local one many
  one=$(spin)
  many=$( (for _ in $(seq "$n"); do spin & done; wait) | sort -n | tail -1)
  echo "$n * $one / $many" | bc -l
}
ceil_before=$(ceiling)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
read -r t1 c1 < <(timed 1)
read -r tn cn < <(timed "$n")
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
ceil_after=$(ceiling)
# Same results whatever the parallelism (wall time aside).
strip() { python3 -c "import json,sys; print('\n'.join(sorted(json.dumps({k:v for k,v in json.loads(l).items() if k!='wall_seconds'}, sort_keys=True) for l in open(sys.argv[1]))))" "$1"; }
if [ "$(strip "$work/out-1/results.jsonl")" = "$(strip "$work/out-$n/results.jsonl")" ]; then same="identical"; else same="DIFFERENT"; fi
speedup=$(echo "$t1 / $tn" | bc -l)

report=$(cat <<MD
# Sweep parallel speed-up

Measured by \`scripts/measure-speedup.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC').

A CPU-bound sweep of $runs equal runs (SpannerSampling on \`needle\`, C_cov = 3000, compute budget 6·10^6,
≈ 3.4·10^6 sampling-oracle calls per run; Release build), run twice with \`lmexplore sweep\`:

| --parallel | wall time (s) | CPU time (s) | cores busy (CPU / wall) |
|---:|---:|---:|---:|
| 1 | $(printf '%.2f' "$t1") | $(printf '%.2f' "$c1") | $(printf '%.2f' "$(echo "$c1 / $t1" | bc -l)") |
| $n | $(printf '%.2f' "$tn") | $(printf '%.2f' "$cn") | $(printf '%.2f' "$(echo "$cn / $tn" | bc -l)") |

**Speed-up $(printf '%.2f' "$speedup")×** with $n parallel runs (target ≥ 1.7× on 2 cores). Results of the two sweeps: $same (wall time aside).

Ceiling the machine offered at the time (a single-threaded busy loop alone vs $n copies at once; $n on an idle
machine): $(printf '%.2f' "$ceil_before")× before, $(printf '%.2f' "$ceil_after")× after the sweeps.

Machine: \`nproc\` = $(nproc); $(lscpu | grep -E '^Model name' | sed 's/  */ /g'); $(lscpu | grep -E '^(Thread\(s\) per core|Core\(s\) per socket)' | sed 's/  */ /g' | paste -sd';' -); .NET $(dotnet --version); $(uname -sr).
Load average (1, 5, 15 min) before: $load_before; after: $load_after. The machine may be shared: other processes
competing for the cores lower the measured speed-up, so quote it with the load. "Cores busy" near $n
with --parallel $n means the sweep itself does not serialize; a speed-up below it means the cores were shared.
MD
)
echo "$report"
if [ "$write" = 1 ]; then
  doc=docs/PERFORMANCE.md
  grep -q '<!-- sweep-speedup:begin -->' "$doc" || { echo "error: $doc has no sweep-speedup markers" >&2; exit 1; }
  tmp="$(mktemp "$doc.XXXXXX")"
  REPORT="$report" python3 - "$doc" > "$tmp" <<'PY'
import os, sys
text = open(sys.argv[1], encoding="utf-8").read()
begin, end = "<!-- sweep-speedup:begin -->", "<!-- sweep-speedup:end -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
report = os.environ["REPORT"].split("\n", 1)[1].lstrip("\n")  # drop the report's own title line
sys.stdout.write(head + begin + "\n" + report.rstrip("\n") + "\n" + end + tail)
PY
  mv "$tmp" "$doc"
  echo "updated $doc" >&2
fi
