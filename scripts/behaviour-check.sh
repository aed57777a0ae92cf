#!/usr/bin/env bash
# Behaviour check: shows that a change to the code (a refactor) keeps what lmexplore prints and writes, bit for bit.
# `capture` runs a fixed list of small commands — every instance family and file format × every algorithm that
# accepts it, output draws, text runs (built-in n-gram, trained n-gram, tiny GGUF, external verifier and
# features), lm train/sample, frontier, instance inspect, sweep/merge/export/report and the bad-input paths — and
# writes one normalised file per command; `compare` diffs two captures. The seed fixes every result apart from
# wall time (docs/CLI.md, "Seeds"), so the only normalisation is of wall times and of file metadata that records
# when a file was written; everything else must be identical.
#
#   scripts/behaviour-check.sh capture OUTDIR [LAUNCHER]   run the list with LAUNCHER (default: this repository's
#                                                          ./lmexplore) → OUTDIR/NN-name.out
#   scripts/behaviour-check.sh compare DIR_A DIR_B         exit 0 only if every file is identical
#   scripts/behaviour-check.sh rev REV [OUTDIR]            capture REV (built in a temporary git worktree) and the
#                                                          working tree, then compare (captures kept in OUTDIR)
#   scripts/behaviour-check.sh findings DIR_A DIR_B        compare two `reproduce` output directories: findings,
#                                                          CSVs and sweep results, ignoring wall times and manifest
#
# A capture is 94 commands, about 70 s of CPU (each a fraction of a second of work plus process start): 3–8
# minutes of wall time on a shared 2-core machine, depending on its load. Needs python3 (standard library only).
# Each .out file holds the command, its exit code, its normalised stdout, the normalised sha256 of every file it
# writes, and its stderr when it failed or when stderr is part of what is checked (error messages, export notes).
# BEHAVIOUR_TIMEOUT (default 300 s) bounds each command; BEHAVIOUR_KEEP_SCRATCH=1 keeps the scratch directory.
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
export CI=true LC_ALL=C DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1   # plain progress lines; byte-order sort
per_command_timeout="${BEHAVIOUR_TIMEOUT:-300}"   # a hang must fail the check, not stall it

usage() { sed -n '10,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "behaviour-check: $*" >&2; exit 2; }

# The normaliser, one mode per kind of output (python3, standard library only):
#   text    stdout and JSON/JSON-lines files: every "wall_seconds" value (run --json, run --out and sweep lines,
#           frontier --json) becomes "<wall>"; the wall_seconds row of a human table is dropped; `lm train`'s
#           "in 0.106 s" becomes "in <time> s".
#   sorted  as text, lines sorted: a sweep appends runs in the order they finish, which depends on scheduling.
#   csv     `export --format csv`: the wall_seconds column (found by its header) becomes <wall>; other fields are
#           kept as written, quoting included.
#   html    `report`: the last cell of the table's rows, "wall s median", becomes <wall>.
#   npz     the archive's member names and the sha256 of each member's bytes, in order: the zip records the time
#           each member was written, so the archive's own bytes differ between two identical exports.
#   raw     the bytes as written (the GGUF file).
PY_NORMALISE=$(cat <<'PY'
import hashlib, re, sys, zipfile
mode, path = sys.argv[1], sys.argv[2]
out = sys.stdout.buffer
WALL = re.compile(r'("wall_seconds"\s*:\s*)(-?[0-9][0-9.eE+-]*|null)')
def text(s):
    s = WALL.sub(r'\1"<wall>"', s)
    s = re.sub(r'(?m)^[ \t]*wall_seconds[ \t].*\n', '', s)
    return re.sub(r' in [0-9][0-9.]* s → ', ' in <time> s → ', s)
def read():
    with open(path, 'rb') as f:
        return f.read().decode('utf-8', 'surrogateescape')
def emit(s):
    out.write(s.encode('utf-8', 'surrogateescape'))
def split_csv(line):   # raw fields, quotes kept, so that quoting changes are still seen
    fields, cur, quoted = [], '', False
    for ch in line:
        if ch == '"': quoted = not quoted
        if ch == ',' and not quoted: fields.append(cur); cur = ''
        else: cur += ch
    fields.append(cur)
    return fields
if mode == 'text':
    emit(text(read()))
elif mode == 'sorted':
    emit(''.join(sorted(text(read()).splitlines(keepends=True))))
elif mode == 'csv':
    lines = read().split('\n')
    header = split_csv(lines[0])
    col = header.index('wall_seconds') if 'wall_seconds' in header else None
    res = [lines[0]]
    for line in lines[1:]:
        f = split_csv(line)
        if col is not None and len(f) == len(header): f[col] = '<wall>'
        res.append(','.join(f))
    emit('\n'.join(res))
elif mode == 'html':
    res, in_table = [], False
    for line in read().splitlines(keepends=True):
        if 'wall s median</th>' in line: in_table = True
        elif '</table>' in line: in_table = False
        elif in_table and line.startswith('<tr><td'):
            line = re.sub(r'(<td[^>]*>)[^<]*(</td></tr>\s*)$', r'\1<wall>\2', line)
        res.append(line)
    emit(''.join(res))
elif mode == 'npz':
    with zipfile.ZipFile(path) as z:
        for i in z.infolist():
            emit(f'{i.filename} {hashlib.sha256(z.read(i)).hexdigest()}\n')
elif mode == 'raw':
    with open(path, 'rb') as f: out.write(f.read())
else:
    sys.exit(f'unknown mode {mode}')
PY
)
normalise() { python3 -c "$PY_NORMALISE" "$@"; }

mode_for() { # the normaliser's mode for a written file, from its name
  case "$1" in
    *.npz) echo npz ;; *.csv) echo csv ;; *.html) echo html ;; *.gguf) echo raw ;;
    *.json|*.jsonl) echo text ;; *) echo raw ;;
  esac
}

