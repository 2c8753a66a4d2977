"""A longer fuzz of the public API's parameters than CI runs (tests/test_fuzz_api.py).

Each trial calls one public function with one odd value in one parameter (NaN, infinities, huge and
tiny floats, huge and negative integers, strings, None, empty and wrong-shaped containers) under a
small budget.  A trial passes when the call answers, or refuses with ValueError/TypeError; anything
else is a finding.  Prints trials, answers, refusals, findings and the slowest calls.  Kernels are
compiled into a temporary cache, removed at exit.  The sweep specs, the sweep cache and the command
line have their own probe: benchmarks/fuzz_surfaces.py.

    python benchmarks/fuzz_api.py [--trials 5000] [--seed 0]
"""
from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
import time
import traceback

import numpy as np

# Kernels compiled for the trials go to a temporary cache, removed at exit: the user's is left alone.
_CACHE = tempfile.mkdtemp(prefix="gradlab-fuzz-api-cache-")
os.environ["GRADLAB_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, True)

import gradlab as gl  # noqa: E402 - after its cache directory is set

ODD = [
    float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 1e-320, 1e-300, 1e300, 1e308, -1e308, 0.5, 1.0, 2.0,
    256.0, 2.0**53, -1, 0, 1, 2, 3, 7, 2**31, 2**63, 2**70, -(2**70), None, True, False, "abc", "", "relu",
    (), (0,), (0.1, 0.2), [0.1, 0.2], [], [[0.1]], np.array([0.1, 0.2]), np.float64("nan"), np.int64(5), {},
]

CALLS = {
    "Gaussian(sigma)": lambda v: gl.Gaussian(sigma=v),
    "Gaussian(leakage)": lambda v: gl.Gaussian(leakage=v, precision=256),
    "Gaussian(precision)": lambda v: gl.Gaussian(leakage=0.5, precision=v),
    "Uniform(width)": lambda v: gl.Uniform(width=v),
    "Laplace(scale)": lambda v: gl.Laplace(scale=v),
    "Poisson(scale)": lambda v: gl.Poisson(scale=v, precision=8),
    "Poisson(leakage)": lambda v: gl.Poisson(leakage=v, precision=8),
    "Quantize(precision)": lambda v: gl.Quantize(v),
    "Quantize(rounding)": lambda v: gl.Quantize(8, rounding=v),
    "Quantize(compat)": lambda v: gl.Quantize(8, compat=v),
    "Clamp(lo)": lambda v: gl.Clamp(v, 1.0),
    "BitFlip(ber)": lambda v: gl.BitFlip(ber=v),
    "BitFlip(total_bits)": lambda v: gl.BitFlip(total_bits=v),
    "BitFlip(format)": lambda v: gl.BitFlip(format=v),
    "analog(leakage)": lambda v: gl.analog(v, 256),
    "analog(precision)": lambda v: gl.analog(0.5, v),
    "analog(clamp)": lambda v: gl.analog(clamp=v),
    "analog(noise)": lambda v: gl.analog(noise=v),
    "gradient_error(x)": lambda v: gl.gradient_error("relu", gl.analog(), v),
    "gradient_error(samples)": lambda v: gl.gradient_error("relu", gl.analog(), [0.1], samples=v),
    "gradient_error(seed)": lambda v: gl.gradient_error("relu", gl.analog(), [0.1], seed=v),
    "gradient_error(method)": lambda v: gl.gradient_error("relu", gl.analog(), [0.1], method=v),
    "gradient_error(activations)": lambda v: gl.gradient_error(v, gl.analog(), [0.1]),
    "gradient_error(chain)": lambda v: gl.gradient_error("relu", v, [0.1]),
    "gradient_error(chain sigma)": lambda v: gl.gradient_error(
        ["relu", "gelu"], gl.chain(gl.Gaussian(sigma=v)), [-0.2, 0.0, 0.3], samples=500),
    "gradient_error(chain x)": lambda v: gl.gradient_error(["relu", "gelu"], gl.analog(clamp=None), [v], samples=500),
    "activation(i)": lambda v: gl.activation("relu_gelu", i=v),
    "activation(s)": lambda v: gl.activation("gelu", s=v),
    "activation(kink)": lambda v: gl.activation("relu", kink=v),
    "activation(param)": lambda v: gl.activation("x*a", a=v),
    "error_near_zero(width)": lambda v: gl.error_near_zero("relu", gl.analog(), width=v, points=5),
    "error_near_zero(points)": lambda v: gl.error_near_zero("relu", gl.analog(), points=v),
    "error_near_zero(statistic)": lambda v: gl.error_near_zero("relu", gl.analog(), statistic=v, points=5),
    "error_near_zero(reference)": lambda v: gl.error_near_zero("relu", gl.analog(), reference=v, points=5),
    "step_discontinuity(h)": lambda v: gl.step_discontinuity("relu_gelu", i=[0.5], h=v),
    "step_discontinuity(i)": lambda v: gl.step_discontinuity("relu_gelu", i=v),
    "effective_precision(precision)": lambda v: gl.effective_precision([1.0], precision=v),
    "effective_precision(s)": lambda v: gl.effective_precision(v),
    "product_error_map(inputs)": lambda v: gl.product_error_map("relu", gl.analog(), v, [0.1, 0.2], repeats=1),
    "product_error_map(repeats)": lambda v: gl.product_error_map("relu", gl.analog(), [0.1], [0.2], repeats=v),
    "product_error_stats(window)": lambda v: gl.product_error_stats(
        "relu", gl.analog(), [0.1, 0.3], [0.2], window=v, repeats=1),
    "depth_error(depth)": lambda v: gl.depth_error("relu", gl.analog(), depth=v, width=4, samples=2, batch=2),
    "depth_error(width)": lambda v: gl.depth_error("relu", gl.analog(), depth=[1], width=v, samples=2, batch=2),
    "depth_error(samples)": lambda v: gl.depth_error("relu", gl.analog(), depth=[1], width=4, samples=v, batch=2),
    "depth_error(noisy_weights)": lambda v: gl.depth_error(
        "relu", gl.analog(), depth=[1], width=4, samples=2, noisy_weights=v),
    "activation_curves(x)": lambda v: gl.activation_curves("relu", v),
    # Round two (issues 24 and 25): callables' values, budgets of work, sweeps' and training's arguments.
    "NumericActivation(df value)": lambda v: gl.gradient_error(
        gl.NumericActivation("n", lambda x: x, lambda x: np.full(x.shape, v)), gl.analog(), [0.1, 0.2]),
    "gradient_error(exp activation, x)": lambda v: gl.gradient_error("exp(800*x)", gl.analog(), [v]),
    "set_budget(memory)": lambda v: gl.set_budget(memory=v) and gl.set_budget(memory=2e8),
    "sweep(progress)": lambda v: gl.sweep({"query": "gradient_error", "activations": "relu", "x": [0.0],
                                           "method": "exact", "chain": {}}, cache=False, progress=v),
    "sweep(spec value)": lambda v: gl.sweep({"query": "gradient_error", "activations": "relu", "x": v,
                                             "method": "exact", "chain": {}}, cache=False, progress=False),
    "train_noisy(epochs)": lambda v: gl.train_noisy("relu", None, epochs=v),
    "train_noisy(hidden)": lambda v: gl.train_noisy("relu", None, hidden=v, epochs=1),
    "train_noisy(batch)": lambda v: gl.train_noisy("relu", None, batch=v, epochs=1),
    "audit(seed)": lambda v: gl.audit("relu", lambda u: (u > 0) * 1.0, seed=v, impact_points=5),
    "audit(impact_points)": lambda v: gl.audit("relu", lambda u: (u > 0) * 1.0, impact_points=v),
    "audit(dtype)": lambda v: gl.audit("relu", lambda u: (u > 0) * 1.0, dtype=v, chain=None),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    gl.set_budget(samples=2e6, memory=2e8)
    rng = np.random.default_rng(args.seed)
    names = list(CALLS)
    answered = refused = 0
    findings: list[str] = []
    slowest: list[tuple[float, str]] = []
    start = time.perf_counter()
    load = os.getloadavg()[0]
    for _ in range(args.trials):
        name = names[rng.integers(len(names))]
        value = ODD[rng.integers(len(ODD))]
        t0 = time.perf_counter()
        try:
            CALLS[name](value)
            answered += 1
        except (ValueError, TypeError):
            refused += 1
        except Exception as exc:  # a finding: report it, keep going
            findings.append(f"{name} <- {value!r}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")
        slowest.append((time.perf_counter() - t0, f"{name} <- {value!r}"))
    slowest.sort(reverse=True)
    print(f"{args.trials} trials over {len(names)} parameters in {time.perf_counter() - start:.1f} s: "
          f"{answered} answered, {refused} refused, {len(findings)} findings; load average {load:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    for t, what in slowest[:5]:
        print(f"  slowest: {t * 1e3:7.1f} ms  {what}")
    for f in findings[:20]:
        print(f)


if __name__ == "__main__":
    main()
