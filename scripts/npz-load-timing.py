#!/usr/bin/env python3
"""Times numpy's own np.load of an .npz instance, to set beside LmExplore's LoadBenchmarks (docs/PERFORMANCE.md).

Usage: npz-load-timing.py FILE.npz [--repeat 10]
Loads every array (np.load is lazy: each member is read when indexed), as LmExplore's reader does,
and prints the median and min wall time over the repeats. Measurement only; the test suite never needs numpy.
"""
import argparse
import statistics
import sys
import time

import numpy as np


def load_all(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("npz")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    load_all(args.npz)  # warm the page cache, as BenchmarkDotNet's warm-up does
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        arrays = load_all(args.npz)
        times.append(time.perf_counter() - t0)
    shape = arrays["features"].shape
    print(f"np.load {args.npz}: features {shape}, numpy {np.__version__}, python {sys.version.split()[0]}")
    print(f"median {statistics.median(times) * 1e3:.1f} ms, min {min(times) * 1e3:.1f} ms over {args.repeat} loads")


if __name__ == "__main__":
    main()