# cap [-e] NAME "FILE[:MODE] ..." ARGS... — runs `LAUNCHER ARGS...` in the scratch directory and writes
# OUTDIR/NN-NAME.out. -e: stderr is part of the check (it is included anyway when the exit code is not 0).
cap() {
  local with_stderr=0
  if [[ "$1" == -e ]]; then with_stderr=1; shift; fi
  local name="$1" files="$2"; shift 2
  n=$((n + 1))
  local out; out="$outdir/$(printf '%02d' "$n")-$name.out"
  local rc=0 t0=$SECONDS
  (cd "$scratch" && timeout "$per_command_timeout" "$launcher" "$@") >"$scratch/.stdout" 2>"$scratch/.stderr" || rc=$?
  {
    echo "command: lmexplore $*"
    echo "exit: $rc"
    echo "--- stdout"
    normalise text "$scratch/.stdout"
    local spec f mode
    for spec in $files; do
      f="${spec%%:*}"; mode="${spec#*:}"; [[ "$spec" == *:* ]] || mode="$(mode_for "$f")"
      if [[ -f "$scratch/$f" ]]; then
        echo "--- file $f ($mode): $(normalise "$mode" "$scratch/$f" | sha256sum | cut -d' ' -f1)"
      else
        echo "--- file $f: missing"
      fi
    done
    if [[ $with_stderr == 1 || $rc != 0 ]]; then
      echo "--- stderr"
      normalise text "$scratch/.stderr"
    fi
  } >"$out"
  printf '%02d %-40s exit %3d  %3d s\n' "$n" "$name" "$rc" "$((SECONDS - t0))" >&2
}

