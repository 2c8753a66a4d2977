"""Where a Monte Carlo sample's time goes, one core: each step of the two engine paths alone.

Each row is a serial Numba loop over 2 x 10^7 samples that does one more step than the row before,
built from gradlab's own kernels (the random stream, the stage cores, the activations' compiled
f'), so the differences are the cost of each step:

- lattice path (the paper's chain): 64 random bits; + a standard normal (ziggurat); + Clamp and the
  quantizer's level index; + the level histogram (what ``lattice_counts`` does per sample);
- general path: a normal; + ReLU' and GELU' of the perturbed input; + the three moment sums of
  each (what ``moment_sums`` does per sample).

Run: NUMBA_NUM_THREADS=1 python benchmarks/bench_breakdown.py   (results: benchmarks/README.md)
"""

from __future__ import annotations

import time

import numba
import numpy as np

import gradlab as gl
from gradlab.kernels.random import next_u64, normal, stream_state
from gradlab.perturbations.kernel import level1

N = 20_000_000
X, SIGMA, PRECISION = 0.01, 0.0028957074580187535, 256.0  # the paper's chain at leakage 0.5, P = 256

_gelu = gl.activation("gelu").kernels.df1
_relu = gl.activation("relu").kernels.df1


@numba.njit
def bits(n):
    state = stream_state(0, 1)
    acc = np.uint64(0)
    for _ in range(n):
        state, z = next_u64(state)
        acc ^= z
    return float(acc)


@numba.njit
def normals(n):
    state = stream_state(0, 1)
    acc = 0.0
    for _ in range(n):
        state, z = normal(state)
        acc += z
    return acc


@numba.njit
def levels(n):
    state = stream_state(0, 1)
    acc = 0.0
    for _ in range(n):
        state, z = normal(state)
        v = min(max(X + SIGMA * z, -1.0), 1.0)
        acc += level1(v, PRECISION, 0.0, 0.0)
    return acc


@numba.njit
def histogram(n):
    # The engine's two phases per batch: level indices to a buffer, then four interleaved histograms.
    state = stream_state(0, 1)
    hist = np.zeros((4, 513), np.int64)
    batch = np.empty(1024, np.int64)
    done = 0
    while done < n:
        m = min(1024, n - done)
        for s in range(m):
            state, z = normal(state)
            v = min(max(X + SIGMA * z, -1.0), 1.0)
            batch[s] = int(level1(v, PRECISION, 0.0, 0.0)) + 256
        for s in range(m):
            hist[s & 3, batch[s]] += 1
        done += m
    return float(hist.sum())


@numba.njit
def derivatives(n):
    state = stream_state(0, 1)
    acc = 0.0
    for _ in range(n):
        state, z = normal(state)
        v = X + 0.05 * z
        acc += _relu(v) + _gelu(v)
    return acc


@numba.njit
def moment_sums(n):
    state = stream_state(0, 1)
    c0, c1 = _relu(X), _gelu(X)
    t = np.zeros(6)
    a0 = a1 = a2 = b0 = b1 = b2 = 0.0
    for _ in range(n):
        state, z = normal(state)
        v = X + 0.05 * z
        d = _relu(v) - c0
        a0 += d
        a1 += d * d
        a2 += abs(d)
        d = _gelu(v) - c1
        b0 += d
        b1 += d * d
        b2 += abs(d)
    t[:] = (a0, a1, a2, b0, b1, b2)
    return t.sum()


def per_sample(fun, repeats: int = 5) -> tuple[float, float]:
    fun(1000)  # compile
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fun(N)
        times.append(time.perf_counter() - t0)
    return min(times) / N * 1e9, max(times) / N * 1e9


def main() -> None:
    print(f"one core, ns per sample, best (worst) of 5 runs of {N:,} samples; Numba threads: {numba.get_num_threads()}")
    rows = [
        ("lattice", "64 random bits (SplitMix64)", bits),
        ("lattice", "+ standard normal (ziggurat)", normals),
        ("lattice", "+ Clamp and the level index", levels),
        ("lattice", "+ histogram of levels", histogram),
        ("general", "normal + ReLU' + GELU'", derivatives),
        ("general", "+ three moment sums each", moment_sums),
    ]
    for path, step, fun in rows:
        best, worst = per_sample(fun)
        print(f"  {path:8s} {step:32s} {best:6.2f} ({worst:.2f})")


if __name__ == "__main__":
    main()
