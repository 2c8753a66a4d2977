"""Warm throughput of the compiled f and f' on 10^6 points, against NumPy/SciPy closed forms.

Run: python benchmarks/bench_activations.py
"""
from __future__ import annotations

import time

import numpy as np
from scipy.special import erf

import gradlab as gl


def best_of(fun, repeats=7):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fun()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    xs = np.random.default_rng(0).uniform(-3, 3, 1_000_000)
    numpy_df = {
        "relu": lambda v: (v > 0).astype(np.float64),
        "gelu": lambda v: 0.5 * (1 + erf(v / np.sqrt(2))) + v * np.exp(-0.5 * v * v) / np.sqrt(2 * np.pi),
        "relu_gelu": lambda v: 0.5 * (v > 0) + 0.5 * (
            0.5 * (1 + erf(v / np.sqrt(2))) + v * np.exp(-0.5 * v * v) / np.sqrt(2 * np.pi)
        ),
        "silu": lambda v: (s := 1 / (1 + np.exp(-v))) * (1 + v * (1 - s)),
    }
    print(f"{'activation':<12}{'gradlab df (ms)':>16}{'numpy df (ms)':>15}{'speed-up':>10}{'gradlab f (ms)':>16}")
    for name, ref in numpy_df.items():
        act = gl.activation(name)
        t0 = time.perf_counter()
        act.df(xs[:10])
        act.f(xs[:10])
        cold = time.perf_counter() - t0
        np.testing.assert_allclose(act.df(xs), ref(xs), atol=1e-14)
        t_df = best_of(lambda act=act: act.df(xs))
        t_f = best_of(lambda act=act: act.f(xs))
        t_np = best_of(lambda ref=ref: ref(xs))
        print(f"{name:<12}{t_df * 1e3:>16.2f}{t_np * 1e3:>15.2f}{t_np / t_df:>9.1f}x{t_f * 1e3:>16.2f}"
              f"   (first call incl. load/compile {cold:.2f} s)")


if __name__ == "__main__":
    main()
