"""Vectorized numpy reference for one spanner candidate pair (docs/PERFORMANCE.md, issue 7).

The same work as the SpannerPair benchmark: two draws y, y' ~ pi_ref (Zipf(1.1) over 2 000 responses in random
order), v = phi(y) - phi(y'), and the elliptic-norm test v^T Sigma^-1 v > nu^2 with Sigma = 0.1 I + 4d accepted
pairs. Batches of 65 536 pairs, as fast as numpy goes: inverse-CDF sampling (searchsorted on one uniform array),
fancy indexing, one matrix product and a row-wise dot. Prints one line per d: "numpy d=D ns_per_pair=X (best of R)".
"""
import sys
import time

import numpy as np


def setup(d, n=2000, seed=11):
    rng = np.random.default_rng(seed)
    logits = -1.1 * np.log(np.arange(1, n + 1))
    rng.shuffle(logits)
    p = np.exp(logits - np.logaddexp.reduce(logits))
    f = rng.standard_normal((n, d))
    f /= np.linalg.norm(f, axis=1, keepdims=True)
    cdf = np.cumsum(p)
    cdf[-1] = 1.0
    sigma = 0.1 * np.eye(d)
    for _ in range(4 * d):
        i, j = np.searchsorted(cdf, rng.random(2), side="right")
        v = f[i] - f[j]
        sigma += np.outer(v, v)
    return rng, f, cdf, np.linalg.inv(sigma)


def pairs(rng, f, cdf, a, batch, nu2):
    idx = np.searchsorted(cdf, rng.random(2 * batch), side="right")
    v = f[idx[0::2]] - f[idx[1::2]]
    q = np.einsum("ij,ij->i", v @ a, v)
    return int(np.count_nonzero(q > nu2))


def main():
    batch, repeats = 1 << 16, 15
    dims = [int(x) for x in sys.argv[1:]] or [4, 16]
    for d in dims:
        rng, f, cdf, a = setup(d)
        pairs(rng, f, cdf, a, batch, np.inf)  # warm-up
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            pairs(rng, f, cdf, a, batch, np.inf)
            best = min(best, time.perf_counter() - t0)
        print(f"numpy d={d} ns_per_pair={best / batch * 1e9:.1f} (best of {repeats}, numpy {np.__version__})")


if __name__ == "__main__":
    main()