capture() {
  outdir="$1"; launcher="${2:-$root/lmexplore}"
  [[ -x "$launcher" ]] || die "launcher $launcher is not executable"
  command -v python3 >/dev/null || die "needs python3"
  mkdir -p "$outdir"; outdir="$(cd "$outdir" && pwd)"
  [[ -z "$(ls -A "$outdir")" ]] || die "$outdir is not empty"
  launcher="$(readlink -f "$launcher")"
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/behaviour-check.XXXXXX")"
  # BEHAVIOUR_KEEP_SCRATCH=1 keeps the scratch directory (its inputs and written files) for a closer look.
  if [[ "${BEHAVIOUR_KEEP_SCRATCH:-0}" == 1 ]]; then echo "behaviour-check: scratch directory $scratch" >&2
  else trap 'rm -rf "$scratch"' EXIT; trap 'exit 130' INT TERM; fi
  local started=$SECONDS
  # Build first (the launcher builds when a source changed), so a build failure stops here, not in command 01.
  "$launcher" --help >/dev/null || die "$launcher does not build or run"
  n=0
  # Inputs the commands below use, written into the scratch directory (relative paths: a file instance is named
  # by the path it was given as, so absolute scratch paths would differ between captures).
  cp "$root/examples/sweep.json" "$scratch/sweep.json"
  for a in 0 1 2 3 4 5 6 7 8 9; do for b in 0 1 2 3 4 5 6 7 8 9; do echo "$a+$b=$((a + b))"; done; done >"$scratch/sums.txt"
  printf '%s\n' '{"prompt": "2+3="}' '{"prompt": "4+4=", "weight": 2}' '{"prompt": "7+1="}' '{"prompt": "9+9="}' >"$scratch/sums-prompts.jsonl"
  # A verifier and a feature command as a user writes them (docs/FORMATS.md, verifier protocol). Each echoes the
  # request's id when it has one, so the same scripts speak to code from before and after the protocol gained ids.
  cat >"$scratch/verify.py" <<'PY'
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    a, b = req["prompt"].rstrip("=").split("+")
    reply = {"reward": 1.0 if req["response"].strip() == str(int(a) + int(b)) else 0.0}
    if "id" in req: reply["id"] = req["id"]
    print(json.dumps(reply), flush=True)
PY
  cat >"$scratch/features.py" <<'PY'
import json, sys
for line in sys.stdin:
    req = json.loads(line)
    r = req["response"]
    v = [0.0] * 8
    if r: v[ord(r[0]) % 6] = 0.5
    v[6] = 0.1 * min(len(r), 5)
    v[7] = 0.3 if r.strip().isdigit() else -0.3
    reply = {"features": v}
    if "id" in req: reply["id"] = req["id"]
    print(json.dumps(reply), flush=True)
PY

  # --- help texts: the command-line surface itself
  cap help "" --help
  cap help-run "" run --help

  # --- instance files of every format, written by `instance export` (stderr: its one-line note)
  cap -e export-linear-json "lin.json" instance export --instance linear --param prompts=3 --param responses=50 --param d=4 --seed 5 --out lin.json
  cap -e export-linear-npz "lin.npz" instance export --instance linear --param prompts=3 --param responses=50 --param d=4 --seed 5 --out lin.npz
  cap -e export-chain-autoregressive "ar.json" instance export --instance chain --param horizon=4 --seed 5 --out ar.json
  cap -e export-dnf-json "dnf.json" instance export --instance dnf --param n=6 --seed 5 --out dnf.json

  # --- every family and file × every sequence-level algorithm. One budget pair for all, so that some runs end
  # ok and some budget_exhausted; chain at horizon 4 (81 sequences) so its sequence-level view is enumerable.
  local -A inst=(
    [linear]="--instance linear --param prompts=3 --param responses=100 --param d=4"
    [needle]="--instance needle --param ccov=100 --param responses=200"
    [dnf]="--instance dnf --param n=8"
    [chain]="--instance chain --param horizon=4"
    [json]="--instance lin.json"
    [npz]="--instance lin.npz"
    [autoregressive]="--instance ar.json"
  )
  local fam algo
  for fam in linear needle dnf chain json npz autoregressive; do
    for algo in spanner passive onlinedpo xpo optimaldesign; do
      # shellcheck disable=SC2086  # the instance arguments are meant to split
      cap "run-$fam-$algo" "" run ${inst[$fam]} --algo "$algo" --seed 2 --budget-comp 20000 --budget-data 400 --json
    done
  done
  # Other paths of the same algorithms: a coverage hint instead of a budget, the Bradley–Terry loss.
  cap run-needle-spanner-hint "" run --instance needle --param ccov=100 --param responses=200 --algo spanner --algo-param coverage-hint=100 --seed 5 --json
  cap run-dnf-onlinedpo-bt "" run --instance dnf --param n=8 --algo onlinedpo --algo-param loss=bt --seed 1 --budget-data 300 --budget-comp 30000 --json
  cap run-dnf-xpo-bt "" run --instance dnf --param n=8 --algo xpo --algo-param loss=bt --algo-param alpha=0.3 --seed 1 --budget-data 300 --budget-comp 30000 --json

  # --- token level: MTSS on chain and on the autoregressive file, sampling and distribution oracles, roll-ins
  cap run-chain-mtss "" run --instance chain --param horizon=4 --algo mtss --seed 3 --budget-tokens 50000 --budget-data 500 --json
  cap run-chain-mtss-distributions "" run --instance chain --param horizon=4 --algo mtss --algo-param next-token-distributions=true --seed 3 --budget-tokens 50000 --json
  cap run-chain-mtss-learned "" run --instance chain --param horizon=3 --algo mtss --algo-param roll-in=learned --seed 4 --budget-tokens 30000 --json
  cap run-autoregressive-mtss "" run --instance ar.json --algo mtss --seed 3 --budget-tokens 50000 --budget-data 500 --json

  # --- output draws (prompt and response indices; for mtss the H token ids)
  cap samples-needle-spanner "spanner-draws.jsonl" run --instance needle --param ccov=100 --param responses=200 --algo spanner --algo-param epsilon=0.008 --seed 1 --budget-comp 10000 --json --output-samples 200 --output-samples-file spanner-draws.jsonl
  cap samples-chain-mtss "mtss-draws.jsonl" run --instance chain --param horizon=4 --algo mtss --algo-param next-token-distributions=true --seed 3 --budget-tokens 50000 --json --output-samples 100 --output-samples-file mtss-draws.jsonl
  cap samples-npz-optimaldesign "od-draws.jsonl" run --instance lin.npz --algo optimaldesign --seed 2 --budget-data 200 --json --output-samples 100 --output-samples-file od-draws.jsonl

  # --- human-readable output, --out lines, --strict
  cap table-run-needle-spanner "" run --instance needle --param ccov=100 --param responses=200 --algo spanner --algo-param epsilon=0.008 --seed 1 --budget-comp 10000
  cap out-linear-spanner "results.jsonl" run --instance linear --param d=4 --algo spanner --seed 3 --budget-comp 30000 --out results.jsonl
  cap out-linear-passive "results.jsonl" run --instance linear --param d=4 --algo passive --seed 3 --budget-data 300 --out results.jsonl --json
  cap strict-needle-spanner "" run --instance needle --param ccov=100 --param responses=200 --algo spanner --seed 1 --budget-comp 5000 --strict --json

  # --- language models: train, write the tiny GGUF, sample (each draw carries its log-probability)
  cap lm-train-sums "sums.json" lm train --corpus sums.txt --order 3 --out sums.json
  cap lm-train-letters "letters3.json" lm train --corpus letters --order 3 --level char --out letters3.json
  cap lm-tiny-gguf "tiny.gguf" lm tiny-gguf --out tiny.gguf --seed 1
  cap lm-sample-ngram "" lm sample --model sums.json --prompt "2+3=" --n 8 --max-tokens 3 --seed 4
  cap lm-sample-letters "" lm sample --model letters3.json --prompt "ad>" --n 8 --max-tokens 8 --seed 5
  cap lm-sample-gguf "" lm sample --model tiny.gguf --prompt "ab>" --n 5 --max-tokens 6 --seed 2

  # --- text runs. letters with the built-in character 3-gram (spanner, passive, bestofn, the proper methods),
  # with the trained n-gram and with the tiny GGUF (byte fallback: it encodes the letters prompts); a prompts
  # file with an external verifier and an external feature command.
  cap text-letters-spanner "" run --task letters --algo spanner --algo-param lambda=1 --param max-tokens=6 --param eval-samples=50 --budget-data 300 --budget-comp 30000 --seed 1 --json
  cap text-letters-passive "" run --task letters --algo passive --param eval-samples=50 --budget-data 60 --seed 1 --json
  cap text-letters-bestofn "" run --task letters --algo bestofn --algo-param n=8 --seed 1 --json
  cap text-letters-bestofn-binary "" run --task letters --algo bestofn --param reward=binary --budget-data 150 --seed 2 --json
  cap text-letters-onlinedpo "" run --task letters --algo onlinedpo --param eval-samples=30 --budget-data 40 --budget-comp 4000 --seed 1 --json
  cap text-letters-xpo "" run --task letters --algo xpo --param eval-samples=30 --budget-data 40 --budget-comp 4000 --seed 1 --json
  cap table-text-letters-bestofn "" run --task letters --algo bestofn --algo-param n=4 --seed 3
  cap text-letters-trained-passive "" run --task letters --model letters3.json --algo passive --param eval-samples=50 --budget-data 60 --seed 2 --json
  cap text-letters-gguf-spanner "" run --task letters --model tiny.gguf --algo spanner --budget-data 40 --budget-comp 2000 --param max-tokens=4 --param eval-samples=20 --algo-param rejection-coverage=4 --seed 1 --json
  cap text-sums-gguf-bestofn "" run --task sums-prompts.jsonl --model tiny.gguf --verifier "python3 verify.py" --algo bestofn --algo-param n=4 --param max-tokens=3 --param eval-samples=20 --seed 1 --json
  cap text-sums-verifier-passive "" run --task sums-prompts.jsonl --model sums.json --verifier "python3 verify.py" --algo passive --param max-tokens=3 --param eval-samples=30 --budget-data 40 --seed 1 --json
  cap text-sums-features-passive "" run --task sums-prompts.jsonl --model sums.json --verifier "python3 verify.py" --feature-command "python3 features.py" --param dim=8 --algo passive --param max-tokens=3 --param eval-samples=20 --budget-data 20 --seed 2 --json

  # --- frontier: compute-to-ε and data-to-ε (T_comp grid), and tokens-to-ε for mtss
  cap frontier-needle-spanner "" frontier --instance needle --param ccov=100 --param responses=200 --algo spanner --algo-param epsilon=0.008 --seeds 3 --comp-from 25 --parallel 2 --json
  cap table-frontier-needle-spanner "" frontier --instance needle --param ccov=100 --param responses=200 --algo spanner --algo-param epsilon=0.008 --seeds 3 --comp-from 25 --parallel 2
  cap frontier-chain-mtss "" frontier --instance chain --param horizon=3 --algo mtss --seeds 2 --comp-from 1000 --parallel 2 --json

  # --- instance inspect: families (dnf adds its assignment counts; chain by DP) and files
  cap inspect-dnf "" instance inspect dnf --param n=8 --json
  cap inspect-chain "" instance inspect chain --param horizon=6 --json
  cap inspect-linear-json "" instance inspect lin.json --json
  cap inspect-linear-npz "" instance inspect --instance lin.npz --json
  cap inspect-autoregressive "" instance inspect ar.json --json
  cap inspect-dnf-json "" instance inspect dnf.json --json
  cap table-inspect-needle "" instance inspect needle --param ccov=100 --param responses=200

  # --- sweep, resume, merge, export, report
  cap sweep-example "sw/results.jsonl:sorted sw/manifest.json" sweep --config sweep.json --out sw --parallel 2
  cap sweep-example-resume "sw/results.jsonl:sorted" sweep --config sweep.json --out sw --resume --parallel 2
  cap merge-example "all.jsonl" merge --out all.jsonl sw
  cap export-csv-sweep "runs.csv" export sw --format csv --out runs.csv
  cap export-csv-run-out "run-out.csv" export results.jsonl --format csv --out run-out.csv
  # Parquet: only the exit code and summary line; the file holds wall_seconds as a binary double, which this
  # script cannot normalise without a Parquet reader.
  cap export-parquet-sweep "" export sw --format parquet --out runs.parquet
  cap report-sweep "sweep-report.html" report sw --out sweep-report.html

  # --- bad input: exit 2 and one line on stderr
  cap -e error-mtss-budget-comp "" run --instance chain --param horizon=4 --algo mtss --seed 1 --budget-comp 1000 --json
  cap -e error-unknown-algo-param "" run --instance needle --algo spanner --algo-param nuu=1 --seed 1 --json
  cap -e error-spanner-text-no-budget "" run --task letters --algo spanner --seed 1 --json
  cap -e error-optimaldesign-text "" run --task letters --algo optimaldesign --seed 1 --budget-data 40 --json

  echo "captured $n commands in $((SECONDS - started)) s → $outdir" >&2
}

