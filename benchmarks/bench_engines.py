"""The issue-3 job: the paper's chain (leakage 0.5, precision 256), x = linspace(-1, 1, 201),
100,000 samples per x, ReLU and GELU together, Monte Carlo; against a straightforward vectorized
NumPy implementation of the same job, and the exact engine on the same curves.

Run: python benchmarks/bench_engines.py   (results are recorded in benchmarks/README.md)
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy.special import erf, erfinv

import gradlab as gl

LEAKAGE, PRECISION, SAMPLES = 0.5, 256, 100_000
X = np.linspace(-1, 1, 201)


def numpy_job(seed: int = 0, block: int = 8):
    """Vectorized NumPy: per block of x, draw all samples, perturb, evaluate f', reduce."""
    rng = np.random.default_rng(seed)
    sigma = 1 / (2 * PRECISION * np.sqrt(2) * erfinv(1 - LEAKAGE))

    def relu_d(v):
        return (v > 0).astype(np.float64)

    def gelu_d(v):
        return 0.5 * (1 + erf(v / np.sqrt(2))) + v * np.exp(-0.5 * v * v) / np.sqrt(2 * np.pi)

    out = np.empty((2, X.size))
    for start in range(0, X.size, block):
        xs = X[start : start + block, None]
        v = xs + sigma * rng.standard_normal((xs.shape[0], SAMPLES))
        v = np.clip(v, -1, 1)
        v = np.sign(v) * np.ceil(np.abs(v * PRECISION) - 0.5) / PRECISION
        for i, d in enumerate((relu_d, gelu_d)):
            out[i, start : start + block] = np.abs(d(v) - d(xs)).mean(axis=1)
    return out


def best_of(fun, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fun()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main() -> None:
    chain = gl.analog(leakage=LEAKAGE, precision=PRECISION)
    acts = ["relu", "gelu"]
    t0 = time.perf_counter()
    gl.gradient_error(acts, chain, X[:3], method="mc", samples=10, seed=0)
    first = time.perf_counter() - t0
    t_mc, mc = best_of(lambda: gl.gradient_error(acts, chain, X, method="mc", samples=SAMPLES, seed=0), 5)
    t_np, ref = best_of(numpy_job, 3)
    t_ex, ex = best_of(lambda: gl.gradient_error(acts, chain, X, method="exact"), 20)
    n = X.size * SAMPLES
    e_mc = mc.pivot(index="x", columns="activation", values="mean_abs_error")[acts].to_numpy().T
    e_ex = ex.pivot(index="x", columns="activation", values="mean_abs_error")[acts].to_numpy().T
    se = mc.pivot(index="x", columns="activation", values="stderr")[acts].to_numpy().T
    z = np.abs(e_mc - e_ex) / np.where(se > 0, se, np.inf)
    print(f"threads: {os.environ.get('NUMBA_NUM_THREADS', os.cpu_count())}")
    print(f"gradlab mc : {t_mc:.3f} s  {n / t_mc / 1e6:7.1f} M samples/s (first call incl. load/compile {first:.2f} s)")
    print(f"numpy      : {t_np:.3f} s  {n / t_np / 1e6:7.1f} M samples/s")
    print(f"speed-up   : {t_np / t_mc:.1f}x")
    print(f"exact      : {t_ex * 1e3:.1f} ms for the same 2 x 201 curves")
    print(
        f"mc vs exact: max |diff| / stderr = {z.max():.2f}; numpy vs exact max |diff| = {np.abs(ref - e_ex).max():.2e}"
    )


if __name__ == "__main__":
    main()
