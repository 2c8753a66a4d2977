"""Sweep throughput: grid points per second here and on a local Dask cluster, batched and not.

The job: many small points, where scheduling overhead shows.  gradient_error of ReLU and GELU,
Monte Carlo with 2,000 samples at 5 inputs, over leakage (10 values) x precision (12 values) of
the analog chain: 120 points.  Each timing is the best of REPEATS runs without the sweep cache
(a cached rerun computes nothing), except the row that measures writing the cache.  The cluster
runs are warm (workers started, kernels loaded) except the row that says it includes the start.

Run: python benchmarks/bench_sweep.py   (needs the sweep extra; results in benchmarks/README.md)
"""
from __future__ import annotations

import os
import tempfile
import time

import numpy as np

import gradlab as gl

REPEATS = 5
SPEC = {
    "query": "gradient_error",
    "activations": ["relu", "gelu"],
    "method": "mc",
    "samples": 2000,
    "x": {"start": -0.05, "stop": 0.05, "num": 5},
    "chain": {"leakage": np.linspace(0.05, 0.95, 10).tolist(), "precision": [2.0**k for k in range(2, 14)]},
}
POINTS = 10 * 12


def best(run) -> float:
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return min(times)


def row(name: str, seconds: float) -> None:
    print(f"{name:<52} {seconds:7.2f} s  {POINTS / seconds:8.1f} points/s")


def main() -> None:
    from distributed import Client, LocalCluster

    reference = gl.sweep(SPEC, cache=False, progress=False)  # warm: kernels compiled and loaded
    print(f"{POINTS} points, {len(reference)} rows, {os.cpu_count()} cores")
    row("local, in order (no cache)", best(lambda: gl.sweep(SPEC, cache=False, progress=False)))
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(100))
        # A fresh cache directory each time, so every point is computed and written.
        row("local, in order, each point written to the cache",
            best(lambda: gl.sweep(SPEC, cache=os.path.join(tmp, str(next(counter))), progress=False)))
        gl.sweep(SPEC, cache=tmp, progress=False)
        row("local, all points read back from the cache", best(lambda: gl.sweep(SPEC, cache=tmp, progress=False)))
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            gl.sweep(SPEC, client=client, cache=False, progress=False)  # warm the workers
            for batch, label in ((None, "batched (default: 15 points per task)"), (1, "one point per task")):
                df = gl.sweep(SPEC, client=client, cache=False, progress=False, batch=batch)
                assert df.equals(reference)
                row(f"LocalCluster, 2 workers, {label}",
                    best(lambda b=batch: gl.sweep(SPEC, client=client, cache=False, progress=False, batch=b)))
    t0 = time.perf_counter()
    gl.sweep(SPEC, client=2, cache=False, progress=False)
    row("client=2: cluster start, worker imports, sweep, close", time.perf_counter() - t0)


if __name__ == "__main__":
    main()
