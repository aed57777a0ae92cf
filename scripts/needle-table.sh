#!/usr/bin/env bash
# Regenerates the needle table of README.md and docs/EXPERIMENTS-needle.md: for C_cov in 10, 100, 1000, 10^4
# (β = 0.1, R = 1, σ = 0.1, d = 4, 8 prompts × 2000 responses; ε = 0.008, δ = 0.1, seeds 1..10), runs
#   lmexplore frontier --algo spanner   (compute-to-ε, then data-to-ε under 2 × compute-to-ε)
#   lmexplore frontier --algo passive   (data-to-ε with unlimited compute: --comp-to 1 makes the compute scan trivial)
# and prints one markdown row per C_cov. JSON per frontier goes to ${OUT:-out/needle-table}/.
# Usage: scripts/needle-table.sh [ccov ...]      (needs python3 for the table)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${OUT:-$root/out/needle-table}"
mkdir -p "$out"
covs=("${@:-10 100 1000 10000}")
read -r -a covs <<<"${covs[*]}"
common=(--instance needle --param beta=0.1 --param R=1 --param noise=gaussian --param sigma=0.1 --param d=4
        --param prompts=8 --param responses=2000 --algo-param epsilon=0.008 --seeds 10 --delta 0.1 --json)
for c in "${covs[@]}"; do
  # No algorithm succeeds with much less than C_cov samples (claim 1, experiment E2): start the scan at C_cov/4.
  from=$(( c / 4 > 16 ? c / 4 : 16 ))
  "$root/lmexplore" frontier "${common[@]}" --param ccov="$c" --algo spanner --comp-from "$from" > "$out/spanner-$c.json"
  # Passive: no compute scan worth doing (it spends 2 samples per pair); scan data with unlimited compute.
  "$root/lmexplore" frontier "${common[@]}" --param ccov="$c" --algo passive --comp-from 1 --comp-to 1 \
    --data-from "$from" --data-to 4194304 --data-scan-comp 100000000000 > "$out/passive-$c.json"
done
python3 - "$out" "${covs[@]}" <<'PY'
import json, sys
out, covs = sys.argv[1], sys.argv[2:]
print("| C_cov(π*) | compute-to-ε | ÷ C_cov | T_comp spent | data-to-ε | T_data spent | one output sample costs | Passive data-to-ε | ÷ C_cov |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for c in covs:
    s = json.load(open(f"{out}/spanner-{c}.json")); p = json.load(open(f"{out}/passive-{c}.json"))
    ce, de, pe = s["compute_to_eps"], s["data_to_eps"], p["data_to_eps"]
    at_c, at_d = s["at_compute_to_eps"] or {}, s["at_data_to_eps"] or {}
    f = lambda v: "not reached" if v is None else f"{int(round(v)):,}".replace(",", " ")
    r = lambda v, d: "–" if v is None else f"{v / d:.3g}"
    cost = next((b.get("output_sample_cost_median") for b in s["success_by_budget"] if b["kind"] == "comp" and b["budget"] == ce), None)
    print(f"| {c} | {f(ce)} | {r(ce, float(c))} | {f(at_c.get('T_comp_median'))} | {f(de)} | {f(at_d.get('T_data_median'))} | "
          f"{'–' if cost is None else f'{cost:,.0f}'.replace(',', ' ')} | {f(pe)} | {r(pe, float(c))} |")
PY
