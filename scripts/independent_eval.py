#!/usr/bin/env python3
"""Independent evaluator for lmexplore.instance/v1 files (plain Python 3, no packages).

Prints J_opt = beta * E_x log Z(x), J_ref = E_x E_{pi_ref} r*, C_cov = max_{x,y} pi*/pi_ref and the
average coverage E_x E_{pi*}[pi*/pi_ref], following the definitions of docs/FRAMEWORK.md literally:
    r*(x,y) = <theta, phi(x,y)>,  Z(x) = sum_y pi_ref(y|x) exp(r*(x,y)/beta).
It shares no code with the C# library: sums are exact-rounded (math.fsum), log Z uses a max shift, and
rewards are recomputed from the features. Use it to check `lmexplore instance inspect FILE --json`.

usage: python3 scripts/independent_eval.py FILE.json [--json]
"""
import json
import math
import sys


def evaluate(inst):
    if inst.get("format") != "lmexplore.instance/v1":
        raise ValueError("format: expected 'lmexplore.instance/v1', got %r" % inst.get("format"))
    beta = float(inst["beta"])
    theta = [float(t) for t in inst["theta"]]
    j_opt, j_ref, avg = [], [], []
    log_c = -math.inf
    r_max = 0.0
    responses = 0
    for p in inst["prompts"]:
        w = float(p["weight"])
        resp = p["responses"]
        responses += len(resp)
        if w <= 0:
            continue
        r = [math.fsum(t * float(f) for t, f in zip(theta, q["features"])) for q in resp]
        lp = [math.log(float(q["refProb"])) for q in resp]
        s = [a + b / beta for a, b in zip(lp, r)]
        m = max(s)
        log_z = m + math.log(math.fsum(math.exp(v - m) for v in s))
        j_opt.append(w * beta * log_z)
        j_ref.append(w * math.fsum(math.exp(a) * b for a, b in zip(lp, r)))
        log_ratio = [b / beta - log_z for b in r]  # log pi*/pi_ref
        log_c = max(log_c, max(log_ratio))
        # sum_y pi_ref * (pi*/pi_ref)^2, shifted in log space
        t = [a + 2 * b for a, b in zip(lp, log_ratio)]
        mt = max(t)
        avg.append(w * math.exp(mt + math.log(math.fsum(math.exp(v - mt) for v in t))))
        r_max = max(r_max, max(abs(b) for b in r))
    try:
        c_cov = math.exp(log_c)
    except OverflowError:
        c_cov = math.inf
    return {
        "d": len(theta),
        "prompts": len(inst["prompts"]),
        "responses": responses,
        "beta": beta,
        "R_max": r_max,
        "J_opt": math.fsum(j_opt),
        "J_ref": math.fsum(j_ref),
        "C_cov": c_cov,
        "log_C_cov": log_c,
        "average_coverage": math.fsum(avg),
    }


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) >= 2 else 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            inst = json.load(f)
        out = evaluate(inst)
    except (OSError, ValueError, KeyError, TypeError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if "--json" in argv[2:]:
        # repr-exact floats; inf written as a string so the output stays valid JSON
        print(json.dumps({k: (v if not (isinstance(v, float) and math.isinf(v)) else str(v))
                          for k, v in out.items()}))
    else:
        for k, v in out.items():
            print("%-17s %r" % (k, v))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
