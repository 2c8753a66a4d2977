"""The engines' two Monte Carlo jobs against the best straightforward NumPy, and the exact engine.

Jobs (ReLU and GELU together, x = linspace(-1, 1, 201), 100,000 samples per x):
- lattice: the paper's chain Gaussian(leakage 0.5, precision 256) -> Clamp(-1, 1) -> Quantize(256);
- general: Gaussian(sigma = 0.05) alone (no final quantizer: every Poisson, Laplace or bit-flip
  chain takes this path).
The NumPy reference works one x at a time on cache-resident arrays of 100,000 samples, with the
same derivatives (ReLU: v > 0; GELU: scipy.special.erf), in this process, which never imports torch.
Each timing is the best of several runs; the spread over runs is printed too.

Run: python benchmarks/bench_engines.py   (results are recorded in benchmarks/README.md)
"""

from __future__ import annotations

import os
import time

import numpy as np
from scipy.special import erf, erfinv

import gradlab as gl

LEAKAGE, PRECISION, SAMPLES, SIGMA = 0.5, 256, 100_000, 0.05
X = np.linspace(-1, 1, 201)


def relu_d(v):
    return (v > 0).astype(np.float64)


def gelu_d(v):
    return 0.5 * (1 + erf(v / np.sqrt(2))) + v * np.exp(-0.5 * v * v) / np.sqrt(2 * np.pi)


def numpy_job(quantized: bool, seed: int = 0):
    """One x at a time: draw 100,000 samples, perturb, evaluate both f', reduce."""
    rng = np.random.default_rng(seed)
    sigma = 1 / (2 * PRECISION * np.sqrt(2) * erfinv(1 - LEAKAGE)) if quantized else SIGMA
    out = np.empty((2, X.size))
    for j, x in enumerate(X):
        v = x + sigma * rng.standard_normal(SAMPLES)
        if quantized:
            v = np.clip(v, -1, 1)
            v = np.sign(v) * np.ceil(np.abs(v * PRECISION) - 0.5) / PRECISION
        for i, d in enumerate((relu_d, gelu_d)):
            out[i, j] = np.abs(d(v) - d(np.array(x))).mean()
    return out


def timings(fun, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fun()
        times.append(time.perf_counter() - t0)
    return np.array(times), result


def curves(df, column, acts):
    return df.pivot(index="x", columns="activation", values=column)[acts].to_numpy().T


def main() -> None:
    acts = ["relu", "gelu"]
    n = X.size * SAMPLES
    print(f"threads: {os.environ.get('NUMBA_NUM_THREADS', os.cpu_count())}")
    jobs = {
        "lattice": (gl.analog(leakage=LEAKAGE, precision=PRECISION), True),
        "general": (gl.chain(gl.Gaussian(sigma=SIGMA)), False),
    }
    for name, (chain, quantized) in jobs.items():
        t0 = time.perf_counter()
        gl.gradient_error(acts, chain, X[:3], method="mc", samples=10, seed=0)
        first = time.perf_counter() - t0
        t_mc, mc = timings(lambda c=chain: gl.gradient_error(acts, c, X, method="mc", samples=SAMPLES, seed=0), 7)
        t_np, ref = timings(lambda q=quantized: numpy_job(q), 5)
        t_ex, ex = timings(lambda c=chain: gl.gradient_error(acts, c, X, method="exact"), 20)
        e_ex = curves(ex, "mean_abs_error", acts)
        se = curves(mc, "stderr", acts)
        z = np.abs(curves(mc, "mean_abs_error", acts) - e_ex) / np.where(se > 0, se, np.inf)
        print(f"{name} job ({chain})")
        print(f"  gradlab mc : {t_mc.min():.3f}-{t_mc.max():.3f} s  {n / t_mc.min() / 1e6:7.1f} M samples/s "
              f"(first call incl. load/compile {first:.2f} s)")
        print(f"  numpy/x    : {t_np.min():.3f}-{t_np.max():.3f} s  {n / t_np.min() / 1e6:7.1f} M samples/s")
        print(f"  speed-up   : {t_np.min() / t_mc.min():.1f}x best vs best "
              f"({t_np.min() / t_mc.max():.1f}-{t_np.max() / t_mc.min():.1f}x over the spread)")
        print(f"  exact      : {t_ex.min() * 1e3:.1f}-{np.median(t_ex) * 1e3:.1f} ms (best-median), 2 x 201 curves")
        print(f"  mc vs exact: max |diff| / stderr = {z.max():.2f}; numpy vs exact max |diff| = "
              f"{np.abs(ref - e_ex).max():.2e}")


if __name__ == "__main__":
    main()