# A short diff of two .out files: line by line when they have as many lines, and for a JSON line (run --json,
# frontier --json, lm sample) the fields whose values differ, since a whole result line says little; otherwise
# the first lines of a unified diff.
PY_SHORT_DIFF=$(cat <<'PY'
import difflib, json, sys
a, b = (open(p, encoding="utf-8", errors="surrogateescape").read().splitlines() for p in sys.argv[1:3])
def flat(v, pre=""):
    if isinstance(v, dict):
        for k, x in v.items(): yield from flat(x, f"{pre}{k}.")
    else: yield pre.rstrip("."), v
def as_json(line):
    try:
        v = json.loads(line)
        return dict(flat(v)) if isinstance(v, dict) else None
    except ValueError: return None
shown = 0
if len(a) == len(b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y or shown >= 20: continue
        jx, jy = as_json(x), as_json(y)
        if jx is not None and jy is not None:
            keys = [k for k in list(jx) + [k for k in jy if k not in jx] if jx.get(k, "<absent>") != jy.get(k, "<absent>")]
            print(f"    line {i + 1}: " + "; ".join(f"{k}: {jx.get(k, '<absent>')} → {jy.get(k, '<absent>')}" for k in keys[:8])[:400]
                  + (f" (and {len(keys) - 8} more fields)" if len(keys) > 8 else ""))
        else:
            print(f"    line {i + 1}: - {x[:200]}")
            print(f"    line {i + 1}: + {y[:200]}")
        shown += 1
else:
    for line in list(difflib.unified_diff(a, b, lineterm="", n=1))[2:22]: print("    " + line[:240])
PY
)

compare() {
  local a="$1" b="$2" f name same=0 diff_count=0
  [[ -d "$a" && -d "$b" ]] || die "compare needs two capture directories"
  local names
  names="$(find "$a" "$b" -maxdepth 1 -name '*.out' -printf '%f\n' | sort -u)"
  [[ -n "$names" ]] || die "no .out files in $a or $b"
  for name in $names; do
    if [[ ! -f "$a/$name" || ! -f "$b/$name" ]]; then
      echo "differs: $name (only in $([[ -f "$a/$name" ]] && echo "$a" || echo "$b"))"
      diff_count=$((diff_count + 1))
    elif cmp -s "$a/$name" "$b/$name"; then
      same=$((same + 1))
    else
      echo "differs: $name"
      python3 -c "$PY_SHORT_DIFF" "$a/$name" "$b/$name"
      diff_count=$((diff_count + 1))
    fi
  done
  if [[ $diff_count == 0 ]]; then
    echo "identical: $same commands"
  else
    echo "$diff_count of $((same + diff_count)) commands differ"
    return 1
  fi
}

rev() {
  local revision="$1" out="${2:-}"
  git -C "$root" rev-parse --verify --quiet "$revision^{commit}" >/dev/null || die "unknown revision $revision"
  if [[ -z "$out" ]]; then out="$(mktemp -d "${TMPDIR:-/tmp}/behaviour-rev.XXXXXX")"; fi
  mkdir -p "$out"
  # A detached worktree of REV, built by its own launcher; removed whatever happens (globals: the trap runs
  # after this function has returned).
  rev_base="$(mktemp -d "${TMPDIR:-/tmp}/behaviour-wt.XXXXXX")"
  local wt="$rev_base/rev"
  trap 'git -C "$root" worktree remove --force "$rev_base/rev" 2>/dev/null || true; rm -rf "$rev_base"' EXIT
  trap 'exit 130' INT TERM   # so that Ctrl-C also runs the clean-up
  git -C "$root" worktree add --detach --quiet "$wt" "$revision"
  echo "behaviour-check: capturing $revision ($(git -C "$wt" rev-parse --short HEAD)) → $out/rev" >&2
  (capture "$out/rev" "$wt/lmexplore")
  echo "behaviour-check: capturing the working tree → $out/worktree" >&2
  (capture "$out/worktree" "$root/lmexplore")
  compare "$out/rev" "$out/worktree"
}

# findings: what `reproduce` writes per experiment besides the report — summary.json (every experiment's findings,
# with ok/FAIL against its criterion), the CSV behind each figure and table, the figures (SVG, drawn from those
# CSVs), each experiment's sweep config, manifest and results. Left out: summary.json's wall times and its
# manifest (commit, .NET, OS, cores, start time, parallelism), the results' wall_seconds, and report.html, which
# prints that manifest and the wall times. Results lines are compared sorted: a sweep appends them as runs finish.
PY_FINDINGS=$(cat <<'PY'
import json, os, re, sys, difflib
a, b = sys.argv[1], sys.argv[2]
WALL = re.compile(r'("wall_seconds"\s*:\s*)(-?[0-9][0-9.eE+-]*|null)')
MANIFEST = {"wall_seconds", "git_commit", "dotnet", "os", "cores", "started", "parallelism"}
def summary(d):
    with open(os.path.join(d, "summary.json"), encoding="utf-8") as f:
        s = json.load(f)
    for k in MANIFEST: s.pop(k, None)
    for e in s.get("experiments", []): e.pop("wall_seconds", None)
    return json.dumps(s, indent=1, ensure_ascii=False).splitlines()
def files(d):
    found = {}
    for dirpath, _, names in os.walk(d):
        for n in names:
            rel = os.path.relpath(os.path.join(dirpath, n), d)
            if rel.count(os.sep) >= 1 and n.endswith((".csv", ".svg", ".jsonl")) or n in ("sweep.json", "manifest.json"):
                found[rel] = os.path.join(dirpath, n)
    return found
def content(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        lines = WALL.sub(r'\1"<wall>"', f.read()).splitlines()
    return sorted(lines) if path.endswith(".jsonl") else lines   # results lines: in the order runs finished
def show(name, x, y):
    print(f"differs: {name}")
    for line in list(difflib.unified_diff(x, y, lineterm=""))[2:22]: print("    " + line[:240])
bad = 0
sa, sb = summary(a), summary(b)
if sa != sb: show("summary.json (findings)", sa, sb); bad += 1
else:
    s = json.load(open(os.path.join(a, "summary.json"), encoding="utf-8"))
    n = sum(len(e.get("findings", [])) for e in s.get("experiments", []))
    print(f"summary.json: identical findings ({n} findings in {len(s.get('experiments', []))} experiments)")
fa, fb = files(a), files(b)
same = 0
for rel in sorted(set(fa) | set(fb)):
    if rel not in fa or rel not in fb:
        print(f"differs: {rel} (only in {a if rel in fa else b})"); bad += 1
    elif content(fa[rel]) != content(fb[rel]):
        show(rel, content(fa[rel]), content(fb[rel])); bad += 1
    else: same += 1
print(f"files: {same} identical (CSVs, figures, sweep configs, manifests, results up to wall time)")
if bad:
    print(f"{bad} differ"); sys.exit(1)
print("identical findings")
PY
)

findings() {
  local a="$1" b="$2"
  [[ -f "$a/summary.json" && -f "$b/summary.json" ]] || die "findings needs two reproduce output directories (with summary.json)"
  python3 -c "$PY_FINDINGS" "$a" "$b"
}

case "${1:-}" in
  capture) [[ $# -ge 2 && $# -le 3 ]] || usage; capture "$2" "${3:-}" ;;
  compare) [[ $# -eq 3 ]] || usage; compare "$2" "$3" ;;
  rev) [[ $# -ge 2 && $# -le 3 ]] || usage; rev "$2" "${3:-}" ;;
  findings) [[ $# -eq 3 ]] || usage; findings "$2" "$3" ;;
  *) usage ;;
esac
